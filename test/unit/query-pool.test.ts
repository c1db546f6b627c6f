// The queries on their own threads: the same answers as HistoryQueries on the calling thread,
// errors that keep their class and field, the caller's Access carried across, and no pile-up.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryQueries, QueryError, type Access, type Scope } from '../../src/store/queries.ts';
import { QueryPool, QueryUnavailableError } from '../../src/store/query-pool.ts';
import { grantAccess, toGrant } from '../../src/store/query-wire.ts';
import { openRecording, watchTarget } from './fixtures/recording.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const PODS = watchTarget('', 'Pod', 'pods');

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

const all: Access = { allows: () => true };
const onlyA: Access = { allows: (s) => s.namespace === 'a' };
const SCOPES: Scope[] = [
  { group: '', resource: 'pods', namespace: 'a' },
  { group: '', resource: 'pods', namespace: 'b' },
];

let dir: string;
let path: string;
let db: Db;
let direct: HistoryQueries;

beforeAll(async () => {
  const recording = openRecording('hindsight-pool-', {
    policy: { name: 'all', spec: { resources: [{ group: '', kinds: ['Pod'] }], events: false } },
  });
  const { db: writeDb, recorder } = recording;
  ({ dir, path } = recording);
  let rv = 10;
  for (const ns of ['a', 'b']) {
    for (const name of ['web-1', 'web-2']) {
      for (let i = 0; i < 3; i++) {
        const type = i === 0 ? 'ADDED' : 'MODIFIED';
        await recorder.write(PODS, [{ type, object: pod(ns, name, ++rv), time: T0 + rv * 1000 }]);
      }
    }
  }
  await recorder.stop();
  writeDb.close();
  db = openDatabase(path, { readonly: true });
  direct = new HistoryQueries(db);
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const window = { from: T0, to: T0 + 3_600_000 };

describe('QueryPool', () => {
  it('answers as HistoryQueries does on the calling thread', async () => {
    const pool = new QueryPool({ path, threads: 2, scopes: () => SCOPES });
    try {
      const search = { namespace: 'a', includeDeleted: true, limit: 10 };
      expect(await pool.searchResources(search, all)).toEqual(direct.searchResources(search, all));
      const tq = { namespace: 'b', window, buckets: 10 };
      expect(await pool.timeline(tq, all)).toEqual(direct.timeline(tq, all));
      const uid = 'uid-a-web-1';
      const vq = { limit: 2 };
      expect(await pool.versions(uid, vq, all)).toEqual(direct.versions(uid, vq, all));
      expect(await pool.object('no-such-uid', all)).toBeUndefined();
      expect(await pool.namespaceState('a', T0 + 60_000, {}, all)).toEqual(
        direct.namespaceState('a', T0 + 60_000, {}, all),
      );
      // An array with a `next`: both must survive the thread boundary.
      const since = await pool.since(0, { limit: 5 }, all);
      const expected = direct.since(0, { limit: 5 }, all);
      expect([...since]).toEqual([...expected]);
      expect(since.next).toBe(expected.next);
    } finally {
      await pool.close();
    }
  });

  it('answers JSON text serialized on its thread, for the API to send as is', async () => {
    const pool = new QueryPool({ path, threads: 1, scopes: () => SCOPES });
    try {
      const tq = { namespace: 'a', window, buckets: 10 };
      expect((await pool.json.timeline(tq, all))?.text).toBe(
        JSON.stringify(direct.timeline(tq, all)),
      );
      expect(await pool.json.object('no-such-uid', all)).toBeUndefined();
      await expect(pool.json.timeline({ ...tq, buckets: 0 }, all)).rejects.toBeInstanceOf(
        QueryError,
      );
    } finally {
      await pool.close();
    }
  });

  it('carries the caller Access into the thread', async () => {
    const pool = new QueryPool({ path, threads: 1, scopes: () => SCOPES });
    try {
      const all = await pool.searchResources({ includeDeleted: true, limit: 10 }, onlyA);
      expect(all.items.map((o) => o.namespace)).toEqual(['a', 'a']);
      expect(await pool.object('uid-b-web-1', onlyA)).toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it('rethrows a QueryError with its field, so the API can name the parameter', async () => {
    const pool = new QueryPool({ path, threads: 1, scopes: () => SCOPES });
    try {
      const err: unknown = await pool
        .timeline({ namespace: 'a', window, buckets: 0 }, all)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueryError);
      expect((err as QueryError).field).toBe('buckets');
      expect((err as QueryError).message).toBe('buckets must be an integer from 1 to 10000');
    } finally {
      await pool.close();
    }
  });

  it('fails an answer larger than its cap with a QueryError naming limit', async () => {
    const pool = new QueryPool({ path, threads: 1, maxAnswerBytes: 500, scopes: () => SCOPES });
    try {
      const q = { namespace: 'a', window, buckets: 10 };
      const small = await pool.json.object('uid-a-web-1', all);
      expect(small?.text.length).toBeGreaterThan(0);
      const err = (await pool.json.timeline(q, all).catch((e: unknown) => e)) as QueryError;
      expect(err).toBeInstanceOf(QueryError);
      expect(err.field).toBe('limit');
      expect(err.message).toMatch(/more than the 0\.0 MiB one answer may be/);
      // The same answer fits the default cap.
      const fits = new QueryPool({ path, threads: 1, scopes: () => SCOPES });
      try {
        expect(JSON.parse((await fits.json.timeline(q, all))!.text)).toMatchObject({
          rows: expect.any(Array) as unknown,
        });
      } finally {
        await fits.close();
      }
    } finally {
      await pool.close();
    }
  });

  it('refuses queries beyond its queue instead of piling them up', async () => {
    const pool = new QueryPool({ path, threads: 1, maxQueued: 1, scopes: () => SCOPES });
    try {
      const q = { namespace: 'a', window, buckets: 10 };
      await pool.timeline(q, all); // the thread is up: the next query runs rather than waits
      const running = pool.timeline(q, all);
      const waiting = pool.timeline(q, all);
      await expect(pool.timeline(q, all)).rejects.toBeInstanceOf(QueryUnavailableError);
      await expect(running).resolves.toBeDefined();
      await expect(waiting).resolves.toBeDefined();
    } finally {
      await pool.close();
    }
  });

  it('fails waiting and running queries when closed', async () => {
    const pool = new QueryPool({ path, threads: 1, scopes: () => SCOPES });
    const q = { namespace: 'a', window, buckets: 10 };
    const asked = [pool.timeline(q, all), pool.timeline(q, all)].map((p) =>
      p.catch((e: unknown) => e),
    );
    await pool.close();
    for (const p of asked) expect(await p).toBeInstanceOf(QueryUnavailableError);
    await expect(pool.timeline(q, all)).rejects.toBeInstanceOf(QueryUnavailableError);
  });
});

describe('Access across threads', () => {
  it('answers as the Access it was made from, over the given scopes and any namespace', () => {
    const kube: Access = {
      // As KubeAuth: pods everywhere, events only in namespace a.
      allows: (s) => s.resource === 'pods' || (s.resource === 'events' && s.namespace === 'a'),
    };
    const scopes = [...SCOPES, { group: '', resource: 'events', namespace: 'a' }];
    const g = grantAccess(toGrant(kube, scopes));
    expect(g.allows({ group: '', resource: 'pods', namespace: 'elsewhere' })).toBe(true);
    expect(g.allows({ group: '', resource: 'events', namespace: 'a' })).toBe(true);
    expect(g.allows({ group: '', resource: 'events', namespace: 'b' })).toBe(false);
    expect(toGrant(all, scopes)).toEqual({ all: true });
    expect(toGrant({ allows: () => false }, scopes)).toEqual({
      all: false,
      scopes: [],
      everywhere: [],
    });
  });
});
