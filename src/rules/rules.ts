// HistoryPolicy exclusion rules: JsonLogic expressions evaluated against a Kubernetes object's
// JSON; a truthy result excludes the object from history. Compatible with the rules Sloop users
// wrote (a map keyed by kind or `_all`), minus Sloop's faults: a rule that errors there stops
// evaluation and keeps the object without telling anyone, and "excluded" means the result text
// contains "true". Here every rule is validated up front, and an evaluation error is reported.
//
// Semantics:
// - A rule is a JsonLogic expression (an object with exactly one operator key, recursively) or
//   the literal `true`/`false` (a constant rule: `true` excludes every object of its kinds).
// - The object seen by a rule is the object itself, as Sloop does (`metadata.namespace`, ...).
// - Truthiness is JsonLogic's (`jsonLogic.truthy`): an empty array is falsy, so a `filter` that
//   matches nothing does not exclude. Unlike Sloop, a non-boolean truthy result (a non-empty
//   string, a number other than 0) excludes.
// - Rules run in list order; the first truthy one excludes and the rest are not evaluated.
// - Only json-logic-js's built-in operators are accepted, from a fixed list, so an operation
//   someone adds globally with `add_operation` never changes what a policy may use. `log` is
//   refused: it would print every object on the recording path.

import jsonLogic, { type RulesLogic } from 'json-logic-js';
import type { ExclusionRule } from '../api/history-policy.ts';

export interface RuleProblem {
  /** The rule's name, or `exclusionRules[i]` when it has none. */
  rule: string;
  /** Names the rule and what is wrong with it. */
  message: string;
}

export interface CompiledRule {
  readonly name: string;
  /** Kinds the rule applies to; null means every kind. */
  readonly kinds: ReadonlySet<string> | null;
  /** The validated expression: a deep-frozen copy, independent of the policy object. */
  readonly logic: unknown;
}

export interface RuleVerdict {
  /** Name of the rule that excluded the object, or null if it is kept. */
  readonly excludedBy: string | null;
  /** Rules that threw for this object; they neither kept nor excluded it. */
  readonly errors: readonly RuleProblem[];
}

/** Key of a Sloop exclusion rule config that applies its rules to every kind. */
export const SLOOP_ALL_KINDS = '_all';

const UNLIMITED = Number.POSITIVE_INFINITY;
// Far beyond any real rule; stops a pathological one from overflowing the stack.
const MAX_DEPTH = 100;

// json-logic-js 2.0.5's operators, with the argument counts that make sense. The library itself
// ignores extra arguments, so `{"==": [a, b, c]}` silently drops `c`: we report it instead.
const OPERATORS: ReadonlyMap<string, readonly [min: number, max: number]> = new Map([
  ['==', [2, 2]],
  ['===', [2, 2]],
  ['!=', [2, 2]],
  ['!==', [2, 2]],
  ['>', [2, 2]],
  ['>=', [2, 2]],
  ['<', [2, 3]],
  ['<=', [2, 3]],
  ['!', [1, 1]],
  ['!!', [1, 1]],
  ['and', [1, UNLIMITED]],
  ['or', [1, UNLIMITED]],
  ['if', [1, UNLIMITED]],
  ['?:', [1, UNLIMITED]],
  ['in', [2, 2]],
  ['var', [0, 2]],
  ['missing', [1, UNLIMITED]],
  ['missing_some', [2, 2]],
  ['cat', [1, UNLIMITED]],
  ['substr', [2, 3]],
  ['+', [1, UNLIMITED]],
  ['-', [1, 2]],
  ['*', [1, UNLIMITED]],
  ['/', [2, 2]],
  ['%', [2, 2]],
  ['min', [1, UNLIMITED]],
  ['max', [1, UNLIMITED]],
  ['merge', [1, UNLIMITED]],
  ['map', [2, 2]],
  ['filter', [2, 2]],
  ['reduce', [2, 3]],
  ['all', [2, 2]],
  ['none', [2, 2]],
  ['some', [2, 2]],
]);
const KNOWN_OPERATORS = [...OPERATORS.keys()].join(', ');

