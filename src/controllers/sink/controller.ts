// The Sink controller: starts, reconfigures and stops one delivery runner per Sink, positions each
// Sink's cursor as its startFrom says, and reports delivery in the Sink's status.
//
// A reconcile reads what the spec refers to (Secrets in the operator's namespace, HistoryPolicies,
// namespace labels), compiles the spec, and hands the runner its settings; it runs when a Sink
// changes and every resync, which is how a changed Secret is picked up. The status is refreshed
// separately, at most every statusIntervalMs per Sink, from the runner's state.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  GROUP,
  HISTORY_POLICY_PLURAL,
  VERSION,
  type HistoryPolicy,
  type HistoryPolicySpec,
} from '../../api/history-policy.ts';
import { SINK_PLURAL, type LostRange, type Sink, type SinkStatus } from '../../api/sink.ts';
import { toKubeError } from '../../kube/errors.ts';
import type { KubeHttp } from '../../kube/http.ts';
import { ListWatch } from '../../kube/list-watch.ts';
import type { Logger } from '../../log.ts';
import {
  done,
  requeueAfter,
  runWorkers,
  WorkQueue,
  type Result,
} from '../../runtime/work-queue.ts';
import {
  compileSink,
  isCredentialProblem,
  needsNamespaceLabels,
  secretNames,
  type Problem,
  type SecretLookup,
  type SinkSettings,
} from '../../sinks/config.ts';
import { createDestination } from '../../sinks/destinations/index.ts';
import type { EncoderPool } from '../../sinks/encoder-pool.ts';
import { SinkRunner, type SinkMetrics } from '../../sinks/runner.ts';
import type { SinkStore } from '../../store/sinks.ts';
import { statusChanged } from '../history-policy/status.ts';
import { buildSinkStatus } from './status.ts';

const SINKS_PATH = `/apis/${GROUP}/${VERSION}/${SINK_PLURAL}`;
const POLICIES_PATH = `/apis/${GROUP}/${VERSION}/${HISTORY_POLICY_PLURAL}`;

export interface SinkControllerOptions {
  kc: KubeConfig;
  http: KubeHttp;
  store: SinkStore;
  encoder: EncoderPool;
  /** The newest sequence number recorded. */
  head: () => number;
  log: Logger;
  metrics: SinkMetrics;
  /** Name of this cluster in exported records and batch identities. */
  cluster: string;
  /** The operator's namespace: where Secrets are read. */
  namespace: string;
  /** How often each Sink is reconciled again (Secrets, policies, namespaces re-read). */
  resyncMs?: number;
  /** Least time between two status patches of one Sink. */
  statusIntervalMs?: number;
  /** Passed to runners: how often an idle one looks at the head. */
  pollMs?: number;
  now?: () => number;
}

interface Running {
  uid: string;
  runner: SinkRunner;
  /** The settings it runs with, as text: a reconcile with other settings reconfigures it. */
  key: string;
  destination: string;
}

interface Known {
  generation: number;
  specProblems: Problem[];
  credentialProblems: Problem[];
  usesSecrets: boolean;
  settings: SinkSettings | null;
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString();
  return out;
}

export class SinkController {
  private readonly o: SinkControllerOptions;
  private readonly queue = new WorkQueue<string>();
  private readonly sinks: ListWatch<Sink>;
  private readonly running = new Map<string, Running>();
  private readonly known = new Map<string, Known>();
  private readonly statusAt = new Map<string, number>();
  private readonly lostTotals = new Map<string, number>();
  private statusTimer: NodeJS.Timeout | null = null;
  private statusRun: Promise<void> | null = null;
  private workers: Promise<void> | null = null;
  private stopped = false;

  constructor(opts: SinkControllerOptions) {
    this.o = opts;
    this.sinks = new ListWatch<Sink>({
      kc: opts.kc,
      http: opts.http,
      path: SINKS_PATH,
      what: 'Sinks',
      log: opts.log,
      onChange: (name) => this.queue.add(name),
      onSynced: () => this.forgetDeleted(),
    });
  }

  start(): void {
    this.sinks.start();
    this.workers = runWorkers(this.queue, 1, (name) => this.reconcile(name), {
      onError: (name, err, retry) =>
        this.o.log.warn('Reconcile failed; retrying', {
          sink: name,
          error: err.message,
          retryInMs: retry.retryInMs,
        }),
    });
    const interval = this.o.statusIntervalMs ?? 5000;
    this.statusTimer = setInterval(() => {
      this.statusRun ??= this.refreshStatuses().finally(() => (this.statusRun = null));
    }, interval);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.sinks.stop();
    await this.queue.shutDown();
    await this.workers;
    await this.statusRun;
    await Promise.all([...this.running.values()].map((r) => r.runner.stop()));
    this.running.clear();
  }

