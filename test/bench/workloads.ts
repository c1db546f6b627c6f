// Deterministic workloads: the watch events a cluster would send, generated from a seed. Each
// workload is an iterator of events for the watch targets below; the harness serializes them
// into the NDJSON a watch stream carries and hands them to the recorder like the reflector.
import type { WatchTarget } from '../../src/kube/reflector.ts';
import {
  deploymentObject,
  replicaSetObject,
  type DeploymentState,
  type ReplicaSetState,
} from './apps.ts';
import { EPOCH_MS, type JsonObject } from './k8s-json.ts';
import { eventObject, newNode, nodeObject, type EventState } from './node-event.ts';
import { newPod, podObject, podTemplate, type PodInstance, type PodSize } from './pod.ts';
import { Prng } from './prng.ts';

function target(group: string, kind: string, resource: string): WatchTarget {
  return { key: `${group}/${resource}`, group, version: 'v1', kind, resource, namespace: null };
}

export const TARGETS = {
  pods: target('', 'Pod', 'pods'),
  replicaSets: target('apps', 'ReplicaSet', 'replicasets'),
  deployments: target('apps', 'Deployment', 'deployments'),
  events: target('', 'Event', 'events'),
  nodes: target('', 'Node', 'nodes'),
} as const;

export type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  target: WatchTarget;
  type: WatchType;
  object: JsonObject;
}

/** resourceVersions as etcd hands them out: one increasing counter, serialized as a string. */
class Revisions {
  private n: number;
  constructor(start: number) {
    this.n = start;
  }
  next(): string {
    return String(++this.n);
  }
}

/** The simulated clock advances 5 ms per event: the 200 changes/s of the steady tier. */
const TICK_MS = 5;

const NAMESPACES = Array.from({ length: 20 }, (_, i) => `team-${i}`);
const NODE_NAMES = Array.from({ length: 100 }, (_, i) => `worker-${i}`);

/** Share of Deployments in kube-system and of canary Deployments: the policy excludes both. */
const KUBE_SYSTEM_SHARE = 0.02;
const CANARY_SHARE = 0.05;

interface App {
  d: DeploymentState;
  rs: ReplicaSetState;
  /** Older ReplicaSets, scaled to zero, until revisionHistoryLimit removes them. */
  history: ReplicaSetState[];
  pods: PodInstance[];
}

/**
 * Rolling updates of Deployments (Deployment → ReplicaSets → Pods): every Pod is created
 * pending, scheduled, runs, terminates and is deleted, each step a new resourceVersion. Endless:
 * take as many events as needed.
 */
