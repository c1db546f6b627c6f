import jsonLogic from 'json-logic-js';
import { describe, expect, it } from 'vitest';
import type { ExclusionRule } from '../../src/api/history-policy.ts';
import {
  compileRules,
  evaluateRules,
  fromSloopConfig,
  type CompiledRule,
} from '../../src/rules/rules.ts';

function obj(kind: string, namespace: string | undefined, name: string, extra: object = {}) {
  return { apiVersion: 'v1', kind, metadata: { name, namespace }, ...extra };
}

function compileOk(rules: ExclusionRule[]): CompiledRule[] {
  const compiled = compileRules(rules);
  expect(compiled.problems).toEqual([]);
  return compiled.rules;
}

function excludedBy(rules: CompiledRule[], o: ReturnType<typeof obj>): string | null {
  const verdict = evaluateRules(rules, o.kind, o);
  expect(verdict.errors).toEqual([]);
  return verdict.excludedBy;
}

function messages(rules: ExclusionRule[]): string[] {
  return compileRules(rules).problems.map((p) => p.message);
}

const SLOOP_CONFIG = {
  _all: [{ '==': [{ var: 'metadata.namespace' }, 'kube-system'] }],
  Pod: [{ '==': [{ var: 'metadata.name' }, 'x'] }],
  Job: [{ in: [{ var: 'metadata.name' }, ['a', 'b']] }],
};

describe('Sloop-style rules', () => {
  const rules = compileOk(fromSloopConfig(SLOOP_CONFIG));

  it.each([
    [obj('Pod', 'kube-system', 'coredns'), 'sloop-_all-0'],
    [obj('Service', 'kube-system', 'kube-dns'), 'sloop-_all-0'],
    [obj('Job', 'kube-system', 'c'), 'sloop-_all-0'],
    [obj('Pod', 'default', 'x'), 'sloop-Pod-0'],
    [obj('Job', 'default', 'a'), 'sloop-Job-0'],
    [obj('Job', 'batch', 'b'), 'sloop-Job-0'],
  ])('excludes %o by %s', (o, rule) => {
    expect(excludedBy(rules, o)).toBe(rule);
  });

  it.each([
    obj('Pod', 'default', 'y'),
    obj('Pod', 'kube-public', 'x-1'),
    obj('Deployment', 'default', 'x'), // the Pod rule does not apply to other kinds
    obj('Job', 'default', 'x'),
    obj('Job', 'default', 'ab'), // `in` over a list matches whole elements, not substrings
    obj('Deployment', 'default', 'a'), // the Job rule does not apply to other kinds
    obj('pod', 'default', 'x'), // kinds match exactly, as Sloop's map keys do
    obj('Namespace', undefined, 'kube-system'),
  ])('keeps %o', (o) => {
    expect(excludedBy(rules, o)).toBeNull();
  });

  it('keeps everything when there are no rules', () => {
    expect(evaluateRules([], 'Pod', obj('Pod', 'kube-system', 'x'))).toEqual({
      excludedBy: null,
      errors: [],
    });
  });

  it('does not mutate the object', () => {
    const pod = obj('Pod', 'default', 'x', { spec: { containers: [{ name: 'app' }] } });
    const before = structuredClone(pod);
    const withData = compileOk([
      {
        name: 'some',
        rule: { some: [{ var: 'spec.containers' }, { '==': [{ var: 'name' }, 'app'] }] },
      },
      { name: 'merge', rule: { in: ['app', { merge: [{ var: 'spec.containers' }, ['x']] }] } },
    ]);
    expect(evaluateRules(withData, 'Pod', Object.freeze(pod)).excludedBy).toBe('some');
    expect(evaluateRules(rules, 'Pod', pod).excludedBy).toBe('sloop-Pod-0');
    expect(pod).toEqual(before);
  });

  it('shares the verdict of a kept object instead of allocating one per call', () => {
    const o = obj('Pod', 'default', 'y');
    expect(evaluateRules(rules, 'Pod', o)).toBe(evaluateRules(rules, 'Pod', o));
  });
});