  /** Cursors of Sinks deleted while the operator was not running. */
  private forgetDeleted(): void {
    const uids = new Set([...this.sinks.cache.values()].map((s) => s.metadata.uid));
    for (const c of this.o.store.cursors()) {
      if (uids.has(c.sinkUid)) continue;
      if ([...this.running.values()].some((r) => r.uid === c.sinkUid)) continue;
      this.o.store.remove(c.sinkUid);
      this.o.log.info('Removed the cursor of a deleted Sink', { sink: c.name });
    }
  }

  private async reconcile(name: string): Promise<Result> {
    const { log, store } = this.o;
    const obj = this.sinks.cache.get(name);
    const current = this.running.get(name);
    if (!obj || (current && current.uid !== obj.metadata.uid)) {
      if (current) {
        await current.runner.stop();
        this.running.delete(name);
        store.remove(current.uid);
        this.o.metrics.forget(name);
        this.known.delete(name);
        log.info('Stopped exporting: the Sink was deleted', { sink: name });
      }
      if (!obj) return done;
    }
    const uid = obj.metadata.uid ?? '';
    const generation = obj.metadata.generation ?? 0;
    const spec = obj.spec;
    const names = secretNames(spec);
    const secrets = new Map<string, SecretLookup>();
    for (const n of names) secrets.set(n, await this.readSecret(n));
    const policies = new Map<string, HistoryPolicySpec>();
    for (const p of spec.policies ?? []) {
      const found = await this.readPolicy(p);
      if (found) policies.set(p, found);
    }
    const namespaceLabels = needsNamespaceLabels(spec, policies)
      ? await this.namespaceLabels()
      : null;
    const compiled = compileSink(spec, {
      secrets,
      policies,
      namespaceLabels,
      namespace: this.o.namespace,
    });
    const known: Known = {
      generation,
      specProblems: compiled.problems.filter((p) => !isCredentialProblem(p)),
      credentialProblems: compiled.problems.filter(isCredentialProblem),
      usesSecrets: names.length > 0,
      settings: compiled.settings,
    };
    this.known.set(name, known);
    const run = this.running.get(name);

    if (!compiled.settings) {
      if (run) {
        await run.runner.stop();
        this.running.delete(name);
        log.warn('Stopped exporting until the Sink is fixed', {
          sink: name,
          problems: compiled.problems.map((p) => `${p.field}: ${p.message}`),
        });
      }
    } else {
      await this.apply(name, uid, compiled.settings, run);
    }
    await this.updateStatus(name, true);
    return requeueAfter(this.o.resyncMs ?? 15_000);
  }

  /** Positions the cursor (when new or startFrom changed) and runs the runner with `s`. */
  private async apply(
    name: string,
    uid: string,
    s: SinkSettings,
    run: Running | undefined,
  ): Promise<void> {
    const { store, log } = this.o;
    let cursor = store.cursor(uid);
    if (!cursor || cursor.startFrom !== s.startFrom) {
      if (run) {
        await run.runner.stop();
        this.running.delete(name);
        run = undefined;
      }
      const head = this.o.head();
      const seq =
        s.startFrom === 'now'
          ? head
          : s.startFrom === 'beginning'
            ? 0
            : store.seqBefore(Date.parse(s.startFrom), head);
      cursor = store.position(uid, name, s.startFrom, seq);
      this.lostTotals.delete(uid);
      log.info('Positioned the Sink', { sink: name, startFrom: s.startFrom, after: seq, head });
    }
    const key = JSON.stringify(s);
    if (run && run.key === key) return;
    const destination = createDestination(s.destination);
    const config = {
      uid,
      name,
      cluster: this.o.cluster,
      filter: s.filter,
      maxRecords: s.maxRecords,
      maxBytes: s.maxBytes,
      maxDelayMs: s.maxDelayMs,
      delivery: s.delivery,
      destination,
    };
    if (run) {
      run.runner.reconfigure(config);
      run.key = key;
      run.destination = destination.describe;
      log.info('Reconfigured the Sink', { sink: name, destination: destination.describe });
      return;
    }
    const runner = new SinkRunner(config, {
      store,
      encoder: this.o.encoder,
      head: this.o.head,
      log: log.child({ sink: name }),
      metrics: this.o.metrics,
      onChange: () => undefined,
      ...(this.o.now ? { now: this.o.now } : {}),
      ...(this.o.pollMs !== undefined ? { pollMs: this.o.pollMs } : {}),
    });
    runner.start();
    this.running.set(name, { uid, runner, key, destination: destination.describe });
    log.info('Exporting', {
      sink: name,
      destination: destination.describe,
      delivery: s.delivery,
      cursor: cursor.ackedSeq,
    });
  }

