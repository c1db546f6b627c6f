import { afterEach, describe, expect, it } from 'vitest';
import {
  done,
  requeueAfter,
  runWorkers,
  WorkQueue,
  type Clock,
  type Reconcile,
  type RetryInfo,
  type TimerHandle,
} from '../../src/runtime/work-queue.ts';

/** Time that moves only when the test says so. */
class FakeClock implements Clock {
  #now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting workers run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets every pending promise callback run (the runtime schedules no macrotasks of its own). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call {
  key: string;
  at: number;
}

/**
 * A queue on a fake clock, workers, and a reconcile that records its calls, tracks how many runs
 * of each key overlap, and hands each call to `behave` (default: succeed at once).
 */
function setup(concurrency: number, behave: Reconcile<string> = () => Promise.resolve(done)) {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({ clock, backoff: { jitter: 'none', capMs: 4000 } });
  const calls: Call[] = [];
  const errors: { key: string; err: Error; retry: RetryInfo }[] = [];
  const active = new Map<string, number>();
  let maxSelfOverlap = 0;
  let maxActive = 0;
  const reconcile: Reconcile<string> = async (key) => {
    calls.push({ key, at: clock.now() });
    const mine = (active.get(key) ?? 0) + 1;
    active.set(key, mine);
    maxSelfOverlap = Math.max(maxSelfOverlap, mine);
    maxActive = Math.max(
      maxActive,
      [...active.values()].reduce((a, b) => a + b, 0),
    );
    try {
      return await behave(key);
    } finally {
      active.set(key, (active.get(key) ?? 1) - 1);
    }
  };
  const running = runWorkers(queue, concurrency, reconcile, {
    onError: (key, err, retry) => errors.push({ key, err, retry }),
  });
  stops.push(() => queue.shutDown());
  return {
    clock,
    queue,
    calls,
    errors,
    running,
    keys: () => calls.map((c) => c.key),
    at: (key: string) => calls.filter((c) => c.key === key).map((c) => c.at),
    maxSelfOverlap: () => maxSelfOverlap,
    maxActive: () => maxActive,
  };
}

/** Reconcile calls that wait until the test releases them, oldest first per key. */
function gates() {
  const pending = new Map<string, PromiseWithResolvers<void>[]>();
  return {
    behave: (key: string) => {
      const gate = Promise.withResolvers<void>();
      pending.set(key, [...(pending.get(key) ?? []), gate]);
      return gate.promise.then(() => done);
    },
    async release(key: string): Promise<void> {
      const gate = pending.get(key)?.shift();
      if (!gate) throw new Error(`no reconcile of ${key} is waiting`);
      gate.resolve();
      await settle();
    },
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  // A test that fails half-way must not leave workers waiting on the next test's time.
  for (const stop of stops.splice(0)) void stop();
  await settle();
});

