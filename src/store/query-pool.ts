// The read queries on threads of their own. HistoryQueries is synchronous: run on the event loop
// that also records, a 5 s query would stall recording for 5 s. QueryPool runs it in a few worker
// threads (query-worker.ts), each with its own read-only connection (WAL lets them read while the
// recorder writes), behind the same method names returning Promises.
//
// It never piles up and no caller crowds out the others:
// - Queries about one object or one rollout (LIGHT) are answered from an index in milliseconds;
//   a thread of their own serves only them, so a one-object history never waits behind a day's
//   timeline. They may also take a general thread that is idle.
// - The other queries wait per caller (Access.caller) and the general threads take the callers
//   in turn, so a caller asking a hundred timelines delays another's one timeline by at most the
//   queries already running.
// - At most `maxQueued` queries wait in all and `maxQueuedPerCaller` per caller; more are refused
//   at once with QueryUnavailableError, which the API answers with 503.
// - A query that has not answered `timeoutMs` after it was asked fails with QueryTimeoutError;
//   if it was running, its thread is stopped and replaced, so one runaway query cannot hold a
//   thread for good.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HistoryQueries } from './queries.ts';
import { HistoryDataError } from './queries/lookups.ts';
import { QueryError, type Access, type Scope } from './queries/types.ts';
import {
  grantsNothing,
  toGrant,
  type QueryMethod,
  type QueryRequest,
  type QueryResponse,
  type WireError,
  type WorkerReady,
} from './query-wire.ts';

/** The queries' methods, answered asynchronously: what the API calls. */
export type QueryService = {
  [K in QueryMethod]: (
    ...args: Parameters<HistoryQueries[K]>
  ) => Promise<ReturnType<HistoryQueries[K]>>;
};

