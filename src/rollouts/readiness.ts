// Whether a workload is ready, still progressing or failed, from its own status — per kind, the
// rules of `kubectl rollout status` (inequalities and observedGeneration, so surge and
// terminating Pods do not hang a finished rollout), kubedog's StatefulSet partition / OnDelete
// and Job rules, and the failures both miss in status: ProgressDeadlineExceeded and
// ReplicaFailure on Deployments, Failed / FailureTarget on Jobs. Pure functions.
import { condition, num, type KubeObject, type Pod } from './objects.ts';

export type State = 'progressing' | 'ready' | 'failed';

export interface Verdict {
  state: State;
  /** One line for people: what is awaited, or why it is done or failed. */
  message: string;
  /** For failed: the CamelCase reason (ProgressDeadlineExceeded, FailedCreate, BackoffLimitExceeded, …). */
  reason?: string;
}

/** Replica counts shown in the live status; undefined fields do not apply to the kind. */
export interface Replicas {
  desired: number;
  updated: number;
  ready?: number;
  available?: number;
}

/** The kinds with rules of their own; anything else is tracked by its Ready condition. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Pod'] as const;

const progressing = (message: string): Verdict => ({ state: 'progressing', message });
const ready = (message: string): Verdict => ({ state: 'ready', message });
const failed = (reason: string, message: string): Verdict => ({ state: 'failed', reason, message });

function unobserved(o: KubeObject): Verdict | undefined {
  const generation = o.metadata.generation ?? 0;
  const observed = o.status?.observedGeneration ?? 0;
  if (generation > observed) {
    return progressing(
      `waiting for the spec update to be observed (generation ${generation}, observed ${observed})`,
    );
  }
  return undefined;
}

const spec = <T>(o: KubeObject, key: string): T | undefined => o.spec?.[key] as T | undefined;
const stat = (o: KubeObject, key: string): number => num(o.status?.[key]);

export function deploymentVerdict(d: KubeObject): Verdict {
  const wait = unobserved(d);
  if (wait) return wait;
  const deadline = condition(d, 'Progressing');
  if (deadline?.reason === 'ProgressDeadlineExceeded') {
    return failed('ProgressDeadlineExceeded', deadline.message ?? 'the progress deadline passed');
  }
  const failure = condition(d, 'ReplicaFailure');
  if (failure?.status === 'True') {
    return failed(failure.reason ?? 'ReplicaFailure', failure.message ?? 'Pods cannot be created');
  }
  const desired = spec<number>(d, 'replicas') ?? 1;
  const updated = stat(d, 'updatedReplicas');
  const replicas = stat(d, 'replicas');
  const available = stat(d, 'availableReplicas');
  if (updated < desired) return progressing(`${updated} of ${desired} new replicas updated`);
  if (replicas > updated) {
    return progressing(`${replicas - updated} old replicas are pending termination`);
  }
  if (available < updated) {
    return progressing(`${available} of ${updated} updated replicas available`);
  }
  return ready(`rolled out: ${updated} of ${desired} replicas updated and available`);
}

export function statefulSetVerdict(s: KubeObject): Verdict {
  const strategy = spec<{ type?: string; rollingUpdate?: { partition?: number } }>(
    s,
    'updateStrategy',
  );
  if ((s.status?.observedGeneration ?? 0) === 0) {
    return progressing('waiting for the StatefulSet controller to observe it');
  }
  const wait = unobserved(s);
  if (wait) return wait;
  const desired = spec<number>(s, 'replicas') ?? 1;
  const readyReplicas = stat(s, 'readyReplicas');
  if (readyReplicas < desired) return progressing(`${readyReplicas} of ${desired} Pods ready`);
  const updated = stat(s, 'updatedReplicas');
  const updateRevision = s.status?.updateRevision as string | undefined;
  const currentRevision = s.status?.currentRevision as string | undefined;
  if (strategy?.type === 'OnDelete') {
    if ((updated === 0 && updateRevision === currentRevision) || updated >= desired) {
      return ready(`${readyReplicas} of ${desired} Pods ready (OnDelete)`);
    }
    return progressing(
      `${updated} of ${desired} Pods at revision ${updateRevision ?? '?'}; with OnDelete, old Pods change only when deleted`,
    );
  }
  const partition = strategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    const want = Math.max(0, desired - partition);
    if (updated < want) {
      return progressing(`${updated} of ${want} Pods updated (partition ${partition})`);
    }
    return ready(`partitioned rollout complete: ${updated} Pods updated (partition ${partition})`);
  }
  if (updateRevision !== currentRevision) {
    return progressing(`${updated} of ${desired} Pods at revision ${updateRevision ?? '?'}`);
  }
  return ready(`rolled out: ${desired} Pods ready at revision ${updateRevision ?? '?'}`);
}

export function daemonSetVerdict(d: KubeObject): Verdict {
  const wait = unobserved(d);
  if (wait) return wait;
  const desired = stat(d, 'desiredNumberScheduled');
  const updated = stat(d, 'updatedNumberScheduled');
  const available = stat(d, 'numberAvailable');
  if (spec<{ type?: string }>(d, 'updateStrategy')?.type === 'OnDelete') {
    if (available < desired) return progressing(`${available} of ${desired} Pods available`);
    return ready(
      `${available} of ${desired} Pods available (OnDelete: ${updated} updated; old Pods change only when deleted)`,
    );
  }
  if (updated < desired) return progressing(`${updated} of ${desired} updated Pods scheduled`);
  if (available < desired) return progressing(`${available} of ${desired} updated Pods available`);
  return ready(`rolled out: ${available} of ${desired} Pods updated and available`);
}

export function jobVerdict(j: KubeObject): Verdict {
  for (const type of ['Failed', 'FailureTarget']) {
    const c = condition(j, type);
    if (c?.status === 'True') {
      return failed(c.reason ?? 'Failed', c.message ?? 'the Job failed');
    }
  }
  const succeeded = stat(j, 'succeeded');
  const completions = spec<number>(j, 'completions') ?? 1;
  if (condition(j, 'Complete')?.status === 'True') {
    return ready(`complete: ${succeeded} of ${completions} succeeded`);
  }
  if (condition(j, 'SuccessCriteriaMet')?.status === 'True') {
    return progressing('success criteria met; waiting for its Pods to terminate');
  }
  if (spec<boolean>(j, 'suspend')) return progressing('suspended');
  return progressing(
    `${stat(j, 'active')} active, ${succeeded} of ${completions} succeeded, ${stat(j, 'failed')} failed`,
  );
}

export function podVerdict(p: Pod): Verdict {
  const phase = p.status?.phase ?? 'Pending';
  if (phase === 'Succeeded') return ready('completed');
  if (phase === 'Failed') {
    return failed(p.status?.reason ?? 'PodFailed', p.status?.message ?? podDisplayStatus(p));
  }
  if (condition(p, 'Ready')?.status === 'True') return ready('running and ready');
  return progressing(podDisplayStatus(p));
}

/** Any other kind: ready when its Ready condition is True (and its generation observed). */
export function genericVerdict(o: KubeObject): Verdict {
  if (o.status?.observedGeneration !== undefined) {
    const wait = unobserved(o);
    if (wait) return wait;
  }
  const c = condition(o, 'Ready');
  if (!c) return progressing('no Ready condition yet');
  if (c.status === 'True') return ready(c.message ? `Ready: ${c.message}` : 'Ready');
  return progressing(
    `Ready ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`,
  );
}

