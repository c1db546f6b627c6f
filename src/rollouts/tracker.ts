// Tracks workloads until each is ready, failed, gone or out of time, talking to the API server
// directly (no operator needed). Per object it combines the kind's readiness rule (readiness.ts),
// the problems of its new Pods and the Events of its whole tree (problems.ts, tree.ts) and the
// logs of its new Pods' containers (logs.ts), and reports through callbacks; the CLI's `track`
// is one user of it. Events older than the start of tracking are ignored by their own time.
import { Discovery } from '../kube/discovery.ts';
import type { KubeError } from '../kube/errors.ts';
import type { KubeHttp } from '../kube/http.ts';
import type { ListWatch } from '../kube/list-watch.ts';
import { ContainerLogs, type LogLine } from './logs.ts';
import { eventCount, eventTime, type KubeEvent, type KubeObject, type Pod } from './objects.ts';
import { classifyEvent, podProblems, readinessProblem, type Problem } from './problems.ts';
import {
  podDisplayStatus,
  podReadyCount,
  podRestarts,
  replicasOf,
  verdictOf,
  type Replicas,
  type State,
} from './readiness.ts';
import { treeOf, type Tree } from './tree.ts';
import { ApiProblem, collectionPath, NotServed, watchCollection } from './watches.ts';

export interface Target {
  kind: string;
  name: string;
  namespace: string;
  /** API group, for kinds other than the built-in workloads; found by discovery when omitted. */
  group?: string;
}

export interface PodSummary {
  name: string;
  /** As `kubectl get pods` shows it: Running, ContainerCreating, CrashLoopBackOff, … */
  status: string;
  /** Ready containers of all: `1/2`. */
  ready: string;
  restarts: number;
  node?: string;
  /** Of the revision being rolled out. */
  new: boolean;
}

export interface StatusUpdate {
  state: State;
  message: string;
  replicas?: Replicas;
  pods: PodSummary[];
}

export interface TrackedEvent {
  time: string;
  type: string;
  reason: string;
  message: string;
  /** `ReplicaSet/web-5d9c`. */
  object: string;
  count: number;
}

export type Outcome =
  'ready' | 'failed' | 'timeout' | 'not-found' | 'deleted' | 'error' | 'stopped';

export interface Result {
  target: Target;
  outcome: Outcome;
  /** Why: the readiness message, the failure (object, reason, text), or what timed out. */
  message: string;
  reason?: string;
  durationMs: number;
}

export interface TrackerCallbacks {
  status?(t: Target, s: StatusUpdate): void;
  event?(t: Target, e: TrackedEvent): void;
  log?(t: Target, l: LogLine): void;
  /** A counted problem still within --allow-failures, or logs that cannot be read. */
  warning?(t: Target, message: string): void;
  ready?(t: Target, r: Result): void;
  failed?(t: Target, r: Result): void;
  /** Any other end: timeout, not found, deleted, API error, stopped. */
  done?(t: Target, r: Result): void;
}

export interface TrackerOptions {
  http: KubeHttp;
  targets: Target[];
  /** Overall time limit; 0 or undefined: none. */
  timeoutMs?: number;
  /** Ends when nothing changed in any tracked tree for this long; default 4 min, 0: never. */
  noActivityTimeoutMs?: number;
  /** Counted problems tolerated per object before it fails; default 0. */
  allowFailures?: number;
  /** `fail-fast` (default) stops everything at the first failure; `keep-going` tracks the rest. */
  failMode?: 'fail-fast' | 'keep-going';
  /** How long a Pod may stay Unschedulable before that fails the rollout; default 60 s. */
  unschedulableGraceMs?: number;
  /** Stream the new Pods' container logs; default true. */
  logs?: boolean;
  /** Only these containers' logs. */
  containers?: string[];
  /** Never end on ready or failed: keep streaming status, Events and logs until stopped. */
  follow?: boolean;
  signal?: AbortSignal;
  now?: () => number;
}

