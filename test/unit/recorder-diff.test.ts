import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  CHANGED_PATHS_LIMIT,
  changedPaths,
  diff,
  jsonEqual,
  PatchError,
  type PatchOp,
} from '../../src/recorder/diff.ts';
import { node, pod, type JsonObject } from './fixtures/objects.ts';

type J = unknown;

/** JSON text with keys sorted, so that equal values give equal strings whatever the key order. */
function canonical(v: J): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).sort();
    return (
      '{' +
      keys.map((k) => JSON.stringify(k) + ':' + canonical((v as Record<string, J>)[k])).join(',') +
      '}'
    );
  }
  return JSON.stringify(v);
}

function roundTrip(a: J, b: J): PatchOp[] {
  const aText = canonical(a);
  const bText = canonical(b);
  const ops = diff(a, b);
  expect(canonical(a)).toBe(aText); // diff does not mutate
  // Through JSON, as stored: the patch must not rely on sharing objects with `b`.
  const stored = JSON.parse(JSON.stringify(ops)) as PatchOp[];
  const result = applyPatch(JSON.parse(aText), stored);
  expect(canonical(result)).toBe(bText);
  expect(jsonEqual(result, b)).toBe(true);
  // Applying the unserialized ops (values shared with b) must not change b either.
  applyPatch(JSON.parse(aText), ops);
  expect(canonical(b)).toBe(bText);
  return ops;
}