const KEPT: RuleVerdict = Object.freeze({ excludedBy: null, errors: Object.freeze([]) });
const NO_ERRORS: readonly RuleProblem[] = KEPT.errors;

/**
 * Validates every rule; returns the valid ones, ready for evaluateRules, and one problem per
 * defect found. A rule with a problem is left out, the others still work.
 */
export function compileRules(rules: readonly ExclusionRule[]): {
  rules: CompiledRule[];
  problems: RuleProblem[];
} {
  const compiled: CompiledRule[] = [];
  const problems: RuleProblem[] = [];
  const firstIndexByName = new Map<string, number>();

  rules.forEach((source, index) => {
    const position = `exclusionRules[${index}]`;
    const hasName = typeof source.name === 'string' && source.name.trim() !== '';
    const id = hasName ? source.name : position;
    const label = hasName ? `rule '${source.name}'` : `rule ${position}`;
    const own: RuleProblem[] = [];
    const problem: Report = (what, at = '') =>
      own.push({ rule: id, message: `${label}${at === '' ? '' : ` at ${at}`}: ${what}` });

    if (!hasName) problem('name is empty; give every rule a unique name');
    else {
      const first = firstIndexByName.get(source.name);
      if (first === undefined) firstIndexByName.set(source.name, index);
      else problem(`name is already used by exclusionRules[${first}]; rule names must be unique`);
    }
    const kinds = compileKinds(source.kinds, problem);
    const logic = compileRoot(source.rule, problem);

    if (own.length > 0) problems.push(...own);
    else compiled.push(Object.freeze({ name: source.name, kinds, logic }));
  });
  return { rules: compiled, problems };
}

/** Records a problem of the rule being compiled; `at` locates it inside the expression. */
type Report = (what: string, at?: string) => void;

function compileKinds(kinds: unknown, problem: Report): ReadonlySet<string> | null {
  if (kinds === undefined || kinds === null) return null;
  if (!Array.isArray(kinds)) {
    problem(`kinds must be a list of kind names such as ["Pod"], got ${describe(kinds)}`);
    return null;
  }
  const names = kinds as unknown[];
  names.forEach((kind, i) => {
    if (typeof kind !== 'string' || kind.trim() === '') {
      problem(`kinds[${i}] is ${describe(kind)}; write a kind name such as "Pod"`);
    }
  });
  return names.length === 0 ? null : new Set(names as string[]);
}

function compileRoot(rule: unknown, problem: Report): unknown {
  if (typeof rule === 'boolean') return rule;
  if (!isPlainObject(rule)) {
    problem(
      `must be a JsonLogic expression such as {"==": [{"var": "metadata.namespace"}, "kube-system"]}` +
        ` or the constant true/false, got ${describe(rule)}`,
    );
    return undefined;
  }
  return compileValue(rule, '', 0, problem);
}

/** Checks a value inside a rule and returns a frozen copy of it. */
function compileValue(value: unknown, at: string, depth: number, problem: Report): unknown {
  if (depth > MAX_DEPTH) {
    problem(`lists and operators are nested more than ${MAX_DEPTH} deep; simplify the rule`, at);
    return undefined;
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) problem(`${value} is not a JSON number`, at);
    return value;
  }
  if (Array.isArray(value)) {
    const items = value as unknown[];
    return Object.freeze(
      items.map((item, i) => compileValue(item, `${at}[${i}]`, depth + 1, problem)),
    );
  }
  if (!isPlainObject(value)) {
    problem(`${describe(value)} is not a JSON value`, at);
    return undefined;
  }

  const keys = Object.keys(value);
  const [operator] = keys;
  if (operator === undefined || keys.length !== 1) {
    const found = keys.length === 0 ? 'none' : keys.map((k) => `'${k}'`).join(', ');
    problem(
      `an object must have exactly one key, the operator, found ${found};` +
        ` combine conditions with "and" or "or"`,
      at,
    );
    return undefined;
  }
  const arity = OPERATORS.get(operator);
  if (arity === undefined) {
    const hint = operator === 'log' ? ' (log is not allowed: it prints every object)' : '';
    problem(`unknown operator '${operator}'${hint} (known: ${KNOWN_OPERATORS})`, at);
    return undefined;
  }

  const args = value[operator];
  const inner = at === '' ? operator : `${at}.${operator}`;
  const count = Array.isArray(args) ? args.length : 1;
  const [min, max] = arity;
  if (count < min || count > max) {
    const expected =
      min === max ? `${min}` : max === UNLIMITED ? `at least ${min}` : `${min} to ${max}`;
    problem(`operator '${operator}' takes ${expected} argument(s), got ${count}`, at);
  }
  if (operator === 'var') checkVar(args, at, problem);
  return Object.freeze({ [operator]: compileValue(args, inner, depth + 1, problem) });
}