export const DEFAULT_NO_ACTIVITY_MS = 4 * 60_000;
export const DEFAULT_UNSCHEDULABLE_GRACE_MS = 60_000;
const TICK_MS = 500;

/** Exit codes of `hindsight track` (README, `track --help`). */
export const EXIT = { ready: 0, failed: 1, usage: 2, timeout: 3, notFound: 4, api: 5 } as const;

/** The exit code a set of results calls for: API error, else failure, else gone, else timeout. */
export function exitCodeOf(results: Result[]): number {
  const has = (o: Outcome) => results.some((r) => r.outcome === o);
  if (has('error')) return EXIT.api;
  if (has('failed')) return EXIT.failed;
  if (has('not-found') || has('deleted')) return EXIT.notFound;
  if (has('timeout')) return EXIT.timeout;
  return EXIT.ready;
}

/** `Deployment shop/web`. */
export function describeTarget(t: Target): string {
  return `${t.kind} ${t.namespace}/${t.name}`;
}

interface Namespace {
  pods: ListWatch<Pod & { metadata: { name: string } }>;
  replicaSets: ListWatch<KubeObject> | null;
  events: ListWatch<KubeEvent>;
  /** Events of the namespace dated at or after the start of tracking. */
  recent: Map<string, KubeEvent>;
  /** The first lists of its Pods and Events (and ReplicaSets once watched). */
  synced: Promise<unknown>[];
}

interface Tracked {
  target: Target;
  watch: ListWatch<KubeObject> | null;
  synced: boolean;
  seen: boolean;
  uid: string | undefined;
  tree: Tree | null;
  result: Result | null;
  /** The last status sent, as JSON: a new one is sent only when it differs. */
  status: string;
  lastMessage: string;
  problems: Map<string, Problem>;
  counted: number;
  /** `${event uid}/${count}` already reported. */
  events: Set<string>;
  logs: Map<string, ContainerLogs>;
  wasReady: boolean;
}

/** Tracks `o.targets`; resolves with one result per target once every one has ended. */
export async function track(o: TrackerOptions, cb: TrackerCallbacks = {}): Promise<Result[]> {
  const tracker = new Tracker(o, cb);
  return tracker.run();
}

class Tracker {
  private readonly o: TrackerOptions;
  private readonly cb: TrackerCallbacks;
  private readonly now: () => number;
  private readonly started: number;
  /** Events dated before this are the past: the second of the start (Events have second precision), less a second of clock skew. */
  private readonly eventsFrom: number;
  private lastActivity: number;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly tracked: Tracked[];
  private readonly discovery: Discovery;
  private pending = false;
  private finish!: () => void;
  private readonly finished = new Promise<void>((r) => (this.finish = r));

  constructor(o: TrackerOptions, cb: TrackerCallbacks) {
    this.o = o;
    this.cb = cb;
    this.now = o.now ?? Date.now;
    this.started = this.now();
    this.eventsFrom = Math.floor(this.started / 1000) * 1000 - 1000;
    this.lastActivity = this.started;
    this.discovery = new Discovery(o.http);
    this.tracked = o.targets.map((target) => ({
      target,
      watch: null,
      synced: false,
      seen: false,
      uid: undefined,
      tree: null,
      result: null,
      status: '',
      lastMessage: 'nothing seen yet',
      problems: new Map(),
      counted: 0,
      events: new Set(),
      logs: new Map(),
      wasReady: false,
    }));
  }

  async run(): Promise<Result[]> {
    const onAbort = () => this.stopAll('stopped', 'tracking was stopped');
    this.o.signal?.addEventListener('abort', onAbort, { once: true });
    const tick = setInterval(() => this.tick(), TICK_MS);
    try {
      if (this.o.signal?.aborted) onAbort();
      else await this.startWatches();
      if (this.tracked.every((t) => t.result)) this.finish();
      await this.finished;
    } finally {
      clearInterval(tick);
      this.o.signal?.removeEventListener('abort', onAbort);
      await this.stopWatches();
    }
    return this.tracked.map((t) => t.result!);
  }

