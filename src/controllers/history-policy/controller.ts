// The HistoryPolicy controller: turns the policies in the cluster into the recorder's policies
// and watch set, and reports what it did in each policy's status.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  GROUP,
  HISTORY_POLICY_PLURAL,
  VERSION,
  type HistoryPolicy,
  type ResourceStatus,
} from '../../api/history-policy.ts';
import type { Discovery, ResolvedKind } from '../../kube/discovery.ts';
import { toKubeError } from '../../kube/errors.ts';
import type { KubeHttp } from '../../kube/http.ts';
import { ListWatch } from '../../kube/list-watch.ts';
import type { Logger } from '../../log.ts';
import { compilePolicy, type CompiledPolicy } from '../../recorder/policy.ts';
import type { Recorder } from '../../recorder/recorder.ts';
import {
  desiredWatches,
  EVENTS,
  watchKey,
  type WatchSet,
  type WatchStatus,
} from '../../recorder/watch-set.ts';
import {
  done,
  requeueAfter,
  runWorkers,
  WorkQueue,
  type Result,
} from '../../runtime/work-queue.ts';
import type { HistoryReader } from '../../store/reader.ts';
import { buildStatus, statusChanged } from './status.ts';

const POLICIES_PATH = `/apis/${GROUP}/${VERSION}/${HISTORY_POLICY_PLURAL}`;

export interface ControllerMetrics {
  reconciled(seconds: number, ok: boolean): void;
}

export interface HistoryPolicyControllerOptions {
  kc: KubeConfig;
  http: KubeHttp;
  discovery: Discovery;
  recorder: Recorder;
  watchSet: WatchSet;
  reader: HistoryReader;
  log: Logger;
  metrics?: ControllerMetrics;
  /** How often a healthy policy's status is refreshed (counts). */
  resyncMs?: number;
  /** How soon a policy with a missing kind or a pending watch is looked at again. */
  retryMs?: number;
  now?: () => Date;
}

interface Applied {
  policy: CompiledPolicy;
  kinds: ResolvedKind[];
  unresolved: ResourceStatus[];
  problems: { rules: string[]; spec: string[] };
}

export class HistoryPolicyController {
  private readonly o: HistoryPolicyControllerOptions;
  private readonly queue = new WorkQueue<string>();
  private readonly policies: ListWatch<HistoryPolicy>;
  private readonly applied = new Map<string, Applied>();
  private workers: Promise<void> | null = null;

  constructor(opts: HistoryPolicyControllerOptions) {
    this.o = opts;
    this.policies = new ListWatch<HistoryPolicy>({
      kc: opts.kc,
      http: opts.http,
      path: POLICIES_PATH,
      what: 'HistoryPolicies',
      log: opts.log,
      onChange: (name) => this.queue.add(name),
      // A policy deleted while no watch ran is no longer listed: unapply it.
      onSynced: () => {
        for (const name of this.applied.keys()) this.queue.add(name);
      },
    });
  }

  /** True once the policies have been listed at least once. */
  get hasSynced(): boolean {
    return this.policies.hasSynced;
  }

  /** The cached policies by name. */
  private get cache(): Map<string, HistoryPolicy> {
    return this.policies.cache;
  }

  start(): void {
    const { log } = this.o;
    this.policies.start();
    // One worker: reconciles share the watch set, so they run one at a time.
    this.workers = runWorkers(this.queue, 1, (name) => this.reconcile(name), {
      onError: (name, err, retry) =>
        log.warn('Reconcile failed; retrying', {
          policy: name,
          error: err.message,
          retryInMs: retry.retryInMs,
        }),
    });
  }

  async stop(): Promise<void> {
    await this.policies.stop();
    await this.queue.shutDown();
    await this.workers;
  }

  /** Reconciles every policy soon, e.g. after a watch changed state. */
  requeueAll(): void {
    for (const name of this.cache.keys()) this.queue.add(name);
  }

  private async reconcile(name: string): Promise<Result> {
    const started = performance.now();
    try {
      const r = await this.reconcileOnce(name);
      this.o.metrics?.reconciled((performance.now() - started) / 1000, true);
      return r;
    } catch (err) {
      this.o.metrics?.reconciled((performance.now() - started) / 1000, false);
      throw err;
    }
  }