describe('WorkQueue', () => {
  it('processes a key queued several times once', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock });
    for (const key of ['a', 'b', 'a', 'c', 'a', 'b']) queue.add(key);
    expect(queue.depth).toBe(3);

    const seen: string[] = [];
    const running = runWorkers(queue, 1, (key) => Promise.resolve(void seen.push(key)), {
      onError: () => undefined,
    });
    await settle();
    expect(seen).toEqual(['a', 'b', 'c']);
    await queue.shutDown();
    await running;
  });

  it('never reconciles a key alongside itself, and runs it again if it was added meanwhile', async () => {
    const g = gates();
    const h = setup(4, g.behave);
    h.queue.add('a');
    await settle();
    // Three workers are idle; none may take the re-added key while its first run is going.
    h.queue.add('a');
    h.queue.add('a');
    await settle();
    expect(h.keys()).toEqual(['a']);

    await g.release('a');
    expect(h.keys()).toEqual(['a', 'a']);
    await g.release('a');
    expect(h.keys()).toEqual(['a', 'a']);
    expect(h.maxSelfOverlap()).toBe(1);
  });

  it('uses every worker for distinct keys while holding back a busy one', async () => {
    const g = gates();
    const h = setup(4, g.behave);
    for (const key of ['a', 'b', 'c', 'd', 'e']) h.queue.add(key);
    await settle();
    expect(h.keys()).toEqual(['a', 'b', 'c', 'd']);
    expect(h.maxActive()).toBe(4);

    h.queue.add('a'); // now queued behind e, but a is still running
    await g.release('b'); // frees a worker: it takes e, not a
    expect(h.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
    await g.release('c'); // another free worker: a is still running, so it waits
    expect(h.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
    await g.release('a'); // the first run of a ends: a runs again
    expect(h.keys()).toEqual(['a', 'b', 'c', 'd', 'e', 'a']);
    expect(h.maxSelfOverlap()).toBe(1);
  });

  it('backs off a failing key per failure (500, 1000, 2000 … capped) and resets after success', async () => {
    let failing = true;
    const h = setup(1, (key) =>
      failing ? Promise.reject(new Error(`${key} is broken`)) : Promise.resolve(done),
    );
    h.queue.add('a');
    await settle();
    for (const delay of [500, 1000, 2000, 4000]) {
      const before = h.at('a').length;
      await h.clock.advance(delay - 1);
      expect(h.at('a')).toHaveLength(before);
      await h.clock.advance(1);
      expect(h.at('a')).toHaveLength(before + 1);
    }
    expect(h.at('a')).toEqual([0, 500, 1500, 3500, 7500]);
    expect(h.errors.map((e) => e.retry)).toEqual([
      { failures: 1, retryInMs: 500 },
      { failures: 2, retryInMs: 1000 },
      { failures: 3, retryInMs: 2000 },
      { failures: 4, retryInMs: 4000 },
      { failures: 5, retryInMs: 4000 },
    ]);

    failing = false;
    await h.clock.advance(4000);
    expect(h.at('a')).toEqual([0, 500, 1500, 3500, 7500, 11_500]);
    expect(h.queue.failures('a')).toBe(0);

    failing = true;
    h.queue.add('a');
    await settle();
    expect(h.errors.at(-1)?.retry).toEqual({ failures: 1, retryInMs: 500 });
  });

  it('does not delay other keys while one key backs off, even with a single worker', async () => {
    const h = setup(1, (key) =>
      key === 'a' ? Promise.reject(new Error('a is broken')) : Promise.resolve(done),
    );
    h.queue.add('a');
    await settle();
    await h.clock.advance(500); // a has failed twice and now waits 1000 ms
    h.queue.add('b');
    h.queue.add('c');
    await settle();
    expect(h.calls).toEqual([
      { key: 'a', at: 0 },
      { key: 'a', at: 500 },
      { key: 'b', at: 500 },
      { key: 'c', at: 500 },
    ]);
    expect(h.queue.failures('b')).toBe(0);
  });

  it('queues a key added with a delay at that time, the earliest request winning', async () => {
    const h = setup(2);
    h.queue.addAfter('a', 1000);
    h.queue.addAfter('b', 5000);
    h.queue.addAfter('b', 2000);
    h.queue.addAfter('b', 3000);
    await h.clock.advance(999);
    expect(h.calls).toEqual([]);
    await h.clock.advance(1);
    expect(h.calls).toEqual([{ key: 'a', at: 1000 }]);
    await h.clock.advance(10_000);
    expect(h.calls).toEqual([
      { key: 'a', at: 1000 },
      { key: 'b', at: 2000 },
    ]);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('requeues a key after the delay its reconcile asked for, without counting a failure', async () => {
    const h = setup(1, () => Promise.resolve(requeueAfter(60_000)));
    h.queue.add('a');
    await settle();
    await h.clock.advance(59_999);
    expect(h.at('a')).toEqual([0]);
    await h.clock.advance(1);
    expect(h.at('a')).toEqual([0, 60_000]);
    expect(h.queue.failures('a')).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it('on shut down, finishes the keys in flight, drops the rest and stops', async () => {
    const g = gates();
    const h = setup(2, g.behave);
    for (const key of ['a', 'b', 'c']) h.queue.add(key);
    h.queue.addAfter('d', 1000);
    await settle();
    expect(h.keys()).toEqual(['a', 'b']);

    let stopped = false;
    let workersEnded = false;
    const stopping = h.queue.shutDown().then(() => (stopped = true));
    void h.running.then(() => (workersEnded = true));
    h.queue.add('a'); // ignored: the queue is shutting down
    await settle();
    expect(stopped).toBe(false);
    expect(h.clock.pendingTimers).toBe(0);

    await g.release('a');
    expect(stopped).toBe(false);
    await g.release('b');
    await stopping;
    expect(stopped).toBe(true);
    expect(workersEnded).toBe(true);
    await h.clock.advance(5000);
    expect(h.keys()).toEqual(['a', 'b']);
    await expect(h.queue.get()).resolves.toBeUndefined();
  });

  it('shuts down at once when nothing is in flight', async () => {
    const h = setup(3);
    await h.queue.shutDown();
    await h.running;
    expect(h.queue.shuttingDown).toBe(true);
  });

  it('retries a throwing reconcile with backoff and reports each failure to onError', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let attempt = 0;
      const clock = new FakeClock();
      const queue = new WorkQueue<string>({ clock, backoff: { jitter: 'none' } });
      const reported: { key: string; err: Error; retry: RetryInfo }[] = [];
      const running = runWorkers(
        queue,
        2,
        // Not async: the first attempt throws before returning a promise at all.
        (key) => {
          attempt++;
          if (attempt === 1) throw new Error(`cannot reconcile ${key}`);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what careless code does
          if (attempt === 2) return Promise.reject('a string, not an Error');
          return Promise.resolve(done);
        },
        {
          onError: (key, err, retry) => {
            reported.push({ key, err, retry });
            throw new Error('the error reporter is broken too');
          },
        },
      );
      queue.add('policy-a');
      await settle();
      await clock.advance(500);
      await clock.advance(1000);
      expect(attempt).toBe(3);
      expect(reported.map((r) => [r.key, r.err.message, r.retry])).toEqual([
        ['policy-a', 'cannot reconcile policy-a', { failures: 1, retryInMs: 500 }],
        [
          'policy-a',
          'reconcile of policy-a threw a non-Error value',
          { failures: 2, retryInMs: 1000 },
        ],
      ]);
      expect(reported[1]?.err.cause).toBe('a string, not an Error');
      expect(queue.failures('policy-a')).toBe(0);

      await queue.shutDown();
      await running;
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('rejects a concurrency that is not a whole number of at least 1', async () => {
    const queue = new WorkQueue<string>({ clock: new FakeClock() });
    const reconcile = () => Promise.resolve(done);
    await expect(runWorkers(queue, 0, reconcile, { onError: () => undefined })).rejects.toThrow(
      /concurrency must be a whole number of at least 1, got 0/,
    );
  });
});
