// A HistoryPolicy compiled for the recorder: what it selects, what it excludes, how long it
// keeps history. Pure: the controller compiles, the recorder evaluates.
import type { HistoryPolicySpec, LabelSelector } from '../api/history-policy.ts';
import { parseDuration } from '../duration.ts';
import {
  compileRules,
  evaluateRules,
  type CompiledRule,
  type RuleProblem,
} from '../rules/rules.ts';

/** Retention of a policy that sets none: 14 days, as Sloop's default look-back. */
export const DEFAULT_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

export interface CompiledPolicy {
  name: string;
  generation: number;
  /** `group/Kind` of every selected kind ("" group for core). */
  kinds: ReadonlySet<string>;
  events: boolean;
  include: ReadonlySet<string> | null;
  exclude: ReadonlySet<string> | null;
  namespaceSelector: LabelSelector | null;
  rules: CompiledRule[];
  ignoreFields: string[];
  maxAgeMs: number;
}

export interface PolicyProblem {
  field: string;
  message: string;
}

export function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

export function compilePolicy(
  name: string,
  generation: number,
  spec: HistoryPolicySpec,
): { policy: CompiledPolicy; ruleProblems: RuleProblem[]; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const kinds = new Set<string>();
  for (const r of spec.resources ?? [])
    for (const k of r.kinds ?? []) kinds.add(kindKey(r.group ?? '', k));
  let maxAgeMs = DEFAULT_MAX_AGE_MS;
  if (spec.retention?.maxAge !== undefined) {
    const parsed = parseDuration(spec.retention.maxAge);
    if (parsed === null) {
      problems.push({
        field: 'spec.retention.maxAge',
        message: `'${spec.retention.maxAge}' is not a duration such as 336h, 90m or 14d`,
      });
    } else maxAgeMs = parsed;
  }
  const { rules, problems: ruleProblems } = compileRules(spec.exclusionRules ?? []);
  const ns = spec.namespaces ?? {};
  return {
    policy: {
      name,
      generation,
      kinds,
      events: spec.events ?? true,
      include: ns.include?.length ? new Set(ns.include) : null,
      exclude: ns.exclude?.length ? new Set(ns.exclude) : null,
      namespaceSelector: ns.selector ?? null,
      rules,
      ignoreFields: spec.ignoreFields ?? [],
      maxAgeMs,
    },
    ruleProblems,
    problems,
  };
}

/** Whether a label selector matches a set of labels (Kubernetes semantics). */
export function selectorMatches(
  sel: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const value = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value ?? '')) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value ?? '')) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/**
 * Whether a policy selects objects of a namespace. Cluster-scoped objects ("") are selected
 * unless the policy lists namespaces to include. `nsLabels` are the namespace's labels, when a
 * selector needs them.
 */
export function selectsNamespace(
  p: CompiledPolicy,
  namespace: string,
  nsLabels: (ns: string) => Record<string, string> | undefined,
): boolean {
  if (namespace === '') return p.include === null;
  if (p.include && !p.include.has(namespace)) return false;
  if (p.exclude?.has(namespace)) return false;
  if (p.namespaceSelector && !selectorMatches(p.namespaceSelector, nsLabels(namespace)))
    return false;
  return true;
}

export { evaluateRules };
