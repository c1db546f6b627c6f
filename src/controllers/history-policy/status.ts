// The status of a HistoryPolicy, computed from what the operator knows by a pure function.
import {
  ConditionType,
  Reason,
  type Condition,
  type ConditionStatus,
  type HistoryPolicyStatus,
  type RecordedCounts,
  type ResourceStatus,
} from '../../api/history-policy.ts';

export interface StatusInput {
  generation: number;
  /** Problems of the spec that make parts of it unusable (rules, retention), each naming the field. */
  ruleProblems: string[];
  specProblems: string[];
  resources: ResourceStatus[];
  recorded: RecordedCounts;
  previous: HistoryPolicyStatus | undefined;
  now: Date;
}

interface ConditionDraft {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Keeps lastTransitionTime from the previous condition of the same type unless status flipped. */
export function withTransition(
  draft: ConditionDraft,
  generation: number,
  previous: Condition[] | undefined,
  now: Date,
): Condition {
  const prev = previous?.find((c) => c.type === draft.type);
  return {
    ...draft,
    observedGeneration: generation,
    lastTransitionTime:
      prev && prev.status === draft.status ? prev.lastTransitionTime : now.toISOString(),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describe(r: ResourceStatus): string {
  const group = r.group === '' ? 'the core group' : `group ${r.group}`;
  return r.message ?? `kind ${r.kind} in ${group}: ${r.state}`;
}

export function buildStatus(input: StatusInput): HistoryPolicyStatus {
  const { generation, resources, previous, now } = input;
  const prev = previous?.conditions;

  const problems = [...input.ruleProblems, ...input.specProblems];
  const rules: ConditionDraft =
    problems.length === 0
      ? {
          type: ConditionType.RulesValid,
          status: 'True',
          reason: Reason.Compiled,
          message: 'All exclusion rules and settings are valid',
        }
      : {
          type: ConditionType.RulesValid,
          status: 'False',
          reason: input.ruleProblems.length > 0 ? Reason.InvalidRule : Reason.InvalidSpec,
          message: problems.join('; '),
        };

  const watching = resources.filter((r) => r.state === 'Watching');
  const notFound = resources.filter((r) => r.state === 'KindNotFound');
  const forbidden = resources.filter((r) => r.state === 'Forbidden');
  const failing = resources.filter((r) => r.state === 'Error');
  const pending = resources.filter((r) => r.state === 'Pending');
  let watches: ConditionDraft;
  if (watching.length === resources.length) {
    watches = {
      type: ConditionType.WatchesEstablished,
      status: 'True',
      reason: Reason.AllWatching,
      message: `Watching ${plural(resources.length, 'kind')}`,
    };
  } else {
    const broken = [...forbidden, ...notFound, ...failing];
    const reason =
      forbidden.length > 0
        ? Reason.Forbidden
        : notFound.length > 0
          ? Reason.KindNotFound
          : failing.length > 0
            ? Reason.WatchError
            : Reason.WatchesPending;
    watches = {
      type: ConditionType.WatchesEstablished,
      status: broken.length > 0 ? 'False' : 'Unknown',
      reason,
      message:
        broken.length > 0
          ? broken.map(describe).join('; ')
          : `Starting ${plural(pending.length, 'watch')}`,
    };
  }

  let ready: ConditionDraft;
  if (watches.status === 'True' && rules.status === 'True') {
    ready = {
      type: ConditionType.Ready,
      status: 'True',
      reason: Reason.Recording,
      message: `Recording ${plural(watching.length, 'kind')}`,
    };
  } else if (watching.length > 0) {
    ready = {
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.PartiallyRecording,
      message: `Recording ${watching.length} of ${plural(resources.length, 'kind')}; see ${[
        watches.status !== 'True' ? ConditionType.WatchesEstablished : null,
        rules.status !== 'True' ? ConditionType.RulesValid : null,
      ]
        .filter(Boolean)
        .join(' and ')}`,
    };
  } else {
    ready = {
      type: ConditionType.Ready,
      status: pending.length > 0 && watches.status === 'Unknown' ? 'Unknown' : 'False',
      reason: Reason.NotRecording,
      message:
        watches.status === 'Unknown'
          ? 'Waiting for watches to start'
          : `Nothing is recorded: ${watches.message}`,
    };
  }

  return {
    observedGeneration: generation,
    kinds: `${watching.length}/${resources.length}`,
    conditions: [ready, rules, watches].map((d) => withTransition(d, generation, prev, now)),
    resources,
    recorded: input.recorded,
  };
}

/** JSON with object keys sorted and undefined members dropped, as the API server returns it. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Whether the status stored on the object differs from the computed one, so a patch is needed. */
export function statusChanged<T extends object = HistoryPolicyStatus>(
  stored: T | undefined,
  computed: T,
): boolean {
  return canonical(stored ?? {}) !== canonical(computed);
}