export function* podChurn(size: PodSize, seed: number): Generator<WatchEvent> {
  const rng = new Prng(seed);
  const rv = new Revisions(4_000_000);
  let now = EPOCH_MS;
  const ev = (t: WatchTarget, type: WatchType, object: JsonObject): WatchEvent => {
    now += TICK_MS;
    return { target: t, type, object };
  };
  const apps: App[] = [];
  const appCount = 120;

  function* startPod(app: App): Generator<WatchEvent> {
    const p = newPod(rng, app.rs.tpl, app.rs, NODE_NAMES, now);
    app.pods.push(p);
    yield ev(TARGETS.pods, 'ADDED', podObject(p, 'pending', rv.next()));
    yield ev(TARGETS.pods, 'MODIFIED', podObject(p, 'scheduled', rv.next()));
    yield ev(TARGETS.pods, 'MODIFIED', podObject(p, 'running', rv.next()));
  }

  function* stopPod(p: PodInstance): Generator<WatchEvent> {
    p.deleting = now;
    yield ev(TARGETS.pods, 'MODIFIED', podObject(p, 'terminating', rv.next()));
    yield ev(TARGETS.pods, 'DELETED', podObject(p, 'deleted', rv.next()));
  }

  function newReplicaSet(d: DeploymentState): ReplicaSetState {
    const rs = {
      name: `${d.name}-${d.tpl.hash}`,
      uid: rng.uid(),
      created: now,
      revision: d.revision,
      tpl: d.tpl,
      owner: { name: d.name, uid: d.uid },
      replicas: 0,
      ready: 0,
      statusAt: now,
    };
    return rs;
  }

  function* scaleUp(app: App): Generator<WatchEvent> {
    for (let i = 0; i < app.d.replicas; i++) {
      yield* startPod(app);
      app.rs.replicas = app.rs.ready = i + 1;
      app.rs.statusAt = now;
      yield ev(TARGETS.replicaSets, 'MODIFIED', replicaSetObject(app.rs, rv.next()));
    }
  }

  function* create(i: number): Generator<WatchEvent> {
    const namespace = rng.chance(KUBE_SYSTEM_SHARE) ? 'kube-system' : rng.pick(NAMESPACES);
    const name = `svc-${i}-${rng.suffix(4)}`;
    const canary = rng.chance(CANARY_SHARE);
    const tpl = podTemplate(rng, { size, namespace, app: name, revision: 1, canary });
    const d: DeploymentState = {
      name,
      uid: rng.uid(),
      created: now,
      replicas: rng.int(2, 8),
      generation: 1,
      revision: 1,
      tpl,
      updated: 0,
      statusAt: now,
    };
    const app: App = { d, rs: newReplicaSet(d), history: [], pods: [] };
    apps.push(app);
    yield ev(TARGETS.deployments, 'ADDED', deploymentObject(d, rv.next()));
    yield ev(TARGETS.replicaSets, 'ADDED', replicaSetObject(app.rs, rv.next()));
    yield* scaleUp(app);
    d.updated = d.replicas;
    d.statusAt = now;
    yield ev(TARGETS.deployments, 'MODIFIED', deploymentObject(d, rv.next()));
  }

  function* rollout(app: App): Generator<WatchEvent> {
    const { d } = app;
    d.revision++;
    d.generation++;
    d.updated = 0;
    d.statusAt = now;
    const canary = d.tpl.labels.track === 'canary';
    d.tpl = podTemplate(rng, {
      size,
      namespace: d.tpl.namespace,
      app: d.name,
      revision: d.revision,
      canary,
    });
    yield ev(TARGETS.deployments, 'MODIFIED', deploymentObject(d, rv.next()));
    const old = app.rs;
    const oldPods = app.pods;
    app.history.push(old);
    app.rs = newReplicaSet(d);
    app.pods = [];
    yield ev(TARGETS.replicaSets, 'ADDED', replicaSetObject(app.rs, rv.next()));
    for (let i = 0; i < d.replicas; i++) {
      yield* startPod(app);
      app.rs.replicas = app.rs.ready = i + 1;
      app.rs.statusAt = now;
      yield ev(TARGETS.replicaSets, 'MODIFIED', replicaSetObject(app.rs, rv.next()));
      const victim = oldPods[i];
      if (!victim) continue;
      old.replicas = old.ready = Math.max(0, old.replicas - 1);
      old.statusAt = now;
      yield ev(TARGETS.replicaSets, 'MODIFIED', replicaSetObject(old, rv.next()));
      yield* stopPod(victim);
    }
    d.updated = d.replicas;
    d.statusAt = now;
    yield ev(TARGETS.deployments, 'MODIFIED', deploymentObject(d, rv.next()));
    // revisionHistoryLimit, kept small here so ReplicaSets are deleted too.
    const expired = app.history.length > 2 ? app.history.shift() : undefined;
    if (expired) yield ev(TARGETS.replicaSets, 'DELETED', replicaSetObject(expired, rv.next()));
  }

  for (let i = 0; i < appCount; i++) yield* create(i);
  for (;;) yield* rollout(rng.pick(apps));
}

const NORMAL_EVENTS: [reason: string, message: (image: string) => string][] = [
  ['Scheduled', () => 'Successfully assigned the pod to its node'],
  ['Pulling', (image) => `Pulling image "${image}"`],
  ['Pulled', (image) => `Successfully pulled image "${image}" in 1.2s (1.2s including waiting)`],
  ['Created', () => 'Created container: app'],
  ['Started', () => 'Started container app'],
];