function checkVar(args: unknown, at: string, problem: Report): void {
  if (Array.isArray(args) && args.length === 0) return; // {"var": []} is the whole object
  const path: unknown = Array.isArray(args) ? (args as unknown[])[0] : args;
  if (typeof path === 'string' || (typeof path === 'number' && Number.isFinite(path))) return;
  problem(`var takes a path such as "metadata.name" or [path, default], got ${describe(path)}`, at);
}

/**
 * Applies the rules that cover `kind` to `object`, in order. The first truthy rule excludes the
 * object; a rule that throws is reported in `errors` and decides nothing. Does not mutate
 * `object`, and allocates nothing beyond json-logic-js's own work unless a rule excludes or fails.
 */
export function evaluateRules(
  rules: readonly CompiledRule[],
  kind: string,
  object: unknown,
): RuleVerdict {
  let errors: RuleProblem[] | undefined;
  for (const rule of rules) {
    if (rule.kinds !== null && !rule.kinds.has(kind)) continue;
    let result: unknown;
    try {
      result = jsonLogic.apply(rule.logic as RulesLogic, object);
    } catch (err) {
      errors ??= [];
      errors.push(evaluationProblem(rule.name, kind, object, err));
      continue;
    }
    if (jsonLogic.truthy(result)) return { excludedBy: rule.name, errors: errors ?? NO_ERRORS };
  }
  return errors === undefined ? KEPT : { excludedBy: null, errors };
}

function evaluationProblem(name: string, kind: string, object: unknown, err: unknown): RuleProblem {
  const reason = err instanceof Error ? err.message : String(err);
  return {
    rule: name,
    message:
      `rule '${name}' failed on ${kind} ${objectName(object)}: ${reason};` +
      ` the rule neither kept nor excluded it, fix the rule for objects like this one`,
  };
}

function objectName(object: unknown): string {
  const metadata = isPlainObject(object) ? object.metadata : undefined;
  if (!isPlainObject(metadata) || typeof metadata.name !== 'string') return '(unnamed)';
  const namespace = typeof metadata.namespace === 'string' ? `${metadata.namespace}/` : '';
  return `'${namespace}${metadata.name}'`;
}

/**
 * Converts a Sloop exclusion rule config (`{"_all": [...], "Pod": [...]}`) to exclusion rules:
 * `_all` rules apply to every kind, the others to their key's kind. Rules are named
 * `sloop-<key>-<index>` and keep the config's order. Throws if a key does not map to a list.
 */
export function fromSloopConfig(config: Record<string, unknown[]>): ExclusionRule[] {
  const rules: ExclusionRule[] = [];
  for (const [key, list] of Object.entries(config)) {
    if (!Array.isArray(list)) {
      throw new TypeError(
        `Sloop exclusion rules for '${key}' must be a list of JsonLogic rules, got ${describe(list)}`,
      );
    }
    list.forEach((rule, i) => {
      const name = `sloop-${key}-${i}`;
      rules.push(key === SLOOP_ALL_KINDS ? { name, rule } : { name, kinds: [key], rule });
    });
  }
  return rules;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return value === '' ? 'an empty string' : `the string '${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${value}`;
  }
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
