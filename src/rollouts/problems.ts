// What goes wrong in a rollout, read from the Pods' status and from the Events of the whole tree
// (workload → ReplicaSets → Pods): everything kubedog detects, plus what its users report it
// misses (FailedCreate on a ReplicaSet, Unschedulable, CreateContainerConfigError, OOMKilled…).
// A problem is fatal (the rollout cannot succeed as written) or counted against
// --allow-failures; each has a key, so the same problem seen twice (in status and in an Event,
// or on every status update) counts once. Pure functions.
import {
  condition,
  eventCount,
  eventTime,
  timeOf,
  type ContainerSpec,
  type ContainerStatus,
  type KubeEvent,
  type Pod,
  type Probe,
} from './objects.ts';

export interface Problem {
  /** Identifies the problem: the same key seen again is the same problem. */
  key: string;
  /** CamelCase: FailedCreate, ImagePullBackOff, Unschedulable, OOMKilled, ProbeTriggeredRestart, … */
  reason: string;
  /** Names the object (and container) and quotes the status or Event text. */
  message: string;
  fatal: boolean;
}

/** Waiting reasons of a container that mean it cannot run as written. */
const WAITING_FAILURES: Record<string, { category: string; fatal: boolean }> = {
  ErrImagePull: { category: 'image', fatal: false },
  ImagePullBackOff: { category: 'image', fatal: false },
  ErrImageNeverPull: { category: 'image', fatal: true },
  InvalidImageName: { category: 'image', fatal: true },
  CreateContainerConfigError: { category: 'config', fatal: false },
  CreateContainerError: { category: 'config', fatal: false },
  RunContainerError: { category: 'crash', fatal: false },
  CrashLoopBackOff: { category: 'crash', fatal: false },
};

export interface PodProblemOptions {
  now: number;
  /** How long a Pod may stay Unschedulable before that fails the rollout. */
  unschedulableGraceMs: number;
}

/** The problems a Pod's status shows now. */
export function podProblems(pod: Pod, o: PodProblemOptions): Problem[] {
  if (pod.metadata.deletionTimestamp) return [];
  const out: Problem[] = [];
  const uid = pod.metadata.uid ?? pod.metadata.name;
  const name = `Pod ${pod.metadata.name}`;
  const scheduled = condition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const since = timeOf(scheduled.lastTransitionTime) ?? o.now;
    if (o.now - since >= o.unschedulableGraceMs) {
      out.push({
        key: `${uid}/Unschedulable`,
        reason: 'Unschedulable',
        message: `${name} is Unschedulable for ${Math.round((o.now - since) / 1000)}s: ${scheduled.message ?? 'no node fits'}`,
        fatal: true,
      });
    }
  }
  const containers = (list: ContainerStatus[] | undefined, init: boolean) => {
    for (const c of list ?? []) {
      const where = `${name} ${init ? 'init container' : 'container'} ${c.name}`;
      const restarts = c.restartCount ?? 0;
      const w = c.state?.waiting;
      const known = w?.reason ? WAITING_FAILURES[w.reason] : undefined;
      if (w?.reason && known) {
        out.push({
          key: `${uid}/${c.name}/${known.category}${known.category === 'crash' ? `/${restarts}` : ''}`,
          reason: w.reason,
          message: `${where}: ${w.reason}${w.message ? `: ${w.message}` : ''}`,
          fatal: known.fatal,
        });
      }
      for (const [state, at] of [
        [c.state?.terminated, restarts],
        [c.lastState?.terminated, restarts - 1],
      ] as const) {
        if (state?.reason === 'OOMKilled') {
          out.push({
            key: `${uid}/${c.name}/oom/${at}`,
            reason: 'OOMKilled',
            message: `${where} was OOMKilled (exit code ${state.exitCode ?? 137})`,
            fatal: false,
          });
        } else if (init && state === c.state?.terminated && state && state.exitCode !== 0) {
          out.push({
            key: `${uid}/${c.name}/init-error/${restarts}`,
            reason: 'InitContainerError',
            message: `${where} failed: ${state.reason ?? 'Error'}, exit code ${state.exitCode ?? '?'}${state.message ? `: ${state.message}` : ''}`,
            fatal: false,
          });
        }
      }
    }
  };
  containers(pod.status?.initContainerStatuses, true);
  containers(pod.status?.containerStatuses, false);
  return out;
}

/** Reasons of Events on a controller (not a Pod) that fail the rollout outright. */
const FATAL_CONTROLLER_REASONS = new Set([
  'BackoffLimitExceeded',
  'DeadlineExceeded',
  'ProgressDeadlineExceeded',
]);
/** Reasons with "Failed" in them that are not a rollout failure (kubedog's exceptions). */
const BENIGN_FAILED_REASONS = ['FailedDelete', 'RecreatingFailedPod'];
/** The API server's "try again" answer: transient, so only a warning (kubedog PR #156). */
const TRY_AGAIN = 'please try again';