  private async startWatches(): Promise<void> {
    const { http } = this.o;
    for (const t of this.tracked) {
      const ns = t.target.namespace;
      if (!this.namespaces.has(ns)) {
        const base = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
        const recent = new Map<string, KubeEvent>();
        const events = watchCollection<KubeEvent>({
          http,
          path: `${base}/events`,
          what: `Events in ${ns}`,
          onChange: (name) => this.onEvent(ns, name),
          onError: (e, synced) => this.onWatchError(ns, `Events in namespace ${ns}`, e, synced),
        });
        const pods = watchCollection<Pod & { metadata: { name: string } }>({
          http,
          path: `${base}/pods`,
          what: `Pods in ${ns}`,
          onChange: () => this.changed(),
          onError: (e, synced) => this.onWatchError(ns, `Pods in namespace ${ns}`, e, synced),
        });
        this.namespaces.set(ns, {
          pods: pods.watch,
          replicaSets: null,
          events: events.watch,
          recent,
          synced: [pods.synced, events.synced],
        });
      }
      const space = this.namespaces.get(ns)!;
      if (t.target.kind === 'Deployment' && !space.replicaSets) {
        const rs = watchCollection<KubeObject>({
          http,
          path: `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets`,
          what: `ReplicaSets in ${ns}`,
          onChange: () => this.changed(),
          onError: (e, synced) =>
            this.onWatchError(ns, `ReplicaSets in namespace ${ns}`, e, synced),
        });
        space.replicaSets = rs.watch;
        space.synced.push(rs.synced);
      }
      let path: string;
      try {
        path = await collectionPath(http, this.discovery, t.target.kind, ns, t.target.group);
      } catch (err) {
        if (err instanceof NotServed)
          this.end(t, 'not-found', `${describeTarget(t.target)} cannot exist: ${err.message}`);
        else if (err instanceof ApiProblem) this.end(t, 'error', err.message);
        else throw err;
        continue;
      }
      if (t.result) continue;
      const w = watchCollection<KubeObject>({
        http,
        path,
        what: describeTarget(t.target),
        query: { fieldSelector: `metadata.name=${t.target.name}` },
        onChange: () => this.changed(),
        onError: (e, synced) => this.onTargetError(t, e, synced),
      });
      t.watch = w.watch;
      // Decide nothing before the tree is known: a first answer without its Pods would be wrong.
      void Promise.all([w.synced, ...space.synced]).then(() => {
        t.synced = true;
        this.changed();
      });
    }
  }