describe('compileRules problems', () => {
  const good: ExclusionRule = {
    name: 'system',
    rule: { '==': [{ var: 'metadata.namespace' }, 'kube-system'] },
  };

  it('names an unknown operator and the known ones, and keeps the other rules', () => {
    const { rules, problems } = compileRules([
      good,
      { name: 'skip-canary', rule: { eq: [{ var: 'metadata.name' }, 'canary'] } },
    ]);
    expect(rules.map((r) => r.name)).toEqual(['system']);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.rule).toBe('skip-canary');
    expect(problems[0]?.message).toMatch(
      /^rule 'skip-canary': unknown operator 'eq' \(known: ==, ===, .*\bin\b.*\bvar\b.*\)$/,
    );
    // The valid part keeps working.
    expect(evaluateRules(rules, 'Pod', obj('Pod', 'kube-system', 'p')).excludedBy).toBe('system');
  });

  it('locates an unknown operator nested in an expression', () => {
    expect(
      messages([{ name: 'n', rule: { and: [true, { or: [false, { regex: ['a', 'b'] }] }] } }]),
    ).toEqual([expect.stringMatching(/^rule 'n' at and\[1\]\.or\[1\]: unknown operator 'regex'/)]);
  });

  it('refuses operators json-logic-js would resolve by walking into its own functions', () => {
    expect(messages([{ name: 'dot', rule: { 'var.length': [] } }])).toEqual([
      expect.stringMatching(/^rule 'dot': unknown operator 'var\.length'/),
    ]);
  });

  it('refuses log, which would print every object', () => {
    expect(messages([{ name: 'l', rule: { log: 'x' } }])).toEqual([
      expect.stringMatching(/^rule 'l': unknown operator 'log' \(log is not allowed/),
    ]);
  });

  it('ignores operations added globally to json-logic-js', () => {
    jsonLogic.add_operation('eq', (a: unknown, b: unknown) => a === b);
    try {
      expect(messages([{ name: 'g', rule: { eq: [1, 1] } }])).toEqual([
        expect.stringMatching(/unknown operator 'eq'/),
      ]);
    } finally {
      jsonLogic.rm_operation('eq');
    }
  });

  it.each<[string, unknown, RegExp]>([
    ['two keys', { '==': [1, 1], '!=': [1, 2] }, /exactly one key, the operator, found '==', '!='/],
    ['no key', {}, /exactly one key, the operator, found none/],
    [
      'a nested object that is not an expression',
      { in: [{ var: 'metadata.name' }, { a: 1, b: 2 }] },
      /^rule 'bad' at in\[1\]: an object must have exactly one key/,
    ],
    ['a string', 'metadata.name == x', /must be a JsonLogic expression .* got the string/],
    ['a list at the top', [{ '==': [1, 1] }], /must be a JsonLogic expression .* got a list/],
    ['nothing', undefined, /must be a JsonLogic expression .* got nothing/],
    ['null', null, /got null/],
    ['a number', 1, /got number 1/],
    [
      'a dynamic var path',
      { '==': [{ var: { cat: ['metadata.', 'name'] } }, 'x'] },
      /^rule 'bad' at ==\[0\]: var takes a path such as "metadata.name" or \[path, default\], got an object$/m,
    ],
    ['a var with three arguments', { var: ['a', 1, 2] }, /'var' takes 0 to 2 argument\(s\), got 3/],
    ['== with three arguments', { '==': [1, 2, 3] }, /'==' takes 2 argument\(s\), got 3/],
    ['! with no argument', { '!': [] }, /'!' takes 1 argument\(s\), got 0/],
    ['* with no argument', { '*': [] }, /'\*' takes at least 1 argument\(s\), got 0/],
    ['some without a test', { some: [{ var: 'x' }] }, /'some' takes 2 argument\(s\), got 1/],
    ['a non-JSON number', { '>': [{ var: 'x' }, Infinity] }, /at >\[1\]: Infinity is not a JSON/],
    ['a function', { '==': [() => 1, 1] }, /at ==\[0\]: a function is not a JSON value/],
  ])('reports %s', (_what, rule, message) => {
    const { rules, problems } = compileRules([good, { name: 'bad', rule }]);
    expect(rules.map((r) => r.name)).toEqual(['system']);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.rule === 'bad' && p.message.startsWith("rule 'bad'"))).toBe(
      true,
    );
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
  });

  it('reports a rule nested too deep', () => {
    let rule: unknown = true;
    for (let i = 0; i < 60; i++) rule = { '!': [rule] };
    expect(messages([{ name: 'deep', rule }])).toEqual([
      expect.stringMatching(
        /^rule 'deep' at [![\]0.]+: lists and operators are nested more than 100 deep/,
      ),
    ]);
  });

  it('reports every problem of a rule, not only the first', () => {
    expect(
      messages([{ name: '', kinds: [''], rule: { and: [{ eq: [1, 1] }, { '==': [1] }] } }]),
    ).toEqual([
      'rule exclusionRules[0]: name is empty; give every rule a unique name',
      'rule exclusionRules[0]: kinds[0] is an empty string; write a kind name such as "Pod"',
      expect.stringMatching(/^rule exclusionRules\[0\] at and\[0\]: unknown operator 'eq'/),
      "rule exclusionRules[0] at and[1]: operator '==' takes 2 argument(s), got 1",
    ]);
  });

  it('keeps the first of two rules with the same name and reports the second', () => {
    const { rules, problems } = compileRules([
      good,
      { name: 'pods', kinds: ['Pod'], rule: true },
      { name: 'system', rule: { '==': [{ var: 'metadata.name' }, 'x'] } },
    ]);
    expect(rules.map((r) => r.name)).toEqual(['system', 'pods']);
    expect(problems).toEqual([
      {
        rule: 'system',
        message:
          "rule 'system': name is already used by exclusionRules[0]; rule names must be unique",
      },
    ]);
    // The kept 'system' rule is the first one: a default/x object is not excluded by it.
    expect(evaluateRules(rules, 'Service', obj('Service', 'default', 'x')).excludedBy).toBeNull();
  });

  it('reports empty and whitespace names and bad kinds entries', () => {
    expect(
      messages([
        { name: ' ', rule: true },
        { name: 'k', kinds: ['Pod', ''], rule: true },
        { name: 'k2', kinds: 'Pod' as unknown as string[], rule: true },
      ]),
    ).toEqual([
      'rule exclusionRules[0]: name is empty; give every rule a unique name',
      'rule \'k\': kinds[1] is an empty string; write a kind name such as "Pod"',
      "rule 'k2': kinds must be a list of kind names such as [\"Pod\"], got the string 'Pod'",
    ]);
  });

  it('accepts var as a string, a number, [path] and [path, default], and an empty kinds list', () => {
    const rules = compileOk([
      { name: 's', kinds: [], rule: { '==': [{ var: 'metadata.name' }, 'a'] } },
      { name: 'n', rule: { '==': [{ var: ['spec.ports.0.port'] }, 81] } },
      { name: 'i', rule: { '==': [{ var: 1 }, 'second'] } },
      { name: 'd', rule: { '==': [{ var: ['spec.replicas', 1] }, 7] } },
    ]);
    expect(rules.map((r) => [r.name, r.kinds])).toEqual([
      ['s', null],
      ['n', null],
      ['i', null],
      ['d', null],
    ]);
    expect(evaluateRules(rules, 'X', { metadata: { name: 'a' } }).excludedBy).toBe('s');
    expect(evaluateRules(rules, 'X', { spec: { ports: [{ port: 81 }] } }).excludedBy).toBe('n');
    expect(evaluateRules(rules, 'X', ['first', 'second']).excludedBy).toBe('i');
    expect(evaluateRules(rules, 'X', { spec: { replicas: 7 } }).excludedBy).toBe('d');
    expect(evaluateRules(rules, 'X', { spec: {} }).excludedBy).toBeNull();
  });

  it('compiles a copy, so later changes to the policy object do not change the rule', () => {
    const source = { '==': [{ var: 'metadata.name' }, 'x'] };
    const rules = compileOk([{ name: 'c', rule: source }]);
    source['=='][1] = 'y';
    expect(evaluateRules(rules, 'Pod', obj('Pod', 'default', 'x')).excludedBy).toBe('c');
    expect(evaluateRules(rules, 'Pod', obj('Pod', 'default', 'y')).excludedBy).toBeNull();
    expect(Object.isFrozen(rules[0]?.logic)).toBe(true);
  });
});