describe('diff', () => {
  it('is empty for equal values, however they were built', () => {
    expect(diff(pod(), pod())).toEqual([]);
    expect(diff(node(), node())).toEqual([]);
    expect(diff({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toEqual([]);
    expect(diff(null, null)).toEqual([]);
    expect(diff('x', 'x')).toEqual([]);
  });

  it('replaces a changed container image at its JSON Pointer', () => {
    const next = pod();
    const container = (next.spec as { containers: JsonObject[] }).containers[0] as JsonObject;
    container.image = 'nginx:1.28';
    const ops = roundTrip(pod(), next);
    expect(ops).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.28' }]);
  });

  it('escapes ~ and / in keys (RFC 6901)', () => {
    const ops = roundTrip(
      { labels: { app: 'web' } },
      { labels: { app: 'web', 'app.kubernetes.io/name': 'web', 'a~b': 'x' } },
    );
    expect(ops).toEqual([
      { op: 'add', path: '/labels/app.kubernetes.io~1name', value: 'web' },
      { op: 'add', path: '/labels/a~0b', value: 'x' },
    ]);
    expect(roundTrip({ '~1': 1 }, {})).toEqual([{ op: 'remove', path: '/~01' }]);
  });

  it('adds and removes object members', () => {
    expect(roundTrip({ a: 1, b: 2 }, { a: 1, c: 3 })).toEqual([
      { op: 'remove', path: '/b' },
      { op: 'add', path: '/c', value: 3 },
    ]);
  });

  it('replaces when the type changes, including null and array/object', () => {
    expect(roundTrip({ a: { x: 1 } }, { a: [1] })).toEqual([
      { op: 'replace', path: '/a', value: [1] },
    ]);
    expect(roundTrip({ a: null }, { a: {} })).toEqual([{ op: 'replace', path: '/a', value: {} }]);
    expect(roundTrip({ a: 1 }, { a: '1' })).toEqual([{ op: 'replace', path: '/a', value: '1' }]);
    expect(roundTrip({ a: 1 }, [1])).toEqual([{ op: 'replace', path: '', value: [1] }]);
  });

  it('compares equal-length arrays element by element', () => {
    expect(roundTrip([1, 2, 3], [1, 5, 3])).toEqual([{ op: 'replace', path: '/1', value: 5 }]);
  });

  it('appends at the end and truncates from the end', () => {
    expect(roundTrip({ a: [1, 2] }, { a: [1, 2, 3, 4] })).toEqual([
      { op: 'add', path: '/a/2', value: 3 },
      { op: 'add', path: '/a/3', value: 4 },
    ]);
    expect(roundTrip({ a: [1, 2, 3, 4] }, { a: [1, 2] })).toEqual([
      { op: 'remove', path: '/a/3' },
      { op: 'remove', path: '/a/2' },
    ]);
  });

  it('turns an insertion or removal inside an array into one op, not a cascade', () => {
    const finalizers = ['a', 'b', 'c'];
    expect(roundTrip(finalizers, ['x', 'a', 'b', 'c'])).toEqual([
      { op: 'add', path: '/0', value: 'x' },
    ]);
    expect(roundTrip(finalizers, ['a', 'c'])).toEqual([{ op: 'remove', path: '/1' }]);
    const before = pod();
    const after = pod();
    const conditions = (after.status as { conditions: JsonObject[] }).conditions;
    const removed = conditions.splice(1, 1);
    expect(removed).toHaveLength(1);
    expect(roundTrip(before, after)).toEqual([{ op: 'remove', path: '/status/conditions/1' }]);
  });

  it('diffs within the changed run when an array also grows', () => {
    // [a, b, c] → [a, B, x, c]: prefix a, suffix c, b→B element-wise, x added.
    expect(
      roundTrip(
        [{ n: 'a' }, { n: 'b' }, { n: 'c' }],
        [{ n: 'a' }, { n: 'B' }, { n: 'x' }, { n: 'c' }],
      ),
    ).toEqual([
      { op: 'replace', path: '/1/n', value: 'B' },
      { op: 'add', path: '/2', value: { n: 'x' } },
    ]);
  });

  it('records a realistic Pod transition as a few small ops', () => {
    const before = pod();
    const after = pod();
    const status = after.status as JsonObject & { containerStatuses: JsonObject[] };
    status.phase = 'Succeeded';
    const cs = status.containerStatuses[0] as JsonObject;
    cs.ready = false;
    cs.state = { terminated: { exitCode: 0, reason: 'Completed' } };
    const ops = roundTrip(before, after);
    expect(changedPaths(ops)).toEqual([
      'status.containerStatuses[0].ready',
      'status.containerStatuses[0].state.running',
      'status.containerStatuses[0].state.terminated',
      'status.phase',
    ]);
  });
});

describe('applyPatch', () => {
  // Examples from RFC 6902 appendix A and RFC 6901 section 5.
  it.each<[string, J, PatchOp[], J]>([
    [
      'A.1 add member',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz', value: 'qux' }],
      { baz: 'qux', foo: 'bar' },
    ],
    [
      'A.2 add element',
      { foo: ['bar', 'baz'] },
      [{ op: 'add', path: '/foo/1', value: 'qux' }],
      { foo: ['bar', 'qux', 'baz'] },
    ],
    [
      'A.3 remove member',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'remove', path: '/baz' }],
      { foo: 'bar' },
    ],
    [
      'A.4 remove element',
      { foo: ['bar', 'qux', 'baz'] },
      [{ op: 'remove', path: '/foo/1' }],
      { foo: ['bar', 'baz'] },
    ],
    [
      'A.5 replace',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'replace', path: '/baz', value: 'boo' }],
      { baz: 'boo', foo: 'bar' },
    ],
    [
      'A.10 add nested',
      { foo: 'bar' },
      [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      { foo: 'bar', child: { grandchild: {} } },
    ],
    [
      'A.16 append with -',
      { foo: ['bar'] },
      [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
      { foo: ['bar', ['abc', 'def']] },
    ],
    ['add replaces an existing member', { a: 1 }, [{ op: 'add', path: '/a', value: 2 }], { a: 2 }],
    [
      '6901 ~1 and ~0',
      { 'a/b': 1, 'm~n': 2 },
      [
        { op: 'replace', path: '/a~1b', value: 3 },
        { op: 'remove', path: '/m~0n' },
      ],
      { 'a/b': 3 },
    ],
    ['empty key', { '': { '': 1 } }, [{ op: 'replace', path: '//', value: 2 }], { '': { '': 2 } }],
    ['root replace', { a: 1 }, [{ op: 'replace', path: '', value: [1] }], [1]],
  ])('%s', (_name, doc, ops, expected) => {
    expect(applyPatch(doc, ops)).toStrictEqual(expected);
  });

  it('patches in place and returns the same document', () => {
    const doc = { a: [1] };
    expect(applyPatch(doc, [{ op: 'add', path: '/a/1', value: 2 }])).toBe(doc);
    expect(doc).toEqual({ a: [1, 2] });
  });

  it.each<[string, J, PatchOp, string]>([
    ['remove of a missing member', { a: 1 }, { op: 'remove', path: '/b' }, "'b' does not exist"],
    [
      'replace of a missing member',
      { a: 1 },
      { op: 'replace', path: '/b', value: 1 },
      "'b' does not exist",
    ],
    ['a missing parent', { a: 1 }, { op: 'add', path: '/x/y', value: 1 }, "'x' does not exist"],
    ['an index past the end', { a: [1] }, { op: 'add', path: '/a/2', value: 1 }, "index '2'"],
    ['a removal past the end', { a: [1] }, { op: 'remove', path: '/a/1' }, "index '1'"],
    ['a leading zero', { a: [1, 2] }, { op: 'replace', path: '/a/01', value: 1 }, "index '01'"],
    ['a non-numeric index', { a: [1] }, { op: 'replace', path: '/a/x', value: 1 }, "index 'x'"],
    ['a scalar parent', { a: 1 }, { op: 'add', path: '/a/b', value: 1 }, 'not an object or array'],
    ['a relative path', { a: 1 }, { op: 'remove', path: 'a' }, "does not start with '/'"],
    ['removing the root', { a: 1 }, { op: 'remove', path: '' }, 'whole document'],
  ])('rejects %s with a PatchError naming the path', (_name, doc, op, message) => {
    expect(() => applyPatch(doc, [op])).toThrow(PatchError);
    expect(() => applyPatch(structuredClone(doc), [op])).toThrow(message);
  });

  it('sets a literal __proto__ member as an own key', () => {
    const doc = applyPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    expect(Object.keys(doc as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['a', 'b', 'c', 'name', 'x/y', '~', '~1', 'a.b', '', '0', '__proto__', 'é'];

function setKey(obj: Record<string, J>, key: string, value: J): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function generate(r: () => number, depth: number): J {
  const roll = r();
  if (depth <= 0 || roll < 0.35) {
    const p = r();
    if (p < 0.15) return null;
    if (p < 0.3) return r() < 0.5;
    if (p < 0.6) return Math.floor(r() * 100) - 20;
    return ['', 'x', 'y', 'Running', 'a/b', '~0'][Math.floor(r() * 6)];
  }
  if (roll < 0.65) {
    return Array.from({ length: Math.floor(r() * 5) }, () => generate(r, depth - 1));
  }
  const obj: Record<string, J> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++)
    setKey(obj, KEYS[Math.floor(r() * KEYS.length)] as string, generate(r, depth - 1));
  return obj;
}

/** A copy of `v` with a few random edits: the realistic case of related documents. */
function mutate(r: () => number, v: J, depth: number): J {
  if (r() < 0.15) return generate(r, depth);
  if (Array.isArray(v)) {
    const out = (v as J[]).map((e) => (r() < 0.3 ? mutate(r, e, depth - 1) : e));
    const edit = r();
    if (edit < 0.2) out.splice(Math.floor(r() * (out.length + 1)), 0, generate(r, depth - 1));
    else if (edit < 0.4 && out.length > 0) out.splice(Math.floor(r() * out.length), 1);
    return out;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, J> = {};
    for (const [k, e] of Object.entries(v)) {
      const edit = r();
      if (edit < 0.1) continue;
      setKey(out, k, edit < 0.4 ? mutate(r, e, depth - 1) : e);
    }
    if (r() < 0.3)
      setKey(out, KEYS[Math.floor(r() * KEYS.length)] as string, generate(r, depth - 1));
    return out;
  }
  return r() < 0.5 ? v : generate(r, 0);
}

describe('diff and applyPatch round trip (seeded random JSON)', () => {
  it('applyPatch(a, diff(a, b)) equals b for related documents', () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const r = rng(seed);
      const a = generate(r, 5);
      const b = mutate(r, a, 5);
      try {
        roundTrip(a, b);
        expect(diff(a, JSON.parse(JSON.stringify(a)))).toEqual([]);
      } catch (err) {
        throw new Error(`seed ${seed}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`, {
          cause: err,
        });
      }
    }
  });

  it('applyPatch(a, diff(a, b)) equals b for unrelated documents', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed * 7919);
      const a = generate(r, 4);
      const b = generate(r, 4);
      try {
        roundTrip(a, b);
      } catch (err) {
        throw new Error(`seed ${seed}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`, {
          cause: err,
        });
      }
    }
  });

  it('the generator produces the cases that matter', () => {
    // Guards the properties above against a generator that only makes trivial pairs.
    let arrayLengthChanges = 0;
    let removes = 0;
    let escapes = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const r = rng(seed);
      const a = generate(r, 5);
      const ops = diff(a, mutate(r, a, 5));
      for (const op of ops) {
        if (op.op === 'remove') removes++;
        if (op.op === 'add' && /\/\d+$/.test(op.path)) arrayLengthChanges++;
        if (op.path.includes('~')) escapes++;
      }
    }
    expect(arrayLengthChanges).toBeGreaterThan(100);
    expect(removes).toBeGreaterThan(100);
    expect(escapes).toBeGreaterThan(50);
  });
});

