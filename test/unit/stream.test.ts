// The live stream (/api/v1/stream) over a real store written by the real Recorder: records in
// sequence order, resumable from Last-Event-ID without duplicates or gaps, only what the
// caller may read, and a clear 400 / 503 before the stream starts.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiRouter } from '../../src/http/api.ts';
import { createApp } from '../../src/http/app.ts';
import { Readiness } from '../../src/http/health.ts';
import { StreamHub } from '../../src/http/stream.ts';
import type { KubeObject, ReflectorItem } from '../../src/kube/reflector.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryQueries, type Access, type SinceItem } from '../../src/store/queries.ts';
import { QueryPool } from '../../src/store/query-pool.ts';
import { readSse, sseData, type SseMessage } from '../support/sse.ts';
import { closeRecording, openRecording, watchTarget } from './fixtures/recording.ts';

const CONFIGMAPS = watchTarget('', 'ConfigMap', 'configmaps');
let rv = 1;
const configMap = (ns: string, name: string, value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: ns, name, uid: `${ns}-${name}`, resourceVersion: String(++rv) },
  data: { value },
});

let dir: string;
let writeDb: Db;
let readDb: Db;
let recorder: Recorder;

async function write(ns: string, name: string, value: string, type = 'MODIFIED') {
  await recorder.write(CONFIGMAPS, [
    { type, object: configMap(ns, name, value), time: Date.now() } as ReflectorItem,
  ]);
}

beforeAll(() => {
  const recording = openRecording('hindsight-stream-', {
    policy: { name: 'all', spec: { resources: [{ group: '', kinds: ['ConfigMap'] }] } },
  });
  ({ dir, db: writeDb, recorder } = recording);
  readDb = openDatabase(join(dir, 'history.db'), { readonly: true });
});

afterAll(async () => {
  readDb.close();
  await closeRecording({ dir, db: writeDb, recorder });
});

const read = readSse;
const items = (got: SseMessage[]) => sseData<SinceItem>(got);

