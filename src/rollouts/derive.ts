// Rollouts derived from recorded history, record by record in the global sequence: a rollout
// starts when a Deployment, StatefulSet or DaemonSet gets a new generation (or is created), or a
// Job is created; it ends complete, failed, superseded (a newer generation) or deleted, by the
// same rules `hindsight track` applies live (readiness.ts, problems.ts) to the recorded states of
// the workload, its ReplicaSets and Pods, and the Events of that tree. No extra watches: what the
// policy records is what a rollout is made of.
import type { ChangeRecord, EventRecord, ExportRecord } from '../sinks/record.ts';
import type { Rollout, RolloutStore, TrackedObject } from '../store/rollouts.ts';
import { timeOf, type KubeEvent, type KubeObject } from './objects.ts';
import { classifyEvent, podProblems, readinessProblem, type Problem } from './problems.ts';
import { verdictOf } from './readiness.ts';

export const ROLLOUT_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];
/** What the derivation reads: the workloads, their trees, and Events. */
export const DERIVED_FROM = [...ROLLOUT_KINDS, 'ReplicaSet', 'Pod', 'Event'];

const MAX_LISTED = 50;
/** New Pods whose last state is kept for their probes' windows. */
const MAX_PODS = 10_000;
/** A workload first seen this long after its creation was not created then: no rollout for it. */
const CREATION_WINDOW_MS = 60_000;
/** How long after its end a rollout still takes in its late Pods and Events. */
const SETTLING_MS = 10_000;
/** How long a Pod may stay Unschedulable before that fails the rollout. */
const UNSCHEDULABLE_GRACE_MS = 60_000;

function imagesOf(o: KubeObject): string[] {
  const spec = (o.spec as { template?: { spec?: { containers?: { image?: string }[] } } }) ?? {};
  return (spec.template?.spec?.containers ?? []).map((c) => c.image ?? '');
}

const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';

function revisionOf(kind: string, o: KubeObject): string | null {
  if (kind === 'Deployment') return o.metadata.annotations?.[DEPLOYMENT_REVISION] ?? null;
  if (kind === 'StatefulSet') return (o.status?.updateRevision as string | undefined) ?? null;
  if (kind === 'DaemonSet')
    return o.metadata.generation === undefined ? null : String(o.metadata.generation);
  return null;
}

export class RolloutDeriver {
  private readonly store: RolloutStore;
  /** Rollouts that ended within {@link SETTLING_MS}, by workload uid. */
  private readonly ended = new Map<string, { id: number; at: number }>();
  /**
   * The last recorded state of new Pods of open rollouts, for their readiness probes' start
   * windows (kept in memory, the oldest dropped past {@link MAX_PODS}).
   */
  private readonly pods = new Map<string, KubeObject>();

  constructor(store: RolloutStore) {
    this.store = store;
  }

  /** Applies records in sequence order; the caller commits them with the cursor. */
  apply(records: ExportRecord[]): void {
    for (const r of records) {
      if (r.type === 'change') this.change(r);
      else if (r.type === 'event') this.event(r);
    }
  }

  private change(r: ChangeRecord): void {
    if (ROLLOUT_KINDS.includes(r.kind)) this.workload(r);
    else if (r.kind === 'ReplicaSet' || r.kind === 'Pod') this.member(r);
  }

