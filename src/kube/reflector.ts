// The reflector: keeps one resource (in one scope) flowing into the recorder without gaps or
// duplicates. It lists in pages, watches with bookmarks from the last recorded resourceVersion,
// relists on 410 Gone, retries other errors with jittered exponential backoff, and never keeps
// objects beyond the small buffer it hands to the recorder. When the recorder falls behind, the
// buffer reaches its high-water mark and the watch is closed; it is reopened from the last
// buffered resourceVersion once the buffer has drained (backpressure without loss).
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { KubeError, toKubeError } from './errors.ts';
import type { KubeHttp } from './http.ts';
import { sleep } from '../runtime/sleep.ts';

export interface WatchTarget {
  /** Stable identity of this watch, e.g. `apps/deployments` or `/pods@shop`. */
  key: string;
  group: string;
  version: string;
  kind: string;
  resource: string;
  /** null watches every namespace (or a cluster-scoped resource). */
  namespace: string | null;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    uid?: string;
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type ReflectorItem =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC'; object: KubeObject; time: number }
  | { type: 'BOOKMARK'; rv: string; time: number }
  | {
      type: 'RELIST_DONE';
      rv: string;
      /** uids of every object the list returned. */
      seen: Set<string>;
      time: number;
      /** Set when history between `gap.start` and now may be incomplete. */
      gap: { start: number; reason: string } | null;
    };

export type ReflectorState = 'Watching' | 'Listing' | 'Forbidden' | 'NotFound' | 'Error';

export interface ReflectorMetrics {
  watchRestart(key: string, reason: string): void;
  relist(key: string, reason: string): void;
  listDuration(key: string, seconds: number): void;
}

export interface ReflectorOptions {
  kc: KubeConfig;
  http: KubeHttp;
  target: WatchTarget;
  /** Hands items to the recorder; resolves once they are committed. Must not reject. */
  sink: (target: WatchTarget, items: ReflectorItem[]) => Promise<void>;
  /** The checkpoint of this watch, if any: where to resume and when it was last current. */
  checkpoint: () => { rv: string; time: number } | undefined;
  log: Logger;
  metrics?: ReflectorMetrics;
  onState?: (state: ReflectorState, message: string) => void;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  pageSize?: number;
  highWater?: number;
  chunk?: number;
  /** Backoff base and cap in ms. */
  backoff?: { base: number; cap: number };
}

const noMetrics: ReflectorMetrics = { watchRestart() {}, relist() {}, listDuration() {} };

/** The API path of a resource in a scope. */
export function resourcePath(t: WatchTarget): string {
  const base = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  return t.namespace === null
    ? `${base}/${t.resource}`
    : `${base}/namespaces/${t.namespace}/${t.resource}`;
}

interface WatchEnd {
  rv: string;
  reason: 'closed' | 'idle' | 'expired' | 'backpressure' | 'stopped';
  error?: KubeError;
}

export class Reflector {
  private readonly o: Required<Omit<ReflectorOptions, 'metrics' | 'onState'>> &
    Pick<ReflectorOptions, 'onState'> & { metrics: ReflectorMetrics };
  private readonly stopCtl = new AbortController();
  private buffer: ReflectorItem[] = [];
  private pumping: Promise<void> | null = null;
  private watchCtl: AbortController | null = null;
  private running: Promise<void> | null = null;
  /** When this watch was last known to be current (an event, a bookmark or a list). */
  private lastCurrent: number | null = null;
  private state: ReflectorState | null = null;

  constructor(opts: ReflectorOptions) {
    this.o = {
      now: Date.now,
      sleep,
      random: Math.random,
      pageSize: 500,
      highWater: 5000,
      chunk: 500,
      backoff: { base: 500, cap: 60_000 },
      ...opts,
      metrics: opts.metrics ?? noMetrics,
    };
  }

  get target(): WatchTarget {
    return this.o.target;
  }

