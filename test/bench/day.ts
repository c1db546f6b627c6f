// A day of cluster history for the query figures: the Pod churn workload (Deployments rolled out,
// ReplicaSets, Pods through their lives) with the Events a kubelet reports about each Pod, on a
// clock that can run faster than the workload's own 5 ms per event. The past day is recorded
// with its times compressed into 24 hours; the live part then runs at wall-clock speed.
import type { WatchTarget } from '../../src/kube/reflector.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import { EPOCH_MS, iso, type JsonObject } from './k8s-json.ts';
import { eventObject, type EventState } from './node-event.ts';
import { Prng } from './prng.ts';
import { podChurn, TARGETS, type WatchEvent } from './workloads.ts';

/** The workload's own clock: 5 ms per event (workloads.ts). */
const TICK_MS = 5;

const KUBELET_EVENTS: [reason: string, message: string][] = [
  ['Scheduled', 'Successfully assigned the pod to its node'],
  ['Pulling', 'Pulling image "registry.example.com/app:1.4.0"'],
  ['Pulled', 'Successfully pulled image "registry.example.com/app:1.4.0" in 1.2s'],
  ['Started', 'Started container app'],
];

export interface TimedEvent extends WatchEvent {
  time: number;
}

/**
 * Pod churn with kubelet Events, timed: workload time `g` (EPOCH_MS + 5 ms per event) becomes
 * `clock(g)`, for watch items and creationTimestamps alike, so lifespans stay consistent.
 * `fold` namespaces of the workload share one (team-0..team-19 → fewer, busier namespaces).
 */
export class DayWorkload {
  private readonly churn = podChurn('small', 42);
  private readonly rng = new Prng(7);
  private readonly rv = { n: 8_000_000 };
  private g = EPOCH_MS;
  private readonly pending: TimedEvent[] = [];
  clock: (g: number) => number;
  private readonly fold: number;

  constructor(clock: (g: number) => number, fold: number) {
    this.clock = clock;
    this.fold = fold;
  }

  /** Workload time of the next event. */
  get workloadTime(): number {
    return this.g;
  }

  private namespace(ns: string): string {
    const m = /^team-(\d+)$/.exec(ns);
    return m ? `team-${Number(m[1]) % this.fold}` : ns;
  }

  /** The next `n` events, or fewer where workload time reaches `until`. */
  take(n: number, until = Infinity): TimedEvent[] {
    const out: TimedEvent[] = [];
    while (out.length < n) {
      const queued = this.pending.shift();
      if (queued) {
        out.push(queued);
        continue;
      }
      if (this.g >= until) break;
      const e = this.churn.next().value as WatchEvent;
      this.g += TICK_MS;
      const time = this.clock(this.g);
      const meta = e.object.metadata as JsonObject;
      if (typeof meta.creationTimestamp === 'string') {
        meta.creationTimestamp = iso(this.clock(Date.parse(meta.creationTimestamp)));
      }
      if (typeof meta.namespace === 'string') meta.namespace = this.namespace(meta.namespace);
      out.push({ ...e, time });
      if (e.target === TARGETS.pods && e.type === 'ADDED') this.kubeletEvents(meta, time);
    }
    return out;
  }

  /** Events about a new Pod: four one-off Normal ones; for one Pod in ten a recurring Warning. */
  private kubeletEvents(pod: JsonObject, time: number): void {
    const ref = {
      name: pod.name as string,
      uid: pod.uid as string,
      rv: pod.resourceVersion as string,
      node: 'worker-1',
    };
    const event = (reason: string, type: 'Normal' | 'Warning', message: string): EventState => ({
      name: `${ref.name}.${this.rng.hex(16)}`,
      uid: this.rng.uid(),
      namespace: pod.namespace as string,
      pod: ref,
      reason,
      type,
      message,
      first: time,
      last: time,
      count: 1,
    });
    const push = (e: EventState, type: 'ADDED' | 'MODIFIED') =>
      this.pending.push({
        target: TARGETS.events,
        type,
        object: eventObject(e, String(++this.rv.n)),
        time: e.last,
      });
    for (const [reason, message] of KUBELET_EVENTS) push(event(reason, 'Normal', message), 'ADDED');
    if (!this.rng.chance(0.1)) return;
    const w = event('Unhealthy', 'Warning', 'Readiness probe failed: HTTP probe failed: 503');
    push(w, 'ADDED');
    for (let i = this.rng.int(2, 5); i > 0; i--) {
      w.count++;
      w.last += 10_000;
      push({ ...w }, 'MODIFIED');
    }
  }
}

/** Hands timed events to the recorder, grouped per watch, and waits for their commit. */
export async function record(recorder: Recorder, events: TimedEvent[]): Promise<void> {
  const byTarget = new Map<WatchTarget, TimedEvent[]>();
  for (const e of events) {
    let list = byTarget.get(e.target);
    if (!list) byTarget.set(e.target, (list = []));
    list.push(e);
  }
  await Promise.all(
    [...byTarget].map(([target, list]) =>
      recorder.write(
        target,
        list.map((e) => ({ type: e.type, object: e.object as never, time: e.time })),
      ),
    ),
  );
}