/** A query's answer as JSON text, serialized on its query thread. */
export class JsonText {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

/**
 * The queries answering JSON text: what the API sends. Serializing a day's timeline (tens of
 * MB) and rebuilding its objects on the event loop would stall recording as the query did.
 */
export type JsonQueryService = {
  [K in QueryMethod]: (...args: Parameters<HistoryQueries[K]>) => Promise<JsonText | undefined>;
};

/** Arguments of each method before its trailing Access. */
const ARITY: Record<QueryMethod, number> = {
  searchResources: 1,
  object: 1,
  versions: 2,
  version: 2,
  at: 2,
  diff: 3,
  events: 1,
  timeline: 1,
  namespaceState: 3,
  changes: 1,
  since: 2,
  head: 0,
  rollouts: 1,
  rollout: 1,
  scopeOf: 1,
  bundle: 1,
};

/** Queries bounded by one object or one rollout: cheap by construction, served by the light thread. */
export const LIGHT_METHODS: ReadonlySet<QueryMethod> = new Set<QueryMethod>([
  'object',
  'versions',
  'version',
  'at',
  'diff',
  'rollout',
  'head',
  'scopeOf',
]);

/** Too many queries waiting, or the pool is stopping: try again shortly. */
export class QueryUnavailableError extends Error {
  override name = 'QueryUnavailableError';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A query that did not answer in time (waiting included); it was stopped. */
export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
}

export interface QueryPoolOptions {
  /** The history database; each thread opens it read-only. */
  path: string;
  /** Query threads for any query (default 2). */
  threads?: number;
  /** Threads only for LIGHT_METHODS, kept free of long queries (default 1). */
  lightThreads?: number;
  /** Queries that may wait for a thread (default 32); more are refused. */
  maxQueued?: number;
  /** Queries one caller may have waiting (default 8); more of theirs are refused, others' not. */
  maxQueuedPerCaller?: number;
  /** From asking to answer, waiting included (default 30 s). */
  timeoutMs?: number;
  /** The largest JSON answer (default 64 MiB); a larger one fails with QueryError('limit'). */
  maxAnswerBytes?: number;
  /** The scopes history exists for: what a caller's Access is evaluated over. */
  scopes: () => Scope[];
  /** True for an Access that allows everything (no authentication): it is not evaluated. */
  allowsAll?: (access: Access) => boolean;
  /** A thread that failed outside any query (e.g. could not open the database). */
  onThreadError?: (err: Error) => void;
  /**
   * Each answered query (errors included): from asking to answer, and the CPU time its thread
   * spent, which other work on the machine does not inflate.
   */
  onAnswer?: (a: { method: QueryMethod; args: unknown[]; wallMs: number; cpuMs: number }) => void;
}

interface Job {
  req: QueryRequest;
  caller: string;
  light: boolean;
  asked: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Slot {
  /** Serves LIGHT_METHODS only. */
  light: boolean;
  /** null while the thread is being replaced. */
  worker: Worker | null;
  /**
   * The thread has opened the database. Until then queries wait in the queue, so one timing out
   * meanwhile does not stop a thread that was only starting.
   */
  ready: boolean;
  job: Job | null;
}

/** The default cap of one JSON answer: a day's timeline of a busy namespace is tens of MB. */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Threads restarted after failing outside a query wait this long, so a broken file cannot spin. */
const RESTART_DELAY_MS = 1000;

const WORKER_URL = new URL(
  `./query-worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

function fromWire(e: WireError): Error {
  let err: Error;
  if (e.name === 'QueryError' && e.field !== undefined) {
    err = new QueryError(e.field, e.message.slice(e.field.length + 1));
  } else if (e.name === 'HistoryDataError') {
    err = new HistoryDataError(e.message);
  } else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

export class QueryPool implements QueryService {
  private readonly opts: Required<
    Pick<
      QueryPoolOptions,
      | 'threads'
      | 'lightThreads'
      | 'maxQueued'
      | 'maxQueuedPerCaller'
      | 'timeoutMs'
      | 'maxAnswerBytes'
    >
  > &
    QueryPoolOptions;
  /** Light threads first: dispatch offers them light queries before the general threads. */
  private readonly slots: Slot[] = [];
  private readonly lightQueue: Job[] = [];
  /** Waiting general queries per caller; the first caller is served next (then goes last). */
  private readonly heavyQueues = new Map<string, Job[]>();
  private readonly waitingBy = new Map<string, number>();
  private waiting = 0;
  private nextId = 1;
  private closed = false;
  /** The same queries, answering JSON text. */
  readonly json: JsonQueryService;

  constructor(opts: QueryPoolOptions) {
    this.opts = {
      threads: 2,
      lightThreads: 1,
      maxQueued: 32,
      maxQueuedPerCaller: 8,
      timeoutMs: 30_000,
      maxAnswerBytes: MAX_ANSWER_BYTES,
      ...opts,
    };
    const json: Record<string, (...a: unknown[]) => Promise<JsonText | undefined>> = {};
    for (const [method, n] of Object.entries(ARITY) as [QueryMethod, number][]) {
      json[method] = async (...a) => {
        const text = (await this.call(method, a.slice(0, n), a[n] as Access, true)) as unknown;
        return typeof text === 'string' ? new JsonText(text) : undefined;
      };
    }
    this.json = json as JsonQueryService;
    for (let i = 0; i < this.opts.lightThreads + this.opts.threads; i++) {
      const slot: Slot = {
        light: i < this.opts.lightThreads,
        worker: null,
        ready: false,
        job: null,
      };
      this.slots.push(slot);
      this.attach(slot);
    }
  }

  /** Starts a thread for `slot`. */
  private attach(slot: Slot): void {
    const worker = new Worker(WORKER_URL, {
      workerData: { path: this.opts.path, maxAnswerBytes: this.opts.maxAnswerBytes },
    });
    slot.worker = worker;
    slot.ready = false;
    worker.on('message', (res: QueryResponse | WorkerReady) => {
      if ('ready' in res) {
        if (slot.worker !== worker) return;
        slot.ready = true;
        this.dispatch();
        return;
      }
      const job = slot.job;
      if (slot.worker !== worker || !job || job.req.id !== res.id) return;
      clearTimeout(job.timer);
      slot.job = null;
      this.opts.onAnswer?.({
        method: job.req.method,
        args: job.req.args,
        wallMs: performance.now() - job.asked,
        cpuMs: res.cpuMs,
      });
      if (res.ok) job.resolve(res.value);
      else job.reject(fromWire(res.error));
      this.dispatch();
    });
    worker.on('error', (err: Error) => {
      if (slot.worker !== worker) return;
      // Uncaught in the thread, which exits: the query it ran fails with the cause.
      const job = slot.job;
      if (job) {
        clearTimeout(job.timer);
        job.reject(err);
      } else {
        this.opts.onThreadError?.(err);
      }
      this.replace(slot, job ? 0 : RESTART_DELAY_MS);
    });
  }

  /** Stops a slot's thread and starts a fresh one in its place. */
  private replace(slot: Slot, delayMs: number): void {
    void slot.worker?.terminate();
    slot.worker = null;
    slot.ready = false;
    slot.job = null;
    if (this.closed) return;
    const restart = () => {
      if (this.closed) return;
      this.attach(slot);
      this.dispatch();
    };
    if (delayMs > 0) setTimeout(restart, delayMs).unref();
    else restart();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job || !slot.worker || !slot.ready) continue;
      const job = this.lightQueue.shift() ?? (slot.light ? undefined : this.nextHeavy());
      if (!job) continue;
      this.unqueued(job);
      slot.job = job;
      slot.worker.postMessage(job.req);
    }
  }

  /** The first waiting general query of the caller whose turn it is; that caller goes last. */
  private nextHeavy(): Job | undefined {
    for (const [caller, jobs] of this.heavyQueues) {
      const job = jobs.shift();
      this.heavyQueues.delete(caller);
      if (jobs.length) this.heavyQueues.set(caller, jobs);
      if (job) return job;
    }
    return undefined;
  }

  private enqueue(job: Job): void {
    if (job.light) this.lightQueue.push(job);
    else {
      const jobs = this.heavyQueues.get(job.caller);
      if (jobs) jobs.push(job);
      else this.heavyQueues.set(job.caller, [job]);
    }
    this.waiting++;
    this.waitingBy.set(job.caller, (this.waitingBy.get(job.caller) ?? 0) + 1);
  }

  /** Counts `job` out of the waiting ones (it was taken from its queue). */
  private unqueued(job: Job): void {
    this.waiting--;
    const n = (this.waitingBy.get(job.caller) ?? 1) - 1;
    if (n > 0) this.waitingBy.set(job.caller, n);
    else this.waitingBy.delete(job.caller);
  }

  /** Takes `job` out of its queue if it is still waiting; false if it is not. */
  private dequeue(job: Job): boolean {
    const queue = job.light ? this.lightQueue : this.heavyQueues.get(job.caller);
    const i = queue?.indexOf(job) ?? -1;
    if (!queue || i < 0) return false;
    queue.splice(i, 1);
    if (!job.light && queue.length === 0) this.heavyQueues.delete(job.caller);
    this.unqueued(job);
    return true;
  }

  private call<K extends QueryMethod>(
    method: K,
    args: unknown[],
    access: Access,
    json = false,
  ): Promise<ReturnType<HistoryQueries[K]>> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new QueryUnavailableError('the query service is stopping'));
        return;
      }
      const caller = access.caller ?? '';
      if (this.waiting >= this.opts.maxQueued) {
        reject(
          new QueryUnavailableError(
            `${this.opts.maxQueued} queries are already waiting for a query thread; retry shortly or ask for a narrower window`,
          ),
        );
        return;
      }
      if ((this.waitingBy.get(caller) ?? 0) >= this.opts.maxQueuedPerCaller) {
        reject(
          new QueryUnavailableError(
            `${this.opts.maxQueuedPerCaller} of your queries are already waiting for a query thread; wait for their answers before asking more`,
          ),
        );
        return;
      }
      const grant = this.opts.allowsAll?.(access)
        ? ({ all: true } as const)
        : toGrant(access, this.opts.scopes());
      const req: QueryRequest = { id: this.nextId++, method, args, grant, json };
      const job: Job = {
        req,
        caller,
        // A caller who may read nothing is answered without reading: as cheap as one object.
        // (Not a stream's read: it reads on past what it may not show, bounded by SINCE_SPAN.)
        light: LIGHT_METHODS.has(method) || (grantsNothing(grant) && method !== 'since'),
        asked: performance.now(),
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => this.expire(job), this.opts.timeoutMs),
      };
      this.enqueue(job);
      this.dispatch();
    });
  }

  private expire(job: Job): void {
    const err = new QueryTimeoutError(
      `the query did not answer within ${this.opts.timeoutMs / 1000} s; ask for a narrower window, fewer kinds or a smaller limit`,
    );
    if (this.dequeue(job)) {
      job.reject(err);
      return;
    }
    const slot = this.slots.find((s) => s.job === job);
    if (!slot) return;
    job.reject(err);
    // SQLite cannot be interrupted from here: the thread is stopped (it ends when its statement
    // returns to JavaScript) and a fresh one takes its place.
    this.replace(slot, 0);
  }

  /** Refuses new queries, fails waiting and running ones, and stops the threads. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping = new QueryUnavailableError('the query service is stopping');
    const waiting = [...this.lightQueue.splice(0), ...[...this.heavyQueues.values()].flat()];
    this.heavyQueues.clear();
    this.waitingBy.clear();
    this.waiting = 0;
    for (const job of waiting) {
      clearTimeout(job.timer);
      job.reject(stopping);
    }
    const threads: Worker[] = [];
    for (const slot of this.slots) {
      if (slot.job) {
        clearTimeout(slot.job.timer);
        slot.job.reject(stopping);
      }
      if (slot.worker) threads.push(slot.worker);
      slot.job = null;
      slot.worker = null;
    }
    await Promise.all(threads.map((w) => w.terminate()));
  }

  searchResources(...a: Parameters<HistoryQueries['searchResources']>) {
    return this.call('searchResources', [a[0]], a[1]);
  }
  object(...a: Parameters<HistoryQueries['object']>) {
    return this.call('object', [a[0]], a[1]);
  }
  versions(...a: Parameters<HistoryQueries['versions']>) {
    return this.call('versions', [a[0], a[1]], a[2]);
  }
  version(...a: Parameters<HistoryQueries['version']>) {
    return this.call('version', [a[0], a[1]], a[2]);
  }
  at(...a: Parameters<HistoryQueries['at']>) {
    return this.call('at', [a[0], a[1]], a[2]);
  }
  diff(...a: Parameters<HistoryQueries['diff']>) {
    return this.call('diff', [a[0], a[1], a[2]], a[3]);
  }
  events(...a: Parameters<HistoryQueries['events']>) {
    return this.call('events', [a[0]], a[1]);
  }
  timeline(...a: Parameters<HistoryQueries['timeline']>) {
    return this.call('timeline', [a[0]], a[1]);
  }
  namespaceState(...a: Parameters<HistoryQueries['namespaceState']>) {
    return this.call('namespaceState', [a[0], a[1], a[2]], a[3]);
  }
  changes(...a: Parameters<HistoryQueries['changes']>) {
    return this.call('changes', [a[0]], a[1]);
  }
  rollouts(...a: Parameters<HistoryQueries['rollouts']>) {
    return this.call('rollouts', [a[0]], a[1]);
  }
  rollout(...a: Parameters<HistoryQueries['rollout']>) {
    return this.call('rollout', [a[0]], a[1]);
  }
  /** The scope an object's or a rollout's access is decided on (no Access: it answers no caller). */
  bundle(...a: Parameters<HistoryQueries['bundle']>) {
    return this.call('bundle', [a[0]], a[1]);
  }
  scopeOf(...a: Parameters<HistoryQueries['scopeOf']>) {
    return this.call('scopeOf', [a[0]], a[1]);
  }
  head() {
    // The newest sequence number reveals no record: no access needed.
    return this.call('head', [], { allows: () => false });
  }
  async since(...a: Parameters<HistoryQueries['since']>) {
    const r = (await this.call('since', [a[0], a[1]], a[2])) as unknown as {
      items: ReturnType<HistoryQueries['since']>;
      next: number;
    };
    return Object.assign(r.items, { next: r.next });
  }
}
