import { describe, expect, it } from 'vitest';
import { diff } from '../../src/recorder/diff.ts';
import {
  compileIgnoreFields,
  DEFAULT_IGNORE_FIELDS,
  stripIgnored,
} from '../../src/recorder/ignore-fields.ts';
import { lease, node, pod, type JsonObject } from './fixtures/objects.ts';

function matcherOf(patterns: string[]) {
  const { matcher, problems } = compileIgnoreFields(patterns);
  expect(problems).toEqual([]);
  return matcher;
}

const defaults = matcherOf([...DEFAULT_IGNORE_FIELDS]);

function get(obj: unknown, ...path: (string | number)[]): unknown {
  let v = obj;
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v;
}

describe('compileIgnoreFields', () => {
  it('compiles the defaults and the documented syntax without problems', () => {
    const { matcher, problems } = compileIgnoreFields([
      ...DEFAULT_IGNORE_FIELDS,
      'metadata.annotations.foo\\.bar/baz',
      'metadata.labels.*',
      'spec.template.spec.containers[*].env[*].value',
      'data.a\\[0\\]',
      'spec.matrix[*][*]',
    ]);
    expect(problems).toEqual([]);
    expect(matcher.patterns).toHaveLength(DEFAULT_IGNORE_FIELDS.length + 5);
  });

  it.each([
    ['', 'is empty'],
    ['.metadata', "starts with '.'"],
    ['metadata..name', "empty field name at '..'"],
    ['metadata.', "ends with '.'"],
    ['status.conditions[0].reason', 'only [*]'],
    ['status.conditions[', 'only [*]'],
    ['[*].x', "'[' without a field before it"],
    ['status.[*]', "'[' without a field before it"],
    ['status.conditions[*]reason', "right after '[*]'"],
    ['metadata.name\\', "lone '\\'"],
    [' metadata.name', 'whitespace'],
    ['Node:', "no path after 'Node:'"],
  ])('reports %j with a message naming it', (pattern, why) => {
    const { matcher, problems } = compileIgnoreFields(['spec.renewTime', pattern]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.pattern).toBe(pattern);
    expect(problems[0]?.message).toContain(`'${pattern}'`);
    expect(problems[0]?.message).toContain(why);
    // The valid pattern still applies.
    expect(matcher.patterns).toEqual(['spec.renewTime']);
    expect(get(stripIgnored(lease(), matcher, 'Lease'), 'spec', 'renewTime')).toBeUndefined();
  });
});

