// TypeScript types of the HistoryPolicy custom resource (hindsight.dev/v1alpha1). Imports nothing.

export const GROUP = 'hindsight.dev';
export const VERSION = 'v1alpha1';
export const HISTORY_POLICY_PLURAL = 'historypolicies';

export interface ResourceSelector {
  /** API group; "" is the core group. */
  group: string;
  kinds: string[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NamespaceSelector {
  include?: string[];
  exclude?: string[];
  selector?: LabelSelector;
}

export interface ExclusionRule {
  name: string;
  /** Kinds the rule applies to; omitted or empty means every kind. */
  kinds?: string[];
  /** A JsonLogic expression evaluated against the object's JSON; truthy excludes the object. */
  rule: unknown;
}

export interface HistoryPolicySpec {
  resources: ResourceSelector[];
  /** Record Kubernetes Events of the watched scope. Default true. */
  events?: boolean;
  namespaces?: NamespaceSelector;
  exclusionRules?: ExclusionRule[];
  /** Paths whose changes alone do not make a version, e.g. `status.conditions[*].lastProbeTime`. */
  ignoreFields?: string[];
  retention?: { maxAge?: string };
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export type WatchState = 'Watching' | 'Pending' | 'KindNotFound' | 'Forbidden' | 'Error';

export interface ResourceStatus {
  group: string;
  kind: string;
  version?: string;
  resource?: string;
  state: WatchState;
  message?: string;
  objects?: number;
}

export interface RecordedCounts {
  changes: number;
  events: number;
  excluded: number;
  ruleErrors: number;
  lastRecordedTime?: string;
}

export interface HistoryPolicyStatus {
  observedGeneration?: number;
  /** "watching/total" kinds, for the KINDS printer column. */
  kinds?: string;
  conditions?: Condition[];
  resources?: ResourceStatus[];
  recorded?: RecordedCounts;
}

export interface HistoryPolicy {
  apiVersion: string;
  kind: 'HistoryPolicy';
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec: HistoryPolicySpec;
  status?: HistoryPolicyStatus;
}

/** Condition types of a HistoryPolicy. */
export const ConditionType = {
  Ready: 'Ready',
  RulesValid: 'RulesValid',
  WatchesEstablished: 'WatchesEstablished',
} as const;

/** CamelCase reasons of HistoryPolicy conditions. */
export const Reason = {
  Recording: 'Recording',
  PartiallyRecording: 'PartiallyRecording',
  NotRecording: 'NotRecording',
  Compiled: 'Compiled',
  InvalidRule: 'InvalidRule',
  AllWatching: 'AllWatching',
  WatchesPending: 'WatchesPending',
  KindNotFound: 'KindNotFound',
  Forbidden: 'Forbidden',
  WatchError: 'WatchError',
  InvalidSpec: 'InvalidSpec',
} as const;