  start(): void {
    this.running ??= this.run().catch((err: unknown) => {
      this.o.log.error('Reflector stopped unexpectedly', { watch: this.o.target.key, error: err });
    });
  }

  /** Stops watching and waits until every buffered item has been handed to the recorder. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.watchCtl?.abort();
    await this.running;
    await this.drain();
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private setState(state: ReflectorState, message: string): void {
    if (state === this.state) return;
    this.state = state;
    this.o.onState?.(state, message);
  }

  private async run(): Promise<void> {
    const { target, log } = this.o;
    const cp = this.o.checkpoint();
    let rv = cp?.rv;
    this.lastCurrent = cp?.time ?? null;
    let relistReason: string | null = rv === undefined ? 'Initial' : null;
    let attempt = 0;
    while (!this.stopped) {
      try {
        if (relistReason !== null || rv === undefined) {
          const reason = relistReason ?? 'Initial';
          // A relist after a checkpoint cannot see what happened since then: that is a gap.
          const gap =
            reason === 'Initial' || this.lastCurrent === null
              ? null
              : { start: this.lastCurrent, reason };
          rv = await this.list(reason, gap);
          relistReason = null;
        }
        const end = await this.watchOnce(rv);
        rv = end.rv;
        if (end.error) throw end.error;
        attempt = 0;
        if (end.reason === 'expired') {
          log.info('Watch expired; relisting', { watch: target.key, rv });
          relistReason = 'ResourceVersionExpired';
          await this.drain();
        } else if (end.reason === 'backpressure') {
          await this.drain();
        }
        if (end.reason !== 'stopped') this.o.metrics.watchRestart(target.key, end.reason);
      } catch (err) {
        if (this.stopped) break;
        const e = toKubeError(err, `watch ${target.key}`);
        if (e.reason === 'Gone') {
          relistReason = 'ResourceVersionExpired';
          continue;
        }
        const delay = this.backoffDelay(attempt++);
        if (e.reason === 'Forbidden') this.setState('Forbidden', e.message);
        else if (e.reason === 'NotFound') this.setState('NotFound', e.message);
        else this.setState('Error', e.message);
        this.o.metrics.watchRestart(target.key, 'error');
        log.warn('Watch failed; retrying', {
          watch: target.key,
          reason: e.reason,
          error: e.message,
          retryInMs: delay,
        });
        await this.o.sleep(delay, this.stopCtl.signal);
      }
    }
  }

  private backoffDelay(attempt: number): number {
    const { base, cap } = this.o.backoff;
    const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
    // Equal jitter: half fixed, half random, so many watches failing at once spread out.
    return Math.round(ceiling / 2 + (this.o.random() * ceiling) / 2);
  }

  /** Lists every object in pages; returns the list's resourceVersion. */
  private async list(
    reason: string,
    gap: { start: number; reason: string } | null,
  ): Promise<string> {
    const { target, http } = this.o;
    const started = this.o.now();
    this.o.metrics.relist(target.key, reason);
    const apiVersion = target.group === '' ? target.version : `${target.group}/${target.version}`;
    for (;;) {
      const seen = new Set<string>();
      let cont: string | undefined;
      let listRv = '';
      try {
        do {
          const page = await http.get<{
            metadata?: { continue?: string; resourceVersion?: string };
            items?: KubeObject[];
          }>(resourcePath(target), { limit: this.o.pageSize, continue: cont }, this.stopCtl.signal);
          // Only once the server answered: a retry of a failing watch stays failing (and keeps
          // when it began to fail, which readiness counts from) until it really lists.
          this.setState('Listing', `listing ${target.resource}`);
          const time = this.o.now();
          for (const item of page.items ?? []) {
            item.apiVersion ??= apiVersion;
            item.kind ??= target.kind;
            const uid = item.metadata?.uid;
            if (uid) seen.add(uid);
            this.buffer.push({ type: 'SYNC', object: item, time });
          }
          await this.drain();
          cont = page.metadata?.continue || undefined;
          listRv = page.metadata?.resourceVersion ?? listRv;
        } while (cont && !this.stopped);
      } catch (err) {
        const e = toKubeError(err, `list ${target.key}`);
        // The continue token expired (compaction): start the list again.
        if (e.reason === 'Gone' && cont) continue;
        throw e;
      }
      if (this.stopped) return listRv;
      const time = this.o.now();
      this.buffer.push({ type: 'RELIST_DONE', rv: listRv, seen, time, gap });
      await this.drain();
      this.lastCurrent = time;
      this.o.metrics.listDuration(target.key, (time - started) / 1000);
      return listRv;
    }
  }