export function verdictOf(kind: string, o: KubeObject): Verdict {
  switch (kind) {
    case 'Deployment':
      return deploymentVerdict(o);
    case 'StatefulSet':
      return statefulSetVerdict(o);
    case 'DaemonSet':
      return daemonSetVerdict(o);
    case 'Job':
      return jobVerdict(o);
    case 'Pod':
      return podVerdict(o);
    default:
      return genericVerdict(o);
  }
}

/** The counts shown for a workload, or undefined for kinds without replicas. */
export function replicasOf(kind: string, o: KubeObject): Replicas | undefined {
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
      return {
        desired: spec<number>(o, 'replicas') ?? 1,
        updated: stat(o, 'updatedReplicas'),
        ready: stat(o, 'readyReplicas'),
        available: stat(o, 'availableReplicas'),
      };
    case 'DaemonSet':
      return {
        desired: stat(o, 'desiredNumberScheduled'),
        updated: stat(o, 'updatedNumberScheduled'),
        ready: stat(o, 'numberReady'),
        available: stat(o, 'numberAvailable'),
      };
    case 'Job':
      return { desired: spec<number>(o, 'completions') ?? 1, updated: stat(o, 'succeeded') };
    default:
      return undefined;
  }
}

/** A Pod's status as `kubectl get pods` shows it: Init:1/2, ContainerCreating, CrashLoopBackOff, Completed, Terminating… */
export function podDisplayStatus(p: Pod): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  const s = p.status;
  let reason = s?.reason ?? s?.phase ?? 'Pending';
  const inits = s?.initContainerStatuses ?? [];
  const initCount = p.spec?.initContainers?.length ?? inits.length;
  for (const [i, c] of inits.entries()) {
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) continue;
    if (t) {
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
          ? `Init:Signal:${t.signal}`
          : `Init:ExitCode:${t.exitCode ?? '?'}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${c.state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    return reason;
  }
  let running = false;
  for (const c of s?.containerStatuses ?? []) {
    const w = c.state?.waiting?.reason;
    const t = c.state?.terminated;
    if (w) reason = w;
    else if (t) {
      reason = t.reason ?? (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? '?'}`);
    } else if (c.state?.running && c.ready) running = true;
  }
  if (reason === 'Completed' && running) reason = 'Running';
  if (s?.phase === 'Pending' && !s?.containerStatuses?.length) {
    const scheduled = condition(p, 'PodScheduled');
    if (scheduled?.status === 'False') reason = `Pending: ${scheduled.reason ?? 'not scheduled'}`;
  }
  return reason;
}

/** `1/2`: ready containers of all containers. */
export function podReadyCount(p: Pod): string {
  const statuses = p.status?.containerStatuses ?? [];
  const total = p.spec?.containers?.length ?? statuses.length;
  return `${statuses.filter((c) => c.ready).length}/${total}`;
}

export function podRestarts(p: Pod): number {
  return (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}