describe('evaluation errors', () => {
  // A ConfigMap may have a data key named "indexOf": json-logic-js's `in` then calls it and throws.
  const inData: ExclusionRule = {
    name: 'has-flag',
    kinds: ['ConfigMap'],
    rule: { in: ['skip', { var: 'data' }] },
  };
  // `missing_some` reads `.length` of its list: a missing list throws.
  const missingSome: ExclusionRule = {
    name: 'needs-owner',
    rule: { missing_some: [1, { var: 'spec.ownerFields' }] },
  };
  const odd = obj('ConfigMap', 'default', 'odd', { data: { indexOf: 'x' } });

  it('reports a rule that throws, with the kind and name, and keeps the object', () => {
    const rules = compileOk([inData]);
    const verdict = evaluateRules(rules, 'ConfigMap', odd);
    expect(verdict.excludedBy).toBeNull();
    expect(verdict.errors).toEqual([
      {
        rule: 'has-flag',
        message: expect.stringMatching(
          /^rule 'has-flag' failed on ConfigMap 'default\/odd': .*indexOf is not a function; the rule neither kept nor excluded it/,
        ) as unknown,
      },
    ]);
    // The same rule works on ordinary objects.
    const normal = obj('ConfigMap', 'default', 'n', { data: ['skip'] });
    expect(evaluateRules(rules, 'ConfigMap', normal)).toEqual({
      excludedBy: 'has-flag',
      errors: [],
    });
  });

  it('goes on to the next rules after one throws, and reports it even when another excludes', () => {
    const rules = compileOk([
      missingSome,
      inData,
      { name: 'default-ns', rule: { '==': [{ var: 'metadata.namespace' }, 'default'] } },
    ]);
    const verdict = evaluateRules(rules, 'ConfigMap', odd);
    expect(verdict.excludedBy).toBe('default-ns');
    expect(verdict.errors.map((e) => e.rule)).toEqual(['needs-owner', 'has-flag']);
    expect(verdict.errors[0]?.message).toMatch(
      /^rule 'needs-owner' failed on ConfigMap 'default\/odd': Cannot read properties of null/,
    );
  });

  it('does not evaluate rules after the one that excludes', () => {
    const rules = compileOk([
      { name: 'all', rule: true },
      { name: 'throws', rule: { missing_some: [1, { var: 'nothing' }] } },
    ]);
    expect(evaluateRules(rules, 'Pod', obj('Pod', 'a', 'b'))).toEqual({
      excludedBy: 'all',
      errors: [],
    });
  });

  it('names an object without metadata', () => {
    const verdict = evaluateRules(compileOk([missingSome]), 'Widget', { spec: {} });
    expect(verdict.errors[0]?.message).toMatch(/^rule 'needs-owner' failed on Widget \(unnamed\)/);
  });
});

