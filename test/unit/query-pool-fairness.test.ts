// No caller crowds out another in the query pool: one-object queries have a thread of their own,
// general queries are served caller by caller in turn, and a caller's own queue is bounded.
// Order of answers is asserted, never their duration: a namespace of 20,000 Pods makes each
// timeline long enough that a query which did not wait behind them answers first.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import type { Access, Scope } from '../../src/store/queries.ts';
import { QueryPool, QueryTimeoutError, QueryUnavailableError } from '../../src/store/query-pool.ts';
import { openRecording, watchTarget } from './fixtures/recording.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const PODS = watchTarget('', 'Pod', 'pods');
const PODS_IN_BIG = 20_000;
const SCOPES: Scope[] = [
  { group: '', resource: 'pods', namespace: 'big' },
  { group: '', resource: 'pods', namespace: 'small' },
];

const pod = (ns: string, name: string, rv: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    namespace: ns,
    name,
    uid: `uid-${ns}-${name}`,
    resourceVersion: String(rv),
    creationTimestamp: new Date(T0).toISOString(),
  },
  spec: { containers: [{ name: 'app', image: `app:${rv}` }] },
});

const as = (caller: string): Access => ({ allows: () => true, caller });
const day = { namespace: 'big', window: { from: T0, to: T0 + 86_400_000 }, buckets: 100 };

let dir: string;
let path: string;