describe('stripIgnored', () => {
  it('drops managedFields and resourceVersion of every kind, and nothing else of a Pod', () => {
    const input = pod();
    const out = stripIgnored(input, defaults, 'Pod');
    const expected = pod();
    const meta = expected.metadata as JsonObject;
    delete meta.managedFields;
    delete meta.resourceVersion;
    expect(out).toStrictEqual(expected);
    expect(Object.keys(out.metadata as JsonObject)).toEqual(Object.keys(meta));
  });

  it('does not mutate its input and shares the untouched subtrees', () => {
    const input = pod();
    const out = stripIgnored(input, defaults, 'Pod');
    expect(input).toStrictEqual(pod());
    expect(out).not.toBe(input);
    expect(out.spec).toBe(input.spec);
    expect(out.status).toBe(input.status);
    expect((out.metadata as JsonObject).labels).toBe((input.metadata as JsonObject).labels);
  });

  it('returns the object itself when nothing is ignored', () => {
    const input = pod();
    expect(stripIgnored(input, matcherOf(['spec.renewTime', 'status.nope[*].x']), 'Pod')).toBe(
      input,
    );
  });

  it('makes a Node heartbeat a no-op, but not a condition that flips', () => {
    const before = stripIgnored(node('2026-11-22T00:40:03Z'), defaults, 'Node');
    const heartbeat = node('2026-11-22T00:45:03Z');
    expect(diff(before, stripIgnored(heartbeat, defaults, 'Node'))).toEqual([]);
    // Without the Node scope the heartbeat is a change.
    expect(diff(node('2026-11-22T00:40:03Z'), heartbeat).length).toBeGreaterThan(0);

    const notReady = node('2026-11-22T00:45:03Z');
    const ready = get(notReady, 'status', 'conditions', 0) as JsonObject;
    ready.status = 'False';
    ready.reason = 'KubeletNotReady';
    expect(diff(before, stripIgnored(notReady, defaults, 'Node'))).toEqual([
      { op: 'replace', path: '/status/conditions/0/reason', value: 'KubeletNotReady' },
      { op: 'replace', path: '/status/conditions/0/status', value: 'False' },
    ]);
  });

  it('applies kind-scoped patterns to that kind only', () => {
    // A Pod condition also has lastHeartbeatTime-like fields in some CRDs: the Node scope must
    // not reach them.
    const p = pod();
    (get(p, 'status', 'conditions', 0) as JsonObject).lastHeartbeatTime = 'x';
    const out = stripIgnored(p, defaults, 'Pod');
    expect(get(out, 'status', 'conditions', 0, 'lastHeartbeatTime')).toBe('x');
    expect(get(stripIgnored(p, defaults, 'Node'), 'status', 'conditions', 0)).not.toHaveProperty(
      'lastHeartbeatTime',
    );
  });

  it('makes a Lease renewal a no-op, but records a new holder', () => {
    const before = stripIgnored(lease('2026-11-22T00:40:06.820765Z'), defaults, 'Lease');
    const renewed = stripIgnored(lease('2026-11-22T00:40:16.821004Z'), defaults, 'Lease');
    expect(diff(before, renewed)).toEqual([]);
    const taken = lease('2026-11-22T00:40:16.821004Z');
    (taken.spec as JsonObject).holderIdentity = 'apiserver-other';
    expect(diff(before, stripIgnored(taken, defaults, 'Lease'))).toEqual([
      { op: 'replace', path: '/spec/holderIdentity', value: 'apiserver-other' },
    ]);
  });

  it('reads escaped dots as part of a key', () => {
    const obj = {
      metadata: {
        annotations: { 'foo.bar/baz': '1', foo: { 'bar/baz': '2' }, 'foo.bar/other': '3' },
      },
    };
    const out = stripIgnored(obj, matcherOf(['metadata.annotations.foo\\.bar/baz']), 'X');
    expect(out).toStrictEqual({
      metadata: { annotations: { foo: { 'bar/baz': '2' }, 'foo.bar/other': '3' } },
    });
  });

  it('applies * to every key and [*] to every element, together with named branches', () => {
    const obj = {
      spec: {
        containers: [
          { name: 'a', env: [{ name: 'X', value: '1' }, { name: 'Y' }] },
          { name: 'b', env: [{ name: 'Z', value: '2' }] },
        ],
      },
      metadata: { labels: { a: { t: 1, u: 2 }, b: { t: 3 } } },
    };
    const m = matcherOf([
      'spec.containers[*].env[*].value',
      'metadata.labels.*.t',
      'metadata.labels.a.u',
    ]);
    expect(stripIgnored(obj, m, 'X')).toStrictEqual({
      spec: {
        containers: [
          { name: 'a', env: [{ name: 'X' }, { name: 'Y' }] },
          { name: 'b', env: [{ name: 'Z' }] },
        ],
      },
      metadata: { labels: { a: {}, b: {} } },
    });
    expect(stripIgnored(obj, matcherOf(['metadata.labels.*']), 'X')).toStrictEqual({
      spec: obj.spec,
      metadata: { labels: {} },
    });
    expect(stripIgnored(obj, matcherOf(['spec.containers[*]']), 'X')).toStrictEqual({
      spec: { containers: [] },
      metadata: obj.metadata,
    });
  });

  it('drops a named key under a map that also has a * pattern', () => {
    const obj = { spec: { a: { x: 1, y: 2 }, b: { x: 3, y: 4 } } };
    expect(stripIgnored(obj, matcherOf(['spec.*.x', 'spec.a']), 'X')).toStrictEqual({
      spec: { b: { y: 4 } },
    });
  });

  it('lets a shorter pattern win over a longer one, whatever their order', () => {
    const obj = { status: { conditions: [{ a: 1 }], phase: 'Running' } };
    for (const patterns of [
      ['status.conditions[*].a', 'status.conditions'],
      ['status.conditions', 'status.conditions[*].a'],
    ]) {
      expect(stripIgnored(obj, matcherOf(patterns), 'X')).toStrictEqual({
        status: { phase: 'Running' },
      });
    }
  });

  it('ignores paths that meet the wrong type or nothing', () => {
    const obj = { spec: { renewTime: ['a'], items: { notAnArray: true } }, status: null };
    const m = matcherOf([
      'spec.renewTime.x',
      'spec.items[*].x',
      'status.phase',
      'missing.deep.path',
    ]);
    expect(stripIgnored(obj, m, 'X')).toBe(obj);
  });

  it('keeps a literal __proto__ key as an own key when copying', () => {
    const obj = JSON.parse('{"spec":{"__proto__":{"x":1},"drop":1}}') as JsonObject;
    const out = stripIgnored(obj, matcherOf(['spec.drop']), 'X');
    expect(Object.keys(out.spec as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(out.spec)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"spec":{"__proto__":{"x":1}}}');
  });
});