  private async reconcileOnce(name: string): Promise<Result> {
    const { discovery, log } = this.o;
    const obj = this.cache.get(name);
    if (!obj) {
      if (this.applied.delete(name)) {
        log.info('Removed policy; its history stays until retention removes it', { policy: name });
        await this.applyWatchSet();
      }
      return done;
    }
    const generation = obj.metadata.generation ?? 0;
    const { policy, ruleProblems, problems } = compilePolicy(name, generation, obj.spec);
    const kinds: ResolvedKind[] = [];
    const unresolved: ResourceStatus[] = [];
    for (const sel of obj.spec.resources ?? []) {
      for (const kind of sel.kinds ?? []) {
        const res = await discovery.resolve(sel.group ?? '', kind);
        if ('found' in res) kinds.push(res.found);
        else if ('notFound' in res)
          unresolved.push({
            group: sel.group ?? '',
            kind,
            state: 'KindNotFound',
            message: res.notFound,
          });
        else unresolved.push({ group: sel.group ?? '', kind, state: 'Error', message: res.error });
      }
    }
    this.applied.set(name, {
      policy,
      kinds,
      unresolved,
      problems: {
        rules: ruleProblems.map((p) => p.message),
        spec: problems.map((p) => `${p.field}: ${p.message}`),
      },
    });
    await this.applyWatchSet();

    const resources = [...kinds.map((k) => this.resourceStatus(policy, k)), ...unresolved];
    if (policy.events) resources.push({ ...this.resourceStatus(policy, EVENTS) });
    const counts = this.o.reader.policyCounts(name);
    const status = buildStatus({
      generation,
      ruleProblems: this.applied.get(name)?.problems.rules ?? [],
      specProblems: this.applied.get(name)?.problems.spec ?? [],
      resources,
      recorded: {
        changes: counts.changes,
        events: counts.events,
        excluded: counts.excluded,
        ruleErrors: counts.ruleErrors,
        ...(counts.lastRecorded !== null
          ? { lastRecordedTime: new Date(counts.lastRecorded).toISOString() }
          : {}),
      },
      previous: obj.status,
      now: this.o.now?.() ?? new Date(),
    });
    if (statusChanged(obj.status, status)) {
      try {
        const updated = await this.o.http.mergePatch<HistoryPolicy>(
          `${POLICIES_PATH}/${name}/status`,
          { status },
        );
        this.cache.set(name, updated);
        log.debug('Updated policy status', { policy: name, generation });
      } catch (err) {
        const e = toKubeError(err, `patch status of HistoryPolicy ${name}`);
        if (e.reason === 'NotFound') return done;
        throw e;
      }
    }
    const settled = resources.every((r) => r.state === 'Watching');
    return requeueAfter(settled ? (this.o.resyncMs ?? 30_000) : (this.o.retryMs ?? 5_000));
  }

  private async applyWatchSet(): Promise<void> {
    const all = [...this.applied.values()];
    this.o.recorder.setPolicies(all.map((a) => a.policy));
    await this.o.watchSet.update(
      desiredWatches(all.map((a) => ({ policy: a.policy, kinds: a.kinds }))),
    );
  }

  private resourceStatus(policy: CompiledPolicy, k: ResolvedKind): ResourceStatus {
    const scopes = k.namespaced && policy.include ? [...policy.include] : [null];
    const statuses = scopes.map((ns) => {
      // The watch may be shared at a wider scope than this policy's.
      return this.o.watchSet.status(watchKey(k, ns)) ?? this.o.watchSet.status(watchKey(k, null));
    });
    const worst = pickWorst(statuses);
    const base = { group: k.group, kind: k.kind, version: k.version, resource: k.resource };
    const objects =
      k.kind === 'Event'
        ? undefined
        : this.o.reader.countAlive(k.group, k.resource, policy.include);
    const withObjects = objects === undefined ? {} : { objects };
    if (!worst || worst.state === 'Pending' || worst.state === 'Listing') {
      return { ...base, state: 'Pending', message: worst?.message ?? 'starting', ...withObjects };
    }
    if (worst.state === 'Watching') return { ...base, state: 'Watching', ...withObjects };
    if (worst.state === 'Forbidden') {
      const group = k.group === '' ? '""' : k.group;
      return {
        ...base,
        state: 'Forbidden',
        message: `the operator may not list and watch ${k.resource} in API group ${group} (${worst.message}); grant list and watch on it, for example with a ClusterRole labelled hindsight.dev/aggregate-to-watch: "true"`,
        ...withObjects,
      };
    }
    if (worst.state === 'NotFound')
      return { ...base, state: 'KindNotFound', message: worst.message, ...withObjects };
    return { ...base, state: 'Error', message: worst.message, ...withObjects };
  }
}

const RANK: Record<WatchStatus['state'], number> = {
  Watching: 0,
  Pending: 1,
  Listing: 1,
  Error: 2,
  NotFound: 3,
  Forbidden: 4,
};

function pickWorst(statuses: (WatchStatus | undefined)[]): WatchStatus | undefined {
  let worst: WatchStatus | undefined;
  for (const s of statuses) {
    if (!s) return undefined;
    if (!worst || RANK[s.state] > RANK[worst.state]) worst = s;
  }
  return worst;
}