beforeAll(async () => {
  const recording = openRecording('hindsight-fair-', {
    policy: { name: 'all', spec: { resources: [{ group: '', kinds: ['Pod'] }], events: false } },
  });
  ({ dir, path } = recording);
  let rv = 1;
  const batch = [];
  for (let i = 0; i < PODS_IN_BIG; i++) {
    batch.push({ type: 'ADDED' as const, object: pod('big', `p-${i}`, ++rv), time: T0 + rv });
  }
  await recording.recorder.write(PODS, batch);
  await recording.recorder.write(PODS, [
    { type: 'ADDED', object: pod('small', 'one', ++rv), time: T0 + rv },
  ]);
  await recording.recorder.stop();
  recording.db.close();
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves each promise into `order` under its label as it settles. */
function track(order: string[], label: string, p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => (order.push(label), v),
    (e: unknown) => (order.push(`${label}!`), e),
  );
}

async function warm(pool: QueryPool): Promise<void> {
  // Every thread has opened the database before the race starts: a general query can only be
  // answered by the general thread, and the light thread takes the first light query.
  const small = { ...day, namespace: 'small' };
  await Promise.all([pool.timeline(small, as('warm')), pool.object('uid-small-one', as('warm'))]);
}

describe('QueryPool fairness', () => {
  it('answers a one-object query while every general thread runs another caller’s timelines', async () => {
    const pool = new QueryPool({ path, threads: 1, lightThreads: 1, scopes: () => SCOPES });
    try {
      await warm(pool);
      const order: string[] = [];
      const heavy = [1, 2, 3, 4].map((i) => track(order, `a${i}`, pool.timeline(day, as('a'))));
      const light = track(order, 'b', pool.versions('uid-small-one', { limit: 10 }, as('b')));
      await Promise.all([...heavy, light]);
      expect(order.indexOf('b')).toBeLessThan(order.indexOf('a2'));
      expect(order.filter((l) => l.endsWith('!'))).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('serves waiting callers in turn rather than in arrival order', async () => {
    const pool = new QueryPool({ path, threads: 1, lightThreads: 1, scopes: () => SCOPES });
    try {
      await warm(pool);
      const order: string[] = [];
      const first = [1, 2, 3, 4].map((i) => track(order, `a${i}`, pool.timeline(day, as('a'))));
      const second = track(order, 'b1', pool.timeline(day, as('b')));
      await Promise.all([...first, second]);
      // a1 was running and a2 was first in line when b asked; then b's turn, before a3.
      expect(order).toEqual(['a1', 'a2', 'b1', 'a3', 'a4']);
    } finally {
      await pool.close();
    }
  });

  it('refuses a caller past their own queue while still taking another caller’s query', async () => {
    const pool = new QueryPool({
      path,
      threads: 1,
      lightThreads: 1,
      maxQueuedPerCaller: 2,
      scopes: () => SCOPES,
    });
    try {
      await warm(pool);
      const running = pool.timeline(day, as('a'));
      const waiting = [pool.timeline(day, as('a')), pool.timeline(day, as('a'))];
      const refused = pool.timeline(day, as('a')).catch((e: unknown) => e);
      const other = pool.timeline(day, as('b'));
      const err = await refused;
      expect(err).toBeInstanceOf(QueryUnavailableError);
      expect((err as Error).message).toMatch(/2 of your queries are already waiting/);
      const answers = await Promise.all([running, ...waiting, other]);
      expect(answers.every((t) => t.rows.length === 2000)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('answers a caller who may read nothing without waiting for a general thread', async () => {
    const pool = new QueryPool({ path, threads: 1, lightThreads: 1, scopes: () => SCOPES });
    try {
      await warm(pool);
      const order: string[] = [];
      const heavy = [1, 2, 3].map((i) => track(order, `a${i}`, pool.timeline(day, as('a'))));
      const none: Access = { allows: () => false, caller: 'nobody' };
      const empty = track(order, 'n', pool.timeline(day, none));
      await Promise.all([...heavy, empty]);
      expect(((await empty) as { rows: unknown[] }).rows).toEqual([]);
      expect(order.indexOf('n')).toBeLessThan(order.indexOf('a2'));
    } finally {
      await pool.close();
    }
  });

  it('keeps the light thread to one-object queries', async () => {
    // With no general thread idle, a timeline waits rather than take the light thread.
    const pool = new QueryPool({ path, threads: 1, lightThreads: 1, scopes: () => SCOPES });
    try {
      await warm(pool);
      const order: string[] = [];
      const a = track(order, 'a1', pool.timeline(day, as('a')));
      const b = track(order, 'b1', pool.timeline(day, as('b')));
      const c = track(order, 'c', pool.object('uid-small-one', as('c')));
      await Promise.all([a, b, c]);
      expect(order).toEqual(['c', 'a1', 'b1']);
    } finally {
      await pool.close();
    }
  });

  it('fails a query past its timeout, replaces its thread, and answers the next', async () => {
    let threadErrors = 0;
    const pool = new QueryPool({
      path,
      threads: 1,
      lightThreads: 1,
      timeoutMs: 40,
      scopes: () => SCOPES,
      onThreadError: () => threadErrors++,
      onAnswer: (a) => answered.push((a.args[0] as { namespace: string }).namespace),
    });
    const answered: string[] = [];
    /** `ask` once a thread has started within the timeout (starting one takes about as long). */
    const once = async <T>(ask: () => Promise<T>): Promise<T> => {
      for (let i = 0; ; i++) {
        try {
          return await ask();
        } catch (err) {
          if (!(err instanceof QueryTimeoutError) || i === 50) throw err;
        }
      }
    };
    try {
      const small = () => pool.timeline({ ...day, namespace: 'small' }, as('a'));
      await once(small);
      const err = await pool.timeline(day, as('a')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueryTimeoutError);
      expect((err as Error).message).toMatch(/did not answer within 0\.04 s/);
      // The thread running it was stopped, not left to finish the day: a fresh one answers.
      expect((await once(small)).rows.map((r) => r.name)).toEqual(['one']);
      // Waiting counts too: a query queued behind one that times out fails when its time is up.
      const [first, second] = await Promise.all([
        pool.timeline(day, as('a')).catch((e: unknown) => e),
        pool.timeline(day, as('b')).catch((e: unknown) => e),
      ]);
      expect(first).toBeInstanceOf(QueryTimeoutError);
      expect(second).toBeInstanceOf(QueryTimeoutError);
      expect((await once(small)).rows).toHaveLength(1);
      // No thread ever finished a day: each was stopped at its timeout.
      expect(answered.length).toBeGreaterThanOrEqual(3);
      expect(answered.filter((ns) => ns === 'big')).toEqual([]);
      expect(threadErrors).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