const PROBE_RESTART = /failed (startup|liveness) probe, will be restarted/i;
const READINESS_FAILED = 'Readiness probe failed:';

export type EventVerdict =
  | { kind: 'problem'; problem: Problem }
  | { kind: 'readiness-failure'; container: string | undefined }
  | { kind: 'info' };

/** What an Event of the tracked tree means; `uid` keys the problem per occurrence where it counts. */
export function classifyEvent(e: KubeEvent): EventVerdict {
  const reason = e.reason ?? '';
  const message = e.message ?? '';
  const on = `${e.involvedObject.kind ?? 'object'} ${e.involvedObject.name ?? '?'}`;
  const text = `${on} ${reason}: ${message}`;
  const occurrence = `${e.metadata.uid ?? e.metadata.name}/${eventCount(e)}`;
  if (e.involvedObject.kind === 'Pod') {
    if (PROBE_RESTART.test(message)) {
      return {
        kind: 'problem',
        problem: {
          key: `event/${occurrence}`,
          reason: 'ProbeTriggeredRestart',
          message: text,
          fatal: false,
        },
      };
    }
    if (message.includes(READINESS_FAILED)) {
      return { kind: 'readiness-failure', container: containerOfFieldPath(e) };
    }
    return { kind: 'info' };
  }
  if (message.includes(TRY_AGAIN)) return { kind: 'info' };
  if (
    FATAL_CONTROLLER_REASONS.has(reason) ||
    (reason.includes('Failed') && !BENIGN_FAILED_REASONS.some((r) => reason.includes(r)))
  ) {
    return {
      kind: 'problem',
      problem: {
        key: `event/${e.metadata.uid ?? e.metadata.name}`,
        reason,
        message: text,
        fatal: true,
      },
    };
  }
  return { kind: 'info' };
}

/** `spec.containers{app}` → `app`. */
function containerOfFieldPath(e: KubeEvent): string | undefined {
  const path = (e.involvedObject as { fieldPath?: string }).fieldPath ?? '';
  return /\{([^}]+)\}/.exec(path)?.[1];
}

/**
 * Until when readiness probe failures of a container are expected while it starts (kubedog
 * pod/probes.go): started + initial delay (the startup probe's budget folded in) + timeout +
 * (failureThreshold + successThreshold − 3) × period + period / 2 + timeout. A probe with
 * failureThreshold 1 has no such window. Undefined when the container has not started.
 */
export function readinessGraceEnd(spec: ContainerSpec | undefined, startedAt: number | undefined) {
  const p: Probe | undefined = spec?.readinessProbe;
  if (!p || startedAt === undefined) return undefined;
  const failureThreshold = p.failureThreshold ?? 3;
  if (failureThreshold === 1) return startedAt;
  const period = p.periodSeconds ?? 10;
  const timeout = p.timeoutSeconds ?? 1;
  const s = spec?.startupProbe;
  const startupBudget = s
    ? (s.initialDelaySeconds ?? 0) + (s.failureThreshold ?? 3) * (s.periodSeconds ?? 10)
    : 0;
  const delay = (p.initialDelaySeconds ?? 0) + startupBudget;
  const seconds =
    delay +
    timeout +
    (failureThreshold + (p.successThreshold ?? 1) - 3) * period +
    period / 2 +
    timeout;
  return startedAt + seconds * 1000;
}

/** A readiness failure Event as a counted problem, unless it falls inside the container's start window. */
export function readinessProblem(
  e: KubeEvent,
  pod: Pod | undefined,
  container: string | undefined,
): Problem | undefined {
  const name = container ?? pod?.spec?.containers?.[0]?.name;
  const spec = pod?.spec?.containers?.find((c) => c.name === name);
  const status = pod?.status?.containerStatuses?.find((c) => c.name === name);
  const started = timeOf(status?.state?.running?.startedAt);
  const end = readinessGraceEnd(spec, started);
  const at = eventTime(e);
  if (end !== undefined && at !== undefined && at <= end) return undefined;
  return {
    key: `${pod?.metadata.uid ?? e.involvedObject.uid}/${name ?? '?'}/readiness/${status?.restartCount ?? 0}`,
    reason: 'ReadinessProbeFailed',
    message: `Pod ${e.involvedObject.name ?? '?'} container ${name ?? '?'}: ${e.message ?? ''}`,
    fatal: false,
  };
}