describe('truthiness', () => {
  const rules = compileOk([
    { name: 'replicas', kinds: ['Deployment'], rule: { var: 'spec.replicas' } },
    {
      name: 'sidecars',
      kinds: ['Pod'],
      rule: { filter: [{ var: 'spec.containers' }, { '==': [{ var: 'name' }, 'istio-proxy'] }] },
    },
    { name: 'no-team', kinds: ['Service'], rule: { missing: ['metadata.labels.team'] } },
    { name: 'label', kinds: ['ConfigMap'], rule: { var: 'metadata.labels.skip' } },
    { name: 'never', rule: false },
    { name: 'jobs', kinds: ['Job'], rule: true },
  ]);
  const kind = (k: string, extra: object) => evaluateRules(rules, k, obj(k, 'ns', 'n', extra));

  it('treats an empty list as falsy, as JsonLogic does', () => {
    const containers = (...names: string[]) => ({
      spec: { containers: names.map((name) => ({ name })) },
    });
    expect(kind('Pod', containers('app')).excludedBy).toBeNull();
    expect(kind('Pod', containers('app', 'istio-proxy')).excludedBy).toBe('sidecars');
    expect(
      kind('Service', { metadata: { name: 's', labels: { team: 'a' } } }).excludedBy,
    ).toBeNull();
    expect(kind('Service', { metadata: { name: 's', labels: {} } }).excludedBy).toBe('no-team');
  });

  it('treats 0, "" and a missing value as falsy, and other values as truthy', () => {
    expect(kind('Deployment', { spec: { replicas: 0 } }).excludedBy).toBeNull();
    expect(kind('Deployment', { spec: {} }).excludedBy).toBeNull();
    expect(kind('Deployment', { spec: { replicas: 2 } }).excludedBy).toBe('replicas');
    const labels = (skip: unknown) => ({ metadata: { name: 'c', labels: { skip } } });
    expect(kind('ConfigMap', labels('')).excludedBy).toBeNull();
    expect(kind('ConfigMap', labels(false)).excludedBy).toBeNull();
    // Sloop would keep these (its result text has no "true"); JsonLogic truthiness excludes them.
    expect(kind('ConfigMap', labels('yes')).excludedBy).toBe('label');
    expect(kind('ConfigMap', labels('0')).excludedBy).toBe('label');
    expect(kind('ConfigMap', labels(['x'])).excludedBy).toBe('label');
  });

  it('supports constant rules', () => {
    expect(kind('Job', {}).excludedBy).toBe('jobs');
    expect(kind('CronJob', {}).excludedBy).toBeNull();
  });
});