  private async refreshStatuses(): Promise<void> {
    for (const name of [...this.known.keys()]) {
      if (this.stopped) return;
      try {
        await this.updateStatus(name, false);
      } catch (err) {
        this.o.log.warn('Updating the Sink status failed; retrying', {
          sink: name,
          error: (err as Error).message,
        });
      }
    }
  }

  /** Patches the status when it changed; unless `now`, at most every statusIntervalMs. */
  private async updateStatus(name: string, now: boolean): Promise<void> {
    const obj = this.sinks.cache.get(name);
    const known = this.known.get(name);
    if (!obj || !known) return;
    const t = (this.o.now ?? Date.now)();
    if (!now && t - (this.statusAt.get(name) ?? 0) < (this.o.statusIntervalMs ?? 5000)) return;
    const uid = obj.metadata.uid ?? '';
    const run = this.running.get(name);
    const cursor = this.o.store.cursor(uid);
    let pending: number | null = null;
    if (cursor && known.settings) {
      pending = await this.o.encoder
        .count(cursor.ackedSeq, this.o.head(), known.settings.filter)
        .catch(() => null);
      if (pending !== null) this.o.metrics.pending(name, pending);
    }
    const lost: LostRange[] = this.o.store.losses(uid).map((l) => ({
      fromSeq: l.fromSeq,
      toSeq: l.toSeq,
      records: l.records,
      reason: l.reason,
      time: new Date(l.time).toISOString(),
    }));
    const lostTotal = lost.reduce((n, l) => n + l.records, 0);
    const seen = this.lostTotals.get(uid) ?? 0;
    if (lostTotal > seen) {
      this.o.metrics.lost(name, lostTotal - seen);
      this.o.log.warn('Retention removed records before this Sink delivered them', {
        sink: name,
        records: lostTotal - seen,
      });
    }
    this.lostTotals.set(uid, lostTotal);
    const status = buildSinkStatus({
      generation: known.generation,
      specProblems: known.specProblems,
      credentialProblems: known.credentialProblems,
      usesSecrets: known.usesSecrets,
      destination: run?.destination ?? null,
      runner:
        run && cursor
          ? {
              cursor: cursor.ackedSeq,
              delivered: cursor.delivered,
              lastDeliveryTime: cursor.lastTime,
              failure: run.runner.state.failure,
            }
          : null,
      pending,
      lost,
      previous: obj.status,
      now: new Date(t),
    });
    this.statusAt.set(name, t);
    if (!statusChanged<SinkStatus>(obj.status, status)) return;
    try {
      const updated = await this.o.http.mergePatch<Sink>(`${SINKS_PATH}/${name}/status`, {
        status,
      });
      // A watch event may have brought a newer object meanwhile; keep the newer one.
      const cached = this.sinks.cache.get(name);
      if (cached && cached.metadata.uid === updated.metadata.uid)
        this.sinks.cache.set(name, { ...cached, status: updated.status });
    } catch (err) {
      const e = toKubeError(err, `patch status of Sink ${name}`);
      if (e.reason !== 'NotFound') throw e;
    }
  }

  private async readSecret(name: string): Promise<SecretLookup> {
    const ns = this.o.namespace;
    try {
      const s = await this.o.http.get<{
        data?: Record<string, string>;
        metadata: { resourceVersion: string };
      }>(`/api/v1/namespaces/${ns}/secrets/${name}`);
      return {
        found: true,
        data: decodeSecret(s.data),
        resourceVersion: s.metadata.resourceVersion,
      };
    } catch (err) {
      const e = toKubeError(err, `get Secret ${ns}/${name}`);
      if (e.reason === 'NotFound')
        return { found: false, message: `Secret ${ns}/${name} does not exist` };
      if (e.reason === 'Forbidden')
        return {
          found: false,
          message: `the operator may not read Secret ${ns}/${name}; its Role grants get on Secrets in ${ns} only`,
        };
      throw e;
    }
  }

  private async readPolicy(name: string): Promise<HistoryPolicySpec | null> {
    try {
      return (await this.o.http.get<HistoryPolicy>(`${POLICIES_PATH}/${name}`)).spec;
    } catch (err) {
      const e = toKubeError(err, `get HistoryPolicy ${name}`);
      if (e.reason === 'NotFound') return null;
      throw e;
    }
  }

  private async namespaceLabels(): Promise<Map<string, Record<string, string>>> {
    const list = await this.o.http.get<{
      items: { metadata: { name: string; labels?: Record<string, string> } }[];
    }>('/api/v1/namespaces');
    return new Map(list.items.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  }
}