  private async stopWatches(): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const t of this.tracked) {
      if (t.watch) stops.push(t.watch.stop());
      for (const l of t.logs.values()) stops.push(l.stop());
      t.logs.clear();
    }
    for (const n of this.namespaces.values()) {
      stops.push(n.pods.stop(), n.events.stop());
      if (n.replicaSets) stops.push(n.replicaSets.stop());
    }
    await Promise.all(stops);
  }

  /** A list failed: before the first answer, or for lack of access, that ends tracking. */
  private onWatchError(ns: string, what: string, e: KubeError, synced: boolean): void {
    if (synced && e.reason !== 'Forbidden' && e.reason !== 'Unauthorized') return;
    for (const t of this.tracked) {
      if (t.target.namespace === ns && !t.result)
        this.end(t, 'error', `Cannot watch ${what}: ${e.message}`);
    }
  }

  private onTargetError(t: Tracked, e: KubeError, synced: boolean): void {
    if (synced && e.reason !== 'Forbidden' && e.reason !== 'Unauthorized') return;
    if (!t.result) this.end(t, 'error', `Cannot watch ${describeTarget(t.target)}: ${e.message}`);
  }

  private onEvent(ns: string, name: string): void {
    const space = this.namespaces.get(ns);
    if (!space) return;
    const e = space.events.cache.get(name);
    if (!e) return;
    const at = eventTime(e);
    if (at === undefined || at < this.eventsFrom) return;
    space.recent.set(name, e);
    this.changed();
  }

  /** Something changed: evaluate once, after the current burst of watch events. */
  private changed(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.evaluateAll();
    });
  }

  private tick(): void {
    const now = this.now();
    const { timeoutMs, noActivityTimeoutMs = DEFAULT_NO_ACTIVITY_MS } = this.o;
    if (timeoutMs && now - this.started >= timeoutMs) {
      this.stopAll('timeout', `timed out after ${seconds(timeoutMs)}`);
      return;
    }
    if (!this.o.follow && noActivityTimeoutMs && now - this.lastActivity >= noActivityTimeoutMs) {
      this.stopAll('timeout', `no activity for ${seconds(noActivityTimeoutMs)}`);
      return;
    }
    this.evaluateAll();
  }

  private stopAll(outcome: Outcome, why: string): void {
    for (const t of this.tracked) {
      if (t.result) continue;
      this.end(t, outcome, `${why}; last status: ${t.lastMessage}`);
    }
  }

  private evaluateAll(): void {
    for (const t of this.tracked) if (!t.result) this.evaluate(t);
  }

  private evaluate(t: Tracked): void {
    if (!t.synced || !t.watch) return;
    const { target } = t;
    const obj = t.watch.cache.get(target.name);
    if (!obj) {
      if (t.seen) this.end(t, 'deleted', `${describeTarget(target)} was deleted`);
      else this.end(t, 'not-found', `${describeTarget(target)} does not exist`);
      return;
    }
    t.seen = true;
    if (t.uid !== obj.metadata.uid) {
      t.uid = obj.metadata.uid;
      t.problems.clear();
      t.counted = 0;
    }
    const space = this.namespaces.get(target.namespace)!;
    const tree = treeOf(
      target.kind,
      obj,
      space.replicaSets?.cache.values() ?? [],
      space.pods.cache.values(),
    );
    t.tree = tree;
    const newPods = new Map(tree.newPods.map((p) => [p.metadata.uid ?? '', p]));
    const now = this.now();
    const problems: Problem[] = [];
    for (const p of tree.newPods) {
      problems.push(
        ...podProblems(p, {
          now,
          unschedulableGraceMs: this.o.unschedulableGraceMs ?? DEFAULT_UNSCHEDULABLE_GRACE_MS,
        }),
      );
    }
    const recent = [...space.recent.values()].sort(
      (a, b) => (eventTime(a) ?? 0) - (eventTime(b) ?? 0),
    );
    for (const e of recent) {
      const uid = e.involvedObject.uid ?? '';
      if (!tree.uids.has(uid)) continue;
      const id = `${e.metadata.uid ?? e.metadata.name}/${eventCount(e)}`;
      if (!t.events.has(id)) {
        t.events.add(id);
        this.activity();
        this.cb.event?.(target, {
          time: new Date(eventTime(e) ?? now).toISOString(),
          type: e.type ?? 'Normal',
          reason: e.reason ?? '',
          message: e.message ?? '',
          object: `${e.involvedObject.kind ?? '?'}/${e.involvedObject.name ?? '?'}`,
          count: eventCount(e),
        });
      }
      // Problems of old Pods are not the rollout's (kubedog counts only the new revision's).
      if (e.involvedObject.kind === 'Pod' && !newPods.has(uid)) continue;
      const v = classifyEvent(e);
      if (v.kind === 'problem') problems.push(v.problem);
      else if (v.kind === 'readiness-failure') {
        const p = readinessProblem(e, newPods.get(uid), v.container);
        if (p) problems.push(p);
      }
    }
    const verdict = verdictOf(target.kind, obj);
    const replicas = replicasOf(target.kind, obj);
    const update: StatusUpdate = {
      state: verdict.state,
      message: verdict.message,
      ...(replicas ? { replicas } : {}),
      pods: tree.pods.map((p) => summary(p, newPods.has(p.metadata.uid ?? ''))),
    };
    const text = JSON.stringify(update);
    if (text !== t.status) {
      t.status = text;
      t.lastMessage = update.message;
      this.activity();
      this.cb.status?.(target, update);
    }
    if (this.o.logs ?? true) this.followLogs(t, tree.newPods);
    const failure = this.failure(t, problems);
    if (this.o.follow) {
      if (verdict.state === 'ready' && !t.wasReady) {
        this.cb.ready?.(target, this.result(t, 'ready', verdict.message));
      }
      t.wasReady = verdict.state === 'ready';
      return;
    }
    if (failure) {
      this.end(t, 'failed', `${describeTarget(target)} failed: ${failure.message}`, failure.reason);
    } else if (verdict.state === 'failed') {
      this.end(
        t,
        'failed',
        `${describeTarget(target)} failed: ${verdict.reason ?? 'Failed'}: ${verdict.message}`,
        verdict.reason,
      );
    } else if (verdict.state === 'ready') {
      this.end(t, 'ready', verdict.message);
    }
  }

  /** Records new problems; returns the one that fails the object, if any. */
  private failure(t: Tracked, problems: Problem[]): Problem | undefined {
    const allowed = this.o.allowFailures ?? 0;
    let failing: Problem | undefined;
    for (const p of problems) {
      if (t.problems.has(p.key)) continue;
      t.problems.set(p.key, p);
      this.activity();
      if (p.fatal) {
        failing ??= p;
        continue;
      }
      t.counted++;
      if (t.counted > allowed) failing ??= p;
      else {
        this.cb.warning?.(
          t.target,
          `${t.counted} of ${allowed} allowed failures: ${p.reason}: ${p.message}`,
        );
      }
    }
    return failing;
  }

  private followLogs(t: Tracked, pods: Pod[]): void {
    const wanted = new Set<string>();
    const only = this.o.containers;
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      const statuses = [
        ...(p.status?.initContainerStatuses ?? []),
        ...(p.status?.containerStatuses ?? []),
      ];
      for (const c of statuses) {
        if (only && !only.includes(c.name)) continue;
        if (!c.state?.running && !c.state?.terminated && !c.lastState?.terminated) continue;
        const key = `${p.metadata.name}/${c.name}`;
        wanted.add(key);
        let follower = t.logs.get(key);
        if (!follower) {
          follower = new ContainerLogs({
            http: this.o.http,
            namespace: t.target.namespace,
            pod: p.metadata.name,
            container: c.name,
            sinceMs: this.started,
            onLine: (l) => this.cb.log?.(t.target, l),
            onTrouble: (m) => this.cb.warning?.(t.target, m),
          });
          t.logs.set(key, follower);
          follower.start();
        }
        follower.seenRestarts(c.restartCount ?? 0);
      }
    }
    for (const [key, follower] of t.logs) {
      if (!wanted.has(key)) {
        t.logs.delete(key);
        void follower.stop();
      }
    }
  }

  private activity(): void {
    this.lastActivity = this.now();
  }

  private result(t: Tracked, outcome: Outcome, message: string, reason?: string): Result {
    return {
      target: t.target,
      outcome,
      message,
      ...(reason ? { reason } : {}),
      durationMs: this.now() - this.started,
    };
  }

  private end(t: Tracked, outcome: Outcome, message: string, reason?: string): void {
    if (t.result) return;
    const r = this.result(t, outcome, message, reason);
    t.result = r;
    for (const l of t.logs.values()) void l.stop();
    t.logs.clear();
    if (outcome === 'ready') this.cb.ready?.(t.target, r);
    else if (outcome === 'failed') this.cb.failed?.(t.target, r);
    else this.cb.done?.(t.target, r);
    if (outcome === 'failed' && (this.o.failMode ?? 'fail-fast') === 'fail-fast') {
      this.stopAll('stopped', `stopped because ${describeTarget(t.target)} failed`);
    }
    if (this.tracked.every((x) => x.result)) this.finish();
  }
}

function summary(p: Pod, isNew: boolean): PodSummary {
  return {
    name: p.metadata.name,
    status: podDisplayStatus(p),
    ready: podReadyCount(p),
    restarts: podRestarts(p),
    ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
    new: isNew,
  };
}

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 100) / 10}s`;
}
