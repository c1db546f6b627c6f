// A keyed work queue and its workers, after client-go's rate-limited workqueue and
// controller-runtime's reconciler contract (see docs/adr/0001-own-reconcile-runtime.md).
//
// A key is either queued, processing, or both (re-added while processing: it is queued again
// when the current run ends). Workers only ever take queued keys that are not processing, so
// one key is never reconciled twice at the same time, whatever the concurrency.
import { Backoff, type BackoffOptions } from './backoff.ts';

export type TimerHandle = unknown;

/** The time source of the queue; tests pass a fake one and drive it instead of sleeping. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  // Monotonic: a wall-clock jump must not fire or stall delayed keys.
  now: () => performance.now(),
  // Node fires longer delays after 1 ms; firing after ~24.8 days instead is merely early.
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  clock?: Clock;
  /** Backoff of `addRateLimited`, per key. */
  backoff?: BackoffOptions;
}

export class WorkQueue<K extends string = string> {
  readonly #clock: Clock;
  readonly #backoff: Backoff<K>;
  // Insertion-ordered: the FIFO of keys ready to be handed out (none of them processing).
  readonly #queue = new Set<K>();
  // Keys that must be processed once more after their current run ends.
  readonly #rerun = new Set<K>();
  readonly #processing = new Set<K>();
  // At most one timer per key: the earliest requested time wins.
  readonly #waiting = new Map<K, { at: number; handle: TimerHandle }>();
  readonly #getters: ((key: K | undefined) => void)[] = [];
  #shuttingDown = false;
  #drained: (() => void) | undefined;
  #shutDownPromise: Promise<void> | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#backoff = new Backoff<K>(options.backoff);
  }

  /** Queues `key` unless it is already queued; ignored once shut down. */
  add(key: K): void {
    if (this.#shuttingDown) return;
    if (this.#processing.has(key)) {
      this.#rerun.add(key);
      return;
    }
    if (this.#queue.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#processing.add(key);
      getter(key);
    } else {
      this.#queue.add(key);
    }
  }

  /** Queues `key` after `ms`; if it is already waiting for an earlier time, that time stands. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const waiting = this.#waiting.get(key);
    if (waiting) {
      if (waiting.at <= at) return;
      this.#clock.clearTimeout(waiting.handle);
    }
    const handle = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { at, handle });
  }

  /** Queues `key` after its next backoff delay (500 ms, 1 s, 2 s … by default); returns it. */
  addRateLimited(key: K): number {
    const delay = this.#backoff.next(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key`; call after it was processed successfully. */
  forget(key: K): void {
    this.#backoff.forget(key);
  }

  /** Failures of `key` since it was last forgotten. */
  failures(key: K): number {
    return this.#backoff.failures(key);
  }

  /** Keys queued and not yet handed out. */
  get depth(): number {
    return this.#queue.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The next key to process, marked as processing until `done(key)`; waits while the queue is
   * empty. Resolves to undefined once the queue is shut down.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const first = this.#queue.values().next();
    if (!first.done) {
      this.#queue.delete(first.value);
      this.#processing.add(first.value);
      return Promise.resolve(first.value);
    }
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Ends the processing of `key`; if it was added meanwhile, queues it again. */
  done(key: K): void {
    if (!this.#processing.delete(key)) return;
    if (this.#rerun.delete(key)) this.add(key);
    if (this.#shuttingDown && this.#processing.size === 0) this.#drained?.();
  }

  /**
   * Stops handing out keys, drops queued and delayed ones (a level-based controller re-lists on
   * start, so nothing is lost) and resolves once every key being processed is done.
   */
  shutDown(): Promise<void> {
    this.#shutDownPromise ??= this.#shutDown();
    return this.#shutDownPromise;
  }

  async #shutDown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { handle } of this.#waiting.values()) this.#clock.clearTimeout(handle);
    this.#waiting.clear();
    this.#queue.clear();
    this.#rerun.clear();
    for (const getter of this.#getters.splice(0)) getter(undefined);
    if (this.#processing.size > 0) {
      await new Promise<void>((resolve) => (this.#drained = resolve));
    }
  }
}

/** What a successful reconcile asks for. A failure is a thrown Error: it is retried with backoff. */
export type Result = { readonly requeueAfterMs?: number };

/** Nothing more to do until the key is added again. */
export const done: Result = Object.freeze({});

/** Look again after `ms` even if nothing changes (e.g. the next retention deadline). */
export function requeueAfter(ms: number): Result {
  return { requeueAfterMs: ms };
}

/** Reconciles one key; resolving with nothing means `done`. */
export type Reconcile<K extends string> = (key: K) => Promise<Result | void>;

export interface RetryInfo {
  /** Failures of the key in a row, this one included. */
  failures: number;
  /** When the key will be tried again, in ms. */
  retryInMs: number;
}

export interface WorkerOptions<K extends string> {
  /** Receives every failure of `reconcile`; it must not throw. */
  onError: (key: K, err: Error, retry: RetryInfo) => void;
}

/**
 * Runs `concurrency` workers that reconcile keys from `queue` until it is shut down: success
 * forgets the key's backoff (and requeues it if asked), failure requeues it with backoff.
 * Resolves once the queue is shut down and every worker has finished its last key.
 */
export async function runWorkers<K extends string>(
  queue: WorkQueue<K>,
  concurrency: number,
  reconcile: Reconcile<K>,
  options: WorkerOptions<K>,
): Promise<void> {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(
      `worker concurrency must be a whole number of at least 1, got ${concurrency}`,
    );
  }
  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await processKey(queue, key, reconcile, options);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function processKey<K extends string>(
  queue: WorkQueue<K>,
  key: K,
  reconcile: Reconcile<K>,
  { onError }: WorkerOptions<K>,
): Promise<void> {
  let result: Result | void;
  try {
    result = await reconcile(key);
  } catch (thrown) {
    const retryInMs = queue.addRateLimited(key);
    const err =
      thrown instanceof Error
        ? thrown
        : new Error(`reconcile of ${key} threw a non-Error value`, { cause: thrown });
    try {
      onError(key, err, { failures: queue.failures(key), retryInMs });
    } catch {
      // A broken error reporter must not stop the worker; the key is already requeued.
    }
    return;
  }
  queue.forget(key);
  if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
}