describe('changedPaths', () => {
  it('gives dotted paths with array indices', () => {
    expect(
      changedPaths([
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'x' },
        { op: 'add', path: '/metadata/labels/app', value: 'web' },
        { op: 'remove', path: '/spec/finalizers/12' },
      ]),
    ).toEqual([
      'spec.template.spec.containers[0].image',
      'metadata.labels.app',
      'spec.finalizers[12]',
    ]);
  });

  it('escapes dots, brackets and backslashes in keys and unescapes ~0/~1', () => {
    expect(
      changedPaths([
        { op: 'add', path: '/metadata/annotations/app.kubernetes.io~1name', value: 'x' },
        { op: 'add', path: '/data/a[1]\\b', value: 'x' },
        { op: 'add', path: '/data/m~0n', value: 'x' },
        { op: 'add', path: '/data/*', value: 'x' },
        { op: 'replace', path: '', value: 1 },
      ]),
    ).toEqual([
      'metadata.annotations.app\\.kubernetes\\.io/name',
      'data.a\\[1\\]\\\\b',
      'data.m~n',
      'data.\\*',
      '(root)',
    ]);
  });

  it('lists each path once, in patch order', () => {
    expect(
      changedPaths([
        { op: 'remove', path: '/a/3' },
        { op: 'remove', path: '/a/2' },
        { op: 'remove', path: '/a/3' },
      ]),
    ).toEqual(['a[3]', 'a[2]']);
  });

  it(`caps the list at ${CHANGED_PATHS_LIMIT} with a marker counting the rest`, () => {
    const ops: PatchOp[] = Array.from({ length: 100 }, (_, i) => ({
      op: 'add',
      path: `/data/k${i}`,
      value: i,
    }));
    const paths = changedPaths(ops);
    expect(paths).toHaveLength(CHANGED_PATHS_LIMIT + 1);
    expect(paths[0]).toBe('data.k0');
    expect(paths[CHANGED_PATHS_LIMIT - 1]).toBe(`data.k${CHANGED_PATHS_LIMIT - 1}`);
    expect(paths[CHANGED_PATHS_LIMIT]).toBe(`…and ${100 - CHANGED_PATHS_LIMIT} more`);
    expect(changedPaths(ops.slice(0, CHANGED_PATHS_LIMIT))).toHaveLength(CHANGED_PATHS_LIMIT);
    expect(changedPaths(ops, 3)).toEqual(['data.k0', 'data.k1', 'data.k2', '…and 97 more']);
  });
});

describe('jsonEqual', () => {
  it('ignores key order but not values, lengths or types', () => {
    expect(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 1 })).toBe(false);
    expect(jsonEqual({ a: 1, b: 1 }, { a: 1 })).toBe(false);
    expect(jsonEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});