describe('live stream', () => {
  let server: Server;
  let base: string;
  let hub: StreamHub;
  let pool: QueryPool | null = null;
  let access: Access = { allows: () => true };

  const start = async (opts: ConstructorParameters<typeof StreamHub>[1] = {}) => {
    const queries = new HistoryQueries(readDb);
    hub = new StreamHub(queries, { pollMs: 20, ...opts });
    // The router's other endpoints answer from query threads, as in the operator.
    pool = new QueryPool({ path: join(dir, 'history.db'), threads: 1, scopes: () => [] });
    const api = apiRouter({ queries: pool.json, scopes: () => [], auth: null, streams: hub });
    const app = createApp({ registry: new Registry(), readiness: new Readiness(), api });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/stream`;
  };

  afterEach(async () => {
    hub.close();
    await new Promise((r) => server.close(r));
    await pool?.close();
    pool = null;
    access = { allows: () => true };
  });

  it('sends records written after it started, in sequence order, as they are committed', async () => {
    await start();
    await write('s1', 'before', 'x', 'ADDED');
    // The stream starts at the head: 'before' is not sent, what comes next is. Its first
    // message says where it started; write only once it has arrived, so the head is fixed.
    let started!: () => void;
    const atHead = new Promise<void>((resolve) => (started = resolve));
    const reading = read(base, (got) => {
      if (got.length > 0) started();
      return items(got).length >= 3;
    });
    await atHead;
    await write('s1', 'a', '1', 'ADDED');
    await write('s1', 'b', '1', 'ADDED');
    await write('s1', 'a', '2');
    const got = await reading;
    const sent = items(got);
    expect(sent.map((i) => [i.object?.name, i.version?.type])).toEqual([
      ['a', 'added'],
      ['b', 'added'],
      ['a', 'modified'],
    ]);
    expect(sent.map((i) => i.seq)).toEqual([...sent.map((i) => i.seq)].sort((x, y) => x - y));
    // Every message's id is its sequence number, so a reconnect resumes right after it.
    for (const m of got.filter((x) => x.data)) {
      expect(Number(m.id)).toBe((JSON.parse(m.data!) as SinceItem).seq);
      expect(m.event).toBe('version');
    }
    expect(hub.size).toBeLessThanOrEqual(1);
  });

  it('resumes from Last-Event-ID (or ?since) without duplicates or gaps', async () => {
    await start();
    // Without a position the stream starts at the head, and says so in its first id.
    const first = await read(base, () => true);
    const head = Number(first[0]!.id);
    for (let i = 0; i < 5; i++) await write('s2', `c${i}`, 'v', 'ADDED');
    const all = items(await read(`${base}?since=${head}`, (got) => items(got).length >= 5));
    expect(all.map((i) => i.object?.name)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    // Resume after the second: exactly the last three, and the header wins over ?since.
    const rest = items(
      await read(`${base}?since=${head}`, (got) => items(got).length >= 3, {
        'Last-Event-ID': String(all[1]!.seq),
      }),
    );
    expect(rest.map((i) => i.seq)).toEqual(all.slice(2).map((i) => i.seq));
  });

  it('filters by namespace and sends only what the caller may read', async () => {
    await start();
    const head = Number((await read(`${base}`, () => true))[0]!.id);
    await write('hidden', 'h1', 'v', 'ADDED');
    await write('shown', 's1', 'v', 'ADDED');
    await write('other', 'o1', 'v', 'ADDED');
    await write('shown', 's2', 'v', 'ADDED');
    const got = items(
      await read(`${base}?since=${head}&namespace=shown`, (g) => items(g).length >= 2),
    );
    expect(got.map((i) => i.object?.name)).toEqual(['s1', 's2']);
  });

  it('moves Last-Event-ID past records the caller may not see', async () => {
    access = { allows: (r) => r.namespace !== 'secret-ns' };
    const queries = new HistoryQueries(readDb);
    hub = new StreamHub(queries, { pollMs: 20 });
    const head = queries.head();
    await write('secret-ns', 'x1', 'v', 'ADDED');
    await write('secret-ns', 'x2', 'v', 'ADDED');
    const lastHidden = queries.head();
    // Served straight from the hub with a fixed Access (the router computes it from RBAC).
    const app = express();
    app.get('/s', (req, res) => {
      hub.serve(req, res, { from: head }, () => Promise.resolve(access)).catch(() => res.end());
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s`;
    const got = await read(url, (g) => g.some((m) => Number(m.id) === lastHidden));
    expect(items(got)).toEqual([]);
    expect(got.map((m) => Number(m.id))).toEqual([head, lastHidden]);
  });

  it('answers 400 naming a bad position, before streaming', async () => {
    await start();
    for (const [query, headers, param] of [
      ['?since=abc', {}, 'since'],
      ['?since=-4', {}, 'since'],
      ['', { 'Last-Event-ID': 'x' }, 'Last-Event-ID'],
      ['?since=999999999', {}, 'since'],
      ['', { 'Last-Event-ID': '999999999' }, 'Last-Event-ID'],
      ['?namespace=Not_A_Namespace', {}, 'namespace'],
    ] as const) {
      const res = await fetch(`${base}${query}`, { headers });
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(((await res.json()) as { param: string }).param).toBe(param);
    }
  });

  it('refuses streams past the limit with 503, and frees a slot when a client leaves', async () => {
    let emptied!: () => void;
    const noneOpen = new Promise<void>((resolve) => (emptied = resolve));
    await start({
      maxStreams: 1,
      onCount: (n) => {
        if (n === 0) emptied();
      },
    });
    const ctl = new AbortController();
    const open = await fetch(base, { signal: ctl.signal });
    expect(open.status).toBe(200);
    const refused = await fetch(base);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    ctl.abort();
    // The hub notices the client left when its response closes.
    await noneOpen;
    expect(hub.size).toBe(0);
    const again = await read(base, () => true);
    expect(again[0]!.id).toBeDefined();
  });

  it('sends keepalive comments while nothing happens, and ends at its maximum duration', async () => {
    await start({ keepaliveMs: 50, maxDurationMs: 400 });
    const got = await read(base, () => false);
    expect(got.filter((m) => m.comment === 'keepalive').length).toBeGreaterThanOrEqual(2);
  });
});