  private watchOnce(rv: string): Promise<WatchEnd> {
    const { target, kc } = this.o;
    return new Promise<WatchEnd>((resolve) => {
      let lastRv = rv;
      let reason: WatchEnd['reason'] | null = null;
      let error: KubeError | undefined;
      const ctlHolder = { ctl: null as AbortController | null };
      const finish = (why: WatchEnd['reason']) => {
        reason ??= why;
        ctlHolder.ctl?.abort();
      };
      const onEvent = (type: string, obj: KubeObject & { code?: number; message?: string }) => {
        if (reason !== null) return;
        const time = this.o.now();
        if (type === 'ERROR') {
          if (obj.code === 410) finish('expired');
          else {
            error = new KubeError(
              `watch ${target.key}: ${obj.message ?? 'error event'}`,
              obj.code === 403 ? 'Forbidden' : 'Other',
              obj.code,
            );
            finish('closed');
          }
          return;
        }
        const objRv = obj.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (objRv) this.buffer.push({ type: 'BOOKMARK', rv: objRv, time });
        } else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          this.buffer.push({ type, object: obj, time });
        } else {
          return;
        }
        if (objRv) lastRv = objRv;
        this.lastCurrent = time;
        this.pump().catch((err: unknown) =>
          this.o.log.error('Handing items to the recorder failed', { error: err }),
        );
        if (this.buffer.length >= this.o.highWater) finish('backpressure');
      };
      // The client calls onDone before it resolves when the server refused the watch.
      let ended = false;
      const onDone = (err: unknown) => {
        ended = true;
        let why: WatchEnd['reason'] = reason ?? 'closed';
        if (this.stopped) why = 'stopped';
        else if (reason === null && err) {
          if ((err as { name?: string }).name === 'TimeoutError') why = 'idle';
          else if ((err as { name?: string }).name !== 'AbortError')
            error = toKubeError(err, `watch ${target.key}`);
        }
        resolve({ rv: lastRv, reason: why, error });
      };
      const query = {
        resourceVersion: rv,
        allowWatchBookmarks: true,
        // The server ends each watch after 5-10 minutes; a new one resumes from lastRv.
        timeoutSeconds: 300 + Math.floor(this.o.random() * 300),
      };
      new Watch(kc)
        .watch(resourcePath(target), query, onEvent, onDone)
        .then((ctl) => {
          // The server accepted the watch (the request answered 200): as for Listing, not before.
          if (!ended && reason === null && !this.stopped)
            this.setState('Watching', `watching ${target.resource}`);
          ctlHolder.ctl = ctl;
          this.watchCtl = ctl;
          if (reason !== null || this.stopped) ctl.abort();
        })
        .catch((err: unknown) =>
          resolve({ rv: lastRv, reason: 'closed', error: toKubeError(err, `watch ${target.key}`) }),
        );
    });
  }

  /** Starts handing the buffer to the recorder if that is not already happening. */
  private pump(): Promise<void> {
    this.pumping ??= (async () => {
      try {
        while (this.buffer.length > 0) {
          const chunk = this.buffer.splice(0, this.o.chunk);
          await this.o.sink(this.o.target, chunk);
        }
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  /** Waits until every buffered item has been committed by the recorder. */
  private async drain(): Promise<void> {
    while (this.buffer.length > 0 || this.pumping) await this.pump();
  }
}
