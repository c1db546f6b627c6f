// A Sink's delivery runner over a real recorded history, the real encoder thread and the real file
// destination: records arrive exactly once in order, a batch planned before a crash is sent again
// with the same identity and lands once, failures are retried with the same batch, and
// retention holds what a Sink has not delivered.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject, ReflectorItem } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import { DeliveryError, type Delivery, type Destination } from '../../src/sinks/destination.ts';
import { FileDestination } from '../../src/sinks/destinations/file.ts';
import { EncoderPool } from '../../src/sinks/encoder-pool.ts';
import { EXPORT_ALL, type ExportRecord } from '../../src/sinks/record.ts';
import {
  SinkRunner,
  retryDelay,
  type RunnerConfig,
  type SinkMetrics,
} from '../../src/sinks/runner.ts';
import type { Db } from '../../src/store/db.ts';
import { HEAD_SEQ_SQL } from '../../src/store/head.ts';
import { Retention } from '../../src/store/retention.ts';
import { SinkStore } from '../../src/store/sinks.ts';
import { closeRecording, openRecording, watchTarget } from './fixtures/recording.ts';

const CM = watchTarget('', 'ConfigMap', 'configmaps');

let dir: string;
let path: string;
let db: Db;
let recorder: Recorder;
let encoder: EncoderPool;
let store: SinkStore;
let clock = Date.parse('2026-12-03T08:00:00Z');
const runners: SinkRunner[] = [];

const noMetrics: SinkMetrics = {
  delivered: () => undefined,
  batch: () => undefined,
  failure: () => undefined,
  dropped: () => undefined,
  position: () => undefined,
  pending: () => undefined,
  lost: () => undefined,
  forget: () => undefined,
};

function cm(name: string, rv: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: String(rv) },
    data: { rv: String(rv) },
  };
}

async function record(n: number, from = 1): Promise<void> {
  const items: ReflectorItem[] = [];
  for (let i = from; i < from + n; i++)
    items.push({ type: 'ADDED', object: cm(`c${i}`, i), time: (clock += 10) });
  await recorder.write(CM, items);
}

function head(): number {
  return (db.prepare(HEAD_SEQ_SQL).get() as { seq: number }).seq;
}

function start(destination: Destination, over: Partial<RunnerConfig> = {}): SinkRunner {
  const r = new SinkRunner(
    {
      uid: 'sink-uid',
      name: 'sink',
      cluster: 'test',
      filter: EXPORT_ALL,
      maxRecords: 10,
      maxBytes: 1 << 20,
      maxDelayMs: 0,
      delivery: 'atLeastOnce',
      destination,
      ...over,
    },
    {
      store,
      encoder,
      head,
      log: createLogger('error'),
      metrics: noMetrics,
      onChange: () => undefined,
      pollMs: 5,
      random: () => 0.5,
    },
  );
  runners.push(r);
  r.start();
  return r;
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function filesIn(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ndjson.gz'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function readRecords(root: string): ExportRecord[] {
  return filesIn(root).flatMap((f) =>
    gunzipSync(readFileSync(f))
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ExportRecord),
  );
}

/** A destination that keeps what it receives and fails as told. */
class Inbox implements Destination {
  readonly format = 'ndjson' as const;
  readonly gzip = false;
  readonly keepsPayload = true;
  readonly describe = 'inbox';
  received: Delivery[] = [];
  failNext: DeliveryError[] = [];