/**
 * core/v1 Events of Pods starting: five one-off Events per Pod, and for one Pod in four a
 * Warning (readiness probe failures, back-off) that recurs: its count and lastTimestamp grow.
 */
export function* eventChurn(seed: number): Generator<WatchEvent> {
  const rng = new Prng(seed);
  const rv = new Revisions(7_000_000);
  let now = EPOCH_MS;
  for (let n = 0; ; n++) {
    const namespace = rng.pick(NAMESPACES);
    const pod = { name: `svc-${n % 500}-${rng.suffix(10)}`, uid: rng.uid(), rv: rv.next() };
    const node = rng.pick(NODE_NAMES);
    const image = `registry.example.com/${namespace}/svc-${n % 500}:1.${rng.int(0, 40)}.0`;
    const event = (reason: string, type: 'Normal' | 'Warning', message: string): EventState => ({
      name: `${pod.name}.${rng.hex(16)}`,
      uid: rng.uid(),
      namespace,
      pod: { ...pod, node },
      reason,
      type,
      message,
      first: now,
      last: now,
      count: 1,
    });
    for (const [reason, message] of NORMAL_EVENTS) {
      now += TICK_MS;
      yield {
        target: TARGETS.events,
        type: 'ADDED',
        object: eventObject(event(reason, 'Normal', message(image)), rv.next()),
      };
    }
    if (!rng.chance(0.25)) continue;
    const warning = rng.chance(0.5)
      ? event(
          'Unhealthy',
          'Warning',
          'Readiness probe failed: HTTP probe failed with statuscode: 503',
        )
      : event('BackOff', 'Warning', 'Back-off restarting failed container app in pod');
    yield { target: TARGETS.events, type: 'ADDED', object: eventObject(warning, rv.next()) };
    for (let repeat = rng.int(2, 12); repeat > 0; repeat--) {
      warning.count++;
      warning.last += 10_000;
      now += TICK_MS;
      yield { target: TARGETS.events, type: 'MODIFIED', object: eventObject(warning, rv.next()) };
    }
  }
}

/**
 * Node heartbeats: `nodes` Nodes are added, then each reports every 10 s, changing only every
 * condition's lastHeartbeatTime and the resourceVersion. Only the ADDED events may make versions.
 */
export function* nodeHeartbeats(seed: number, nodes: number): Generator<WatchEvent> {
  const rng = new Prng(seed);
  const rv = new Revisions(9_000_000);
  const fleet = Array.from({ length: nodes }, (_, i) => newNode(rng, i, EPOCH_MS));
  for (const n of fleet)
    yield { target: TARGETS.nodes, type: 'ADDED', object: nodeObject(n, rv.next()) };
  for (;;) {
    for (const n of fleet) {
      n.heartbeat += 10_000;
      yield { target: TARGETS.nodes, type: 'MODIFIED', object: nodeObject(n, rv.next()) };
    }
  }
}

/** Pods per Deployment in `fleetPod`. */
const FLEET_REPLICAS = 5;

/**
 * Pod `index` of a fleet of running Pods, the same for a given seed and index whenever it is
 * asked for (relists regenerate the fleet instead of keeping it in memory). Pods are asked for
 * in index order: the template of their Deployment is cached, one at a time.
 */
export function fleet(seed: number, size: PodSize = 'small') {
  let cached: { app: number; tpl: ReturnType<typeof podTemplate> } | null = null;
  return (index: number, rv: string): JsonObject => {
    const app = Math.floor(index / FLEET_REPLICAS);
    if (cached?.app !== app) {
      const rng = new Prng(seed, app);
      const namespace = NAMESPACES[app % NAMESPACES.length] ?? 'default';
      const tpl = podTemplate(rng, {
        size,
        namespace,
        app: `svc-${app}`,
        revision: 1,
        canary: false,
      });
      cached = { app, tpl };
    }
    const rng = new Prng(seed, app, index);
    const rs = { name: `svc-${app}-${cached.tpl.hash}`, uid: new Prng(seed, app, -1).uid() };
    const p = newPod(rng, cached.tpl, rs, NODE_NAMES, EPOCH_MS + index);
    return podObject(p, 'running', rv);
  };
}