describe('fromSloopConfig', () => {
  it('converts _all to every kind and other keys to their kind, keeping order', () => {
    expect(fromSloopConfig({ ...SLOOP_CONFIG, Pod: [true, { '!': [true] }] })).toEqual([
      { name: 'sloop-_all-0', rule: SLOOP_CONFIG._all[0] },
      { name: 'sloop-Pod-0', kinds: ['Pod'], rule: true },
      { name: 'sloop-Pod-1', kinds: ['Pod'], rule: { '!': [true] } },
      { name: 'sloop-Job-0', kinds: ['Job'], rule: SLOOP_CONFIG.Job[0] },
    ]);
  });

  it('round-trips: regrouping the rules by kind gives the Sloop config back', () => {
    const config = {
      _all: [{ '==': [{ var: 'metadata.namespace' }, 'kube-system'] }, false],
      Pod: [{ '==': [{ var: 'metadata.name' }, 'x'] }],
      Job: [{ in: [{ var: 'metadata.name' }, ['a', 'b']] }, true],
    };
    const back: Record<string, unknown[]> = {};
    for (const rule of compileOk(fromSloopConfig(config))) {
      const key = rule.kinds === null ? '_all' : [...rule.kinds].join();
      (back[key] ??= []).push(rule.logic);
    }
    expect(back).toEqual(config);
  });

  it('passes an invalid rule through so compileRules reports it by its generated name', () => {
    const { rules, problems } = compileRules(
      fromSloopConfig({ '': [true], Pod: [{ eq: [1, 1] }, true] }),
    );
    expect(rules.map((r) => r.name)).toEqual(['sloop-Pod-1']);
    expect(problems.map((p) => p.message)).toEqual([
      'rule \'sloop--0\': kinds[0] is an empty string; write a kind name such as "Pod"',
      expect.stringMatching(/^rule 'sloop-Pod-0': unknown operator 'eq'/),
    ]);
  });

  it('names a key that does not map to a list', () => {
    expect(() => fromSloopConfig({ Pod: { '==': [1, 1] } as unknown as unknown[] })).toThrow(
      /Sloop exclusion rules for 'Pod' must be a list of JsonLogic rules, got an object/,
    );
  });
});