  private workload(r: ChangeRecord): void {
    const time = Date.parse(r.time);
    const obj = r.object as KubeObject;
    let open = this.store.open(r.uid);
    if (r.change === 'deleted') {
      if (open)
        this.close(open, time, r.seq, 'deleted', 'Deleted', `${r.kind} ${r.name} was deleted`);
      this.store.deleteObject(r.uid);
      return;
    }
    const known = this.store.object(r.uid);
    const generation = obj.metadata.generation ?? 1;
    const images = imagesOf(obj);
    const revision = revisionOf(r.kind, obj);
    const verdict = verdictOf(r.kind, obj);
    const start = (old: { revision: string | null; images: string[] }) => {
      this.store.insert({
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        uid: r.uid,
        generation,
        started: time,
        oldRevision: old.revision,
        newRevision: null,
        imagesBefore: old.images,
        imagesAfter: images,
        actor: r.actor,
        startSeq: r.seq,
      });
      open = this.store.open(r.uid);
    };
    if (!known) {
      const created = timeOf(obj.metadata.creationTimestamp) ?? time;
      const isNew = r.kind === 'Job' ? true : time - created <= CREATION_WINDOW_MS;
      if (isNew || verdict.state !== 'ready') start({ revision: null, images: [] });
    } else if (r.kind !== 'Job' && known.generation !== null && generation > known.generation) {
      if (open) {
        this.close(
          open,
          time,
          r.seq,
          'superseded',
          'Superseded',
          `generation ${generation} started before it finished`,
        );
      }
      start({ revision: known.revision, images: known.images ?? [] });
    }
    this.store.putObject({
      uid: r.uid,
      workloadUid: r.uid,
      generation,
      revision,
      images,
      created: timeOf(obj.metadata.creationTimestamp) ?? null,
    });
    if (!open) return;
    open.imagesAfter = images;
    if ((obj.status?.observedGeneration ?? 0) >= generation || r.kind === 'Job') {
      open.newRevision = revision ?? open.newRevision;
    }
    if (verdict.state === 'ready' && open.generation === generation) {
      this.close(open, time, r.seq, 'complete', null, verdict.message);
    } else if (verdict.state === 'failed' && open.generation === generation) {
      const why = open.problem
        ? `${verdict.message}; last problem: ${open.problem}`
        : verdict.message;
      this.close(open, time, r.seq, 'failed', verdict.reason ?? 'Failed', why);
    } else {
      this.store.update(open);
    }
  }

  private member(r: ChangeRecord): void {
    const workload = r.enrichment.owners.find((o) => ROLLOUT_KINDS.includes(o.kind));
    if (!workload) return;
    if (r.change === 'deleted') {
      this.store.deleteObject(r.uid);
      this.pods.delete(r.uid);
      return;
    }
    const obj = r.object as KubeObject;
    const created = timeOf(obj.metadata.creationTimestamp) ?? Date.parse(r.time);
    this.store.putObject({
      uid: r.uid,
      workloadUid: workload.uid,
      generation: null,
      revision: this.revisionOfMember(r, obj),
      images: null,
      created,
    });
    if (r.kind !== 'Pod') return;
    const open = this.openOrSettling(workload.uid, Date.parse(r.time));
    if (!open || !isNewPod(open, this.store.object(r.uid)!)) return;
    if (!open.pods.includes(r.name) && open.pods.length < MAX_LISTED) open.pods.push(r.name);
    this.pods.delete(r.uid);
    this.pods.set(r.uid, obj);
    if (this.pods.size > MAX_PODS) this.pods.delete(this.pods.keys().next().value!);
    if (open.ended !== null) {
      this.store.update(open);
      return;
    }
    const problems = podProblems(obj, {
      now: Date.parse(r.time),
      unschedulableGraceMs: UNSCHEDULABLE_GRACE_MS,
    });
    this.problems(open, problems, Date.parse(r.time), r.seq);
  }

  private event(r: EventRecord): void {
    const involved = r.involvedObject.uid;
    if (!involved) return;
    const member = this.store.object(involved);
    if (!member) return;
    const time = Date.parse(r.time);
    const open = this.openOrSettling(member.workloadUid, time);
    if (!open) return;
    if (open.events.length < MAX_LISTED) {
      open.events.push({
        time,
        type: r.eventType ?? 'Normal',
        reason: r.reason ?? '',
        object: `${r.involvedObject.kind ?? '?'}/${r.involvedObject.name ?? '?'}`,
        message: r.message ?? '',
      });
    }
    if (open.ended !== null) {
      this.store.update(open);
      return;
    }
    // Problems of Pods of an older revision are not the rollout's own.
    const fromNewPod = r.involvedObject.kind !== 'Pod' || isNewPod(open, member);
    const e = asKubeEvent(r);
    const v = classifyEvent(e);
    let found: Problem | undefined;
    if (fromNewPod && v.kind === 'problem') found = v.problem;
    // As track: a readiness failure counts once past the probe's start window.
    if (fromNewPod && v.kind === 'readiness-failure') {
      found = readinessProblem(e, this.pods.get(involved), v.container);
    }
    this.problems(open, found ? [found] : [], time, r.seq);
  }

