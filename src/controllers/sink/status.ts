// The status of a Sink, computed from what its controller and runner know by a pure function.
import type { Condition } from '../../api/history-policy.ts';
import { SinkCondition, SinkReason, type LostRange, type SinkStatus } from '../../api/sink.ts';
import type { Problem } from '../../sinks/config.ts';
import { withTransition } from '../history-policy/status.ts';

/** Characters of lastError kept (the CRD allows 32768). */
const MAX_ERROR_LENGTH = 4096;

/** Loss ranges shown at most; older ones are summed into the first. */
export const MAX_LOST_RANGES = 32;

export interface SinkStatusInput {
  generation: number;
  /** Problems of the spec itself (not of its Secrets). */
  specProblems: Problem[];
  credentialProblems: Problem[];
  /** Whether the spec refers to any Secret. */
  usesSecrets: boolean;
  destination: string | null;
  runner: {
    cursor: number;
    delivered: number;
    lastDeliveryTime: number | null;
    failure: { reason: string; message: string; permanent: boolean; since: number } | null;
  } | null;
  pending: number | null;
  lost: LostRange[];
  previous: SinkStatus | undefined;
  now: Date;
}

function describe(problems: Problem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

const FAILURE_REASON: Record<string, string> = {
  unavailable: SinkReason.DestinationUnavailable,
  'server-error': SinkReason.DestinationUnavailable,
  refused: SinkReason.Refused,
  'access-denied': SinkReason.AccessDenied,
  'not-found': SinkReason.BucketNotFound,
  io: SinkReason.DestinationUnavailable,
  export: SinkReason.ExportFailed,
};

/** Keeps the newest ranges; the ones before are summed into one. */
export function capLost(lost: LostRange[]): LostRange[] {
  if (lost.length <= MAX_LOST_RANGES) return lost;
  const old = lost.slice(0, lost.length - MAX_LOST_RANGES + 1);
  const merged: LostRange = {
    fromSeq: Math.min(...old.map((l) => l.fromSeq)),
    toSeq: Math.max(...old.map((l) => l.toSeq)),
    records: old.reduce((n, l) => n + l.records, 0),
    reason: [...new Set(old.map((l) => l.reason))].join(','),
    time: old.at(-1)?.time ?? '',
  };
  return [merged, ...lost.slice(lost.length - MAX_LOST_RANGES + 1)];
}

type Draft = Omit<Condition, 'observedGeneration' | 'lastTransitionTime'>;

function credentialsCondition(input: SinkStatusInput): Draft {
  const type = SinkCondition.CredentialsResolved;
  if (!input.usesSecrets)
    return {
      type,
      status: 'True',
      reason: SinkReason.NotNeeded,
      message: 'The Sink refers to no Secret',
    };
  if (input.credentialProblems.length === 0)
    return {
      type,
      status: 'True',
      reason: SinkReason.Resolved,
      message: 'Every Secret the Sink refers to was read',
    };
  return {
    type,
    status: 'False',
    reason: input.credentialProblems.some((p) => /has no key|needs the keys/.test(p.message))
      ? SinkReason.SecretKeyMissing
      : SinkReason.SecretNotFound,
    message: describe(input.credentialProblems),
  };
}

function deliveringCondition(input: SinkStatusInput, credentials: Draft): Draft {
  const type = SinkCondition.Delivering;
  const failure = input.runner?.failure ?? null;
  if (input.specProblems.length > 0)
    return {
      type,
      status: 'False',
      reason: SinkReason.InvalidSpec,
      message: describe(input.specProblems),
    };
  if (credentials.status === 'False')
    return {
      type,
      status: 'False',
      reason: credentials.reason,
      message: `Not delivering: ${credentials.message}`,
    };
  if (!input.runner)
    return { type, status: 'Unknown', reason: SinkReason.Starting, message: 'Starting' };
  if (failure)
    return {
      type,
      status: 'False',
      reason: FAILURE_REASON[failure.reason] ?? SinkReason.DestinationUnavailable,
      message: `${failure.message}; ${failure.permanent ? 'retrying slowly until it is accepted' : 'retrying'} since ${new Date(failure.since).toISOString()}`,
    };
  const pending = input.pending ?? 0;
  return {
    type,
    status: 'True',
    reason: pending > 0 ? SinkReason.Delivering : SinkReason.UpToDate,
    message:
      pending > 0
        ? `Delivering to ${input.destination}; ${pending} records pending`
        : `Up to date with ${input.destination}`,
  };
}

export function buildSinkStatus(input: SinkStatusInput): SinkStatus {
  const { generation, runner, previous, now } = input;
  const credentials = credentialsCondition(input);
  const delivering = deliveringCondition(input, credentials);
  const ready: Draft = { ...delivering, type: SinkCondition.Ready };
  const status: SinkStatus = {
    observedGeneration: generation,
    conditions: [ready, credentials, delivering].map((d) =>
      withTransition(d, generation, previous?.conditions, now),
    ),
  };
  if (runner) {
    status.delivered = runner.delivered;
    status.cursor = runner.cursor;
    if (runner.lastDeliveryTime !== null)
      status.lastDeliveryTime = new Date(runner.lastDeliveryTime).toISOString();
  }
  if (input.pending !== null) status.pending = input.pending;
  const lastError = runner?.failure?.message ?? previous?.lastError;
  if (lastError) status.lastError = lastError.slice(0, MAX_ERROR_LENGTH);
  if (input.lost.length > 0) status.lost = capLost(input.lost);
  return status;
}