  send(d: Delivery): Promise<void> {
    const err = this.failNext.shift();
    this.received.push({ ...d, payload: Buffer.from(d.payload) });
    return err ? Promise.reject(err) : Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

beforeEach(() => {
  ({ dir, path, db, recorder } = openRecording('hindsight-sink-run-', {
    policy: { name: 'all', spec: { resources: [{ group: '', kinds: ['ConfigMap'] }] } },
    recorder: { now: () => clock },
  }));
  encoder = new EncoderPool(path);
  store = new SinkStore(db);
  store.position('sink-uid', 'sink', 'beginning', 0);
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await encoder.close();
  await closeRecording({ dir, db, recorder });
});

describe('SinkRunner', () => {
  it('delivers every record once, in order, in batches of maxRecords, to gzip files', async () => {
    await record(35);
    const out = join(dir, 'export');
    mkdirSync(out);
    const runner = start(new FileDestination({ directory: out, maxFiles: 1000, maxAgeMs: null }));
    await until(() => store.cursor('sink-uid')!.ackedSeq === head());
    const files = filesIn(out);
    expect(files).toHaveLength(4);
    expect(files[0]).toMatch(/dt=2026-12-03\/hour=08\/000000000001-000000000010\.ndjson\.gz$/);
    const records = readRecords(out);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(store.cursor('sink-uid')!.delivered).toBe(35);
    expect(runner.state.batches).toBe(4);
    // Recorded later: delivered from where it stopped.
    await record(5, 36);
    await until(() => store.cursor('sink-uid')!.ackedSeq === head());
    expect(readRecords(out).map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('sends a batch planned before a crash again with the same identity, and the file lands once', async () => {
    await record(12);
    const out = join(dir, 'export');
    // The first life: the batch is planned, written, and the process dies before the cursor moves.
    const inbox = new Inbox();
    inbox.failNext.push(new DeliveryError('lost answer', { reason: 'unavailable' }));
    const first = start(inbox);
    await until(() => inbox.received.length === 1);
    await first.stop();
    const planned = store.planned('sink-uid')!;
    expect(planned).toMatchObject({ afterSeq: 0, firstSeq: 1, lastSeq: 10, records: 10 });
    expect(store.cursor('sink-uid')!.ackedSeq).toBe(0);
    // The next life resends the planned batch first: same id, same bytes.
    const second = new Inbox();
    start(second);
    await until(() => second.received.length >= 2);
    expect(second.received[0]!.id).toBe(inbox.received[0]!.id);
    expect(Buffer.compare(second.received[0]!.payload, inbox.received[0]!.payload)).toBe(0);
    expect(second.received[1]!.firstSeq).toBe(11);
    await Promise.all(runners.splice(0).map((r) => r.stop()));

    // With the file destination: the file written before the crash is the delivery.
    store.position('sink-uid', 'sink', 'beginning', 0);
    const file = new FileDestination({ directory: out, maxFiles: 1000, maxAgeMs: null });
    const d = {
      id: 'x',
      firstSeq: 1,
      lastSeq: 10,
      records: 10,
      firstTime: planned.firstTime,
      payload: new Uint8Array(),
    };
    await file.send({
      ...d,
      payload: (
        await encoder.batch(
          {
            after: 0,
            hi: 10,
            filter: EXPORT_ALL,
            cluster: 'test',
            maxRecords: 10,
            maxBytes: 1 << 20,
          },
          'ndjson',
          true,
        )
      ).payload,
    });
    store.plan('sink-uid', {
      afterSeq: 0,
      endSeq: 10,
      firstSeq: 1,
      lastSeq: 10,
      records: 10,
      firstTime: planned.firstTime,
      payload: null,
      plannedAt: clock,
    });
    start(file);
    await until(() => store.cursor('sink-uid')!.ackedSeq === head());
    expect(readRecords(out).map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('retries a failed batch unchanged until it is acknowledged, honouring Retry-After', async () => {
    await record(3);
    const inbox = new Inbox();
    inbox.failNext.push(
      new DeliveryError('503', { reason: 'server-error', retryAfterMs: 50 }),
      new DeliveryError('refused', { reason: 'refused', permanent: true, retryAfterMs: 20 }),
    );
    const runner = start(inbox);
    await until(() => store.cursor('sink-uid')!.ackedSeq === head());
    expect(inbox.received.map((d) => d.id)).toEqual([
      'hs-test-sink-uid-1-3',
      'hs-test-sink-uid-1-3',
      'hs-test-sink-uid-1-3',
    ]);
    expect(runner.state.failure).toBeNull();
    expect(store.planned('sink-uid')).toBeUndefined();
  });

  it('at most once, gives up a batch that may have arrived and never resends it', async () => {
    await record(3);
    const inbox = new Inbox();
    inbox.failNext.push(
      new DeliveryError('timeout', { reason: 'unavailable', notReceived: false }),
    );
    start(inbox, { delivery: 'atMostOnce', maxRecords: 2 });
    await until(() => store.cursor('sink-uid')!.ackedSeq === head() && !store.planned('sink-uid'));
    // The first batch failed once and was not sent again; the second arrived.
    expect(inbox.received.map((d) => [d.firstSeq, d.lastSeq])).toEqual([
      [1, 2],
      [3, 3],
    ]);
    expect(store.cursor('sink-uid')!.delivered).toBe(1);
  });

  it('backs off from 1 s doubling to 60 s, and from 5 s to 5 min for a refused batch', () => {
    const e = new DeliveryError('x', { reason: 'unavailable' });
    const refused = new DeliveryError('x', { reason: 'refused', permanent: true });
    const mid = () => 0.5;
    expect([1, 2, 3, 7, 20].map((a) => retryDelay(e, a, mid))).toEqual([
      1000, 2000, 4000, 60_000, 60_000,
    ]);
    expect([1, 2, 5, 7, 10].map((a) => retryDelay(refused, a, mid))).toEqual([
      5000, 10_000, 80_000, 300_000, 300_000,
    ]);
    expect(retryDelay(e, 1, () => 0)).toBe(800);
    expect(retryDelay(e, 1, () => 1)).toBe(1200);
  });
});

describe('FileDestination', () => {
  it("refuses a directory another Sink writes to, whose files would pass for this Sink's", async () => {
    const out = join(dir, 'shared');
    const batch = {
      firstSeq: 1,
      lastSeq: 2,
      records: 2,
      firstTime: clock,
      payload: new Uint8Array([1]),
    };
    const a = new FileDestination({ directory: out, maxFiles: 10, maxAgeMs: null });
    await a.send({ ...batch, id: 'hs-c-sink-a-1-2' });
    await a.send({ ...batch, id: 'hs-c-sink-a-3-4', firstSeq: 3, lastSeq: 4 });
    const b = new FileDestination({ directory: out, maxFiles: 10, maxAgeMs: null });
    await expect(b.send({ ...batch, id: 'hs-c-sink-b-1-2' })).rejects.toThrow(
      /holds the export of hs-c-sink-a; give each Sink a directory of its own/,
    );
    expect(filesIn(out).map((f) => f.slice(out.length))).toEqual([
      '/dt=2026-12-03/hour=08/000000000001-000000000002.ndjson.gz',
      '/dt=2026-12-03/hour=08/000000000003-000000000004.ndjson.gz',
    ]);
  });

  it('removes the oldest files beyond maxFiles', async () => {
    const out = join(dir, 'rotated');
    const f = new FileDestination({ directory: out, maxFiles: 3, maxAgeMs: null });
    for (let i = 0; i < 5; i++)
      await f.send({
        id: `hs-c-s-${i * 2 + 1}-${i * 2 + 2}`,
        firstSeq: i * 2 + 1,
        lastSeq: i * 2 + 2,
        records: 2,
        firstTime: clock + i * 3_600_000,
        payload: new Uint8Array([i]),
      });
    await f.prune(Date.now());
    expect(filesIn(out).map((p) => p.slice(out.length))).toEqual([
      '/dt=2026-12-03/hour=10/000000000005-000000000006.ndjson.gz',
      '/dt=2026-12-03/hour=11/000000000007-000000000008.ndjson.gz',
      '/dt=2026-12-03/hour=12/000000000009-000000000010.ndjson.gz',
    ]);
  });
});

describe('Retention with Sinks', () => {
  it('keeps what a Sink has not delivered past retention, until the hold runs out, then names the loss', async () => {
    await record(10);
    // Every version expired; the objects are deleted so no head version must stay.
    db.prepare('UPDATE versions SET keep_until = ?').run(clock - 1000);
    db.prepare('UPDATE objects SET deleted_at = ?').run(clock - 1000);
    store.position('sink-uid', 'sink', 'beginning', 0);
    store.skip('sink-uid', 4);
    const hold = new Retention(db, { maxBytes: null, gapMaxAgeMs: 1e12, sinkMaxHoldMs: 60_000 });
    const r1 = await hold.run(clock);
    expect(r1.versions).toBe(4);
    expect(db.prepare('SELECT min(seq) AS s FROM versions').get()).toEqual({ s: 5 });
    expect(store.losses('sink-uid')).toEqual([]);
    // An hour later the hold has run out: removed, and the Sink's loss says which records.
    const r2 = await hold.run(clock + 3_600_000);
    expect(r2.versions).toBe(6);
    expect(store.losses('sink-uid')).toEqual([
      expect.objectContaining({ fromSeq: 5, toSeq: 10, records: 6, reason: 'retention' }),
    ]);
  });
});