  /**
   * The workload's open rollout, or the one that ended less than {@link SETTLING_MS} before
   * `time`: the watches of Pods, Events and workloads are recorded side by side, so a Pod or an
   * Event of a rollout can be recorded just after the workload's status that ended it. Such late
   * ones are listed with it; they change no outcome. (Which rollouts just ended is kept in memory:
   * after a restart, late ones are not listed.)
   */
  private openOrSettling(workloadUid: string, time: number): Rollout | undefined {
    const open = this.store.open(workloadUid);
    if (open) return open;
    const ended = this.ended.get(workloadUid);
    if (!ended || time - ended.at > SETTLING_MS) return undefined;
    return this.store.byId(ended.id);
  }

  /**
   * The revision a ReplicaSet or Pod belongs to, as tree.ts tells new Pods from old: a
   * ReplicaSet's revision annotation (and its Pods', looked up by their controller), a StatefulSet
   * Pod's controller-revision-hash, a DaemonSet Pod's pod-template-generation.
   */
  private revisionOfMember(r: ChangeRecord, obj: KubeObject): string | null {
    const labels = obj.metadata.labels ?? {};
    if (r.kind === 'ReplicaSet') return obj.metadata.annotations?.[DEPLOYMENT_REVISION] ?? null;
    const owner = r.enrichment.owners[0];
    if (owner?.kind === 'ReplicaSet') return this.store.object(owner.uid)?.revision ?? null;
    if (owner?.kind === 'StatefulSet') return labels['controller-revision-hash'] ?? null;
    if (owner?.kind === 'DaemonSet') return labels['pod-template-generation'] ?? null;
    return null;
  }

  /** Fatal problems fail the rollout; counted ones are noted (the last one kept). */
  private problems(open: Rollout, problems: Problem[], time: number, seq: number): void {
    const fatal = problems.find((p) => p.fatal);
    const counted = problems.find((p) => !p.fatal);
    if (counted) open.problem = `${counted.reason}: ${counted.message}`;
    if (fatal) this.close(open, time, seq, 'failed', fatal.reason, fatal.message);
    else this.store.update(open);
  }

  private close(
    open: Rollout,
    time: number,
    seq: number,
    outcome: Rollout['outcome'],
    reason: string | null,
    message: string,
  ): void {
    // Event times have whole seconds: one can read as before the start it ends.
    open.ended = Math.max(time, open.started);
    for (const [uid, e] of this.ended) if (time - e.at > SETTLING_MS) this.ended.delete(uid);
    this.ended.set(open.uid, { id: open.id, at: open.ended });
    open.endSeq = seq;
    open.outcome = outcome;
    open.reason = reason;
    open.message = message;
    this.store.update(open);
  }
}

/**
 * Whether a Pod is one of the rollout's own: of the revision it rolls out, where the Pod's
 * revision is known (a revision after the old one for a Deployment, not the old hash for a
 * StatefulSet, this generation for a DaemonSet), and created since it started (creation times
 * have whole seconds, hence the second of slack).
 */
function isNewPod(open: Rollout, pod: TrackedObject): boolean {
  const recent = (pod.created ?? 0) >= open.started - 1000;
  const rev = pod.revision;
  if (rev === null) return recent;
  if (open.kind === 'Deployment') {
    return open.oldRevision === null || Number(rev) > Number(open.oldRevision);
  }
  if (open.kind === 'StatefulSet') return recent && rev !== open.oldRevision;
  if (open.kind === 'DaemonSet') return rev === String(open.generation);
  return recent;
}

function asKubeEvent(r: EventRecord): KubeEvent {
  return {
    metadata: { name: r.name, uid: r.uid },
    involvedObject: {
      kind: r.involvedObject.kind ?? undefined,
      name: r.involvedObject.name ?? undefined,
      uid: r.involvedObject.uid ?? undefined,
    },
    reason: r.reason ?? undefined,
    message: r.message ?? undefined,
    type: r.eventType ?? undefined,
    lastTimestamp: r.time,
    count: 1,
  };
}
