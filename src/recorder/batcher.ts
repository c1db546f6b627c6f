// Groups what the reflectors hand over into transactions: a batch is committed when it is full or
// when its first item has waited long enough. A batch that fails to commit (a full disk, an I/O
// error) is kept and retried; the reflectors wait meanwhile, which is the backpressure that keeps
// memory bounded and loses nothing.
import type { Logger } from '../log.ts';
import { sleep } from '../runtime/sleep.ts';

export interface BatcherOptions<T> {
  /** Applies and commits one batch in a transaction; throws when nothing was committed. */
  commit: (batch: T[]) => void;
  /** Size of an entry, to fill batches up to `batchSize`. */
  size: (entry: T) => number;
  log: Logger;
  batchSize: number;
  /**
   * How long the first entry may wait for more. An entry of at least half a batch commits
   * without waiting: a reflector hands over that much only from a backlog (a list page, a burst),
   * where waiting gathers nothing and only delays the next page.
   */
  batchDelayMs: number;
  retryDelayMs: number;
  /** Called after a commit with the number of items and the seconds it took. */
  committed?: (batch: T[], items: number, seconds: number) => void;
  /** Called when commits start failing and when they work again. */
  onWritable?: (ok: boolean, error?: Error) => void;
}

interface Pending<T> {
  entry: T;
  resolve: () => void;
}

export class Batcher<T> {
  private readonly o: BatcherOptions<T>;
  private queue: Pending<T>[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private writable = true;
  private stopped = false;
  /** Aborted by stop(): a batch that cannot be committed is then given up. */
  private readonly stopping = new AbortController();

  constructor(opts: BatcherOptions<T>) {
    this.o = opts;
  }

  /** Queues an entry; resolves once it is committed (or given up at shutdown). */
  add(entry: T): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.queue.push({ entry, resolve });
      const size = this.o.size(entry);
      this.queued += size;
      const now = this.queued >= this.o.batchSize || size * 2 >= this.o.batchSize;
      this.flushSoon(now ? 0 : this.o.batchDelayMs);
    });
  }

  /** Commits what is queued, then stops accepting entries. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.flush();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) p.resolve();
  }

  private flushSoon(delay: number): void {
    if (this.flushing) return;
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
  }

  /** Commits every queued entry, batch by batch. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.queue.length > 0 && !this.stopped) {
          const batch: Pending<T>[] = [];
          let n = 0;
          while (this.queue.length > 0 && n < this.o.batchSize) {
            const p = this.queue.shift()!;
            batch.push(p);
            n += this.o.size(p.entry);
          }
          this.queued -= n;
          await this.commitWithRetry(batch, n);
        }
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private async commitWithRetry(batch: Pending<T>[], n: number): Promise<void> {
    const entries = batch.map((p) => p.entry);
    for (;;) {
      const started = performance.now();
      try {
        this.o.commit(entries);
        this.o.committed?.(entries, n, (performance.now() - started) / 1000);
        if (!this.writable) {
          this.writable = true;
          this.o.log.info('Recording resumed');
          this.o.onWritable?.(true);
        }
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        if (this.writable) {
          this.writable = false;
          this.o.log.error('Recording paused: the history database cannot be written', {
            error: err,
          });
        }
        this.o.onWritable?.(false, err as Error);
        if (this.stopping.signal.aborted) {
          this.o.log.warn(
            'Stopped with uncommitted changes; they are replayed from the checkpoint on the next start',
            {
              items: n,
            },
          );
          for (const p of batch) p.resolve();
          return;
        }
        await sleep(this.o.retryDelayMs, this.stopping.signal);
      }
    }
  }
}
