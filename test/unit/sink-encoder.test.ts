// The Sink encoder over a real recorded history: what each record holds, what a filter keeps, how
// batch limits cut, and that encoding a planned range again gives the same bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject, ReflectorItem } from '../../src/kube/reflector.ts';
import { SNAPSHOT_EVERY } from '../../src/recorder/recorder.ts';
import { SinkEncoder } from '../../src/sinks/encoder.ts';
import {
  EXPORT_ALL,
  RECORD_SCHEMA,
  type ChangeRecord,
  type EventRecord,
  type ExportRecord,
  type GapRecord,
  type RecordFilter,
} from '../../src/sinks/record.ts';
import type { Db } from '../../src/store/db.ts';
import { HEAD_SEQ_SQL } from '../../src/store/head.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import { closeRecording, openRecording, watchTarget } from './fixtures/recording.ts';

const CM = watchTarget('', 'ConfigMap', 'configmaps');
const PODS = watchTarget('', 'Pod', 'pods');
const EVENTS = watchTarget('', 'Event', 'events');

let dir: string;
let db: Db;
let recorder: Recorder;
let clock = Date.parse('2026-12-03T08:00:00Z');

function cm(ns: string, name: string, rv: number, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${ns}-${name}`,
      resourceVersion: String(rv),
      labels: { app: name },
      managedFields: [{ manager: 'kubectl', operation: 'Update', time: '2026-12-03T08:00:00Z' }],
    },
    data,
  };
}

function pod(name: string, rv: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-pod-${name}`,
      resourceVersion: String(rv),
      labels: { app: 'web' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-1',
          uid: 'uid-rs',
          controller: true,
        },
      ],
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx' }] },
  };
}

function event(rv: number, count: number, message: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e', namespace: 'shop', uid: 'uid-e', resourceVersion: String(rv) },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'shop', uid: 'uid-pod-p' },
    reason: 'BackOff',
    type: 'Warning',
    message,
    count,
    firstTimestamp: '2026-12-03T08:00:00Z',
    lastTimestamp: new Date(clock).toISOString(),
  };
}

function item(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): ReflectorItem {
  clock += 1000;
  return { type, object, time: clock };
}

function head(): number {
  return (db.prepare(HEAD_SEQ_SQL).get() as { seq: number }).seq;
}

function scanAll(enc: SinkEncoder, filter: RecordFilter = EXPORT_ALL): ExportRecord[] {
  const r = enc.scan({
    after: 0,
    hi: head(),
    filter,
    cluster: 'test',
    maxRecords: Number.MAX_SAFE_INTEGER,
    maxBytes: Number.MAX_SAFE_INTEGER,
  });
  return r.lines.map((l) => JSON.parse(l) as ExportRecord);
}

beforeEach(() => {
  ({ dir, db, recorder } = openRecording('hindsight-sink-enc-', {
    policy: {
      name: 'all',
      spec: { resources: [{ group: '', kinds: ['ConfigMap', 'Pod'] }], events: true },
    },
    recorder: { now: () => clock },
  }));
});

afterEach(() => closeRecording({ dir, db, recorder }));

describe('SinkEncoder', () => {
  it('exports every version with the full state it had, across snapshots and patches', async () => {
    const items = [item('ADDED', cm('shop', 'a', 1, { v: '0' }))];
    for (let i = 1; i <= SNAPSHOT_EVERY + 4; i++)
      items.push(item('MODIFIED', cm('shop', 'a', 1 + i, { v: String(i) })));
    items.push(item('DELETED', cm('shop', 'a', 100, { v: String(SNAPSHOT_EVERY + 4) })));
    await recorder.write(CM, items);
    const reader = new HistoryReader(db);
    const o = reader.objects({ name: 'a' })[0]!;
    const versions = reader.versions(o.id);
    // A fresh encoder for each record, so every one is rebuilt, and one for all: the same.
    const all = scanAll(new SinkEncoder(db)) as ChangeRecord[];
    expect(all.map((r) => r.seq)).toEqual(versions.map((v) => v.seq));
    for (const [i, v] of versions.entries()) {
      expect(all[i]!.object).toEqual(reader.bodyAt(o.id, v.seq));
      const alone = new SinkEncoder(db).scan({
        after: v.seq - 1,
        hi: v.seq,
        filter: EXPORT_ALL,
        cluster: 'test',
        maxRecords: 1,
        maxBytes: Number.MAX_SAFE_INTEGER,
      });
      expect(JSON.parse(alone.lines[0]!)).toEqual(all[i]);
    }
    expect(all.map((r) => r.change)).toEqual([
      'added',
      ...Array<string>(SNAPSHOT_EVERY + 4).fill('modified'),
      'deleted',
    ]);
    const first = all[0]!;
    expect(first).toMatchObject({
      schema: RECORD_SCHEMA,
      type: 'change',
      id: `uid-shop-a/1`,
      cluster: 'test',
      kind: 'ConfigMap',
      apiVersion: 'v1',
      namespace: 'shop',
      name: 'a',
      uid: 'uid-shop-a',
      resourceVersion: '1',
      enrichment: { labels: { app: 'a' }, owners: [], node: null },
    });
    expect(all[1]!.changedPaths).toEqual(['data.v']);
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
  });

  it('exports Event occurrences and gaps in sequence order with their stable ids', async () => {
    await recorder.write(PODS, [item('ADDED', pod('p', 1))]);
    await recorder.write(EVENTS, [
      item('ADDED', event(10, 1, 'Back-off 10s')),
      item('MODIFIED', event(11, 3, 'Back-off 20s')),
    ]);
    await recorder.write(CM, [
      {
        type: 'RELIST_DONE',
        rv: '50',
        seen: new Set(),
        time: (clock += 1000),
        gap: { start: clock - 60_000, reason: 'watch expired (410)' },
      },
    ]);
    const records = scanAll(new SinkEncoder(db));
    expect(records.map((r) => r.type)).toEqual(['change', 'event', 'event', 'gap']);
    const seqs = records.map((r) => r.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const podRecord = records[0] as ChangeRecord;
    expect(podRecord.enrichment).toMatchObject({
      node: 'node-1',
      owners: [{ kind: 'ReplicaSet', name: 'web-1', uid: 'uid-rs' }],
      labels: { app: 'web' },
    });
    const [e1, e2] = records.slice(1) as EventRecord[];
    expect(e1).toMatchObject({
      id: 'uid-e/10',
      count: 1,
      message: 'Back-off 10s',
      reason: 'BackOff',
    });
    expect(e2).toMatchObject({
      id: 'uid-e/11',
      count: 2,
      message: 'Back-off 20s',
      eventType: 'Warning',
    });
    expect(e2!.involvedObject).toEqual({
      apiGroup: null,
      kind: 'Pod',
      namespace: 'shop',
      name: 'p',
      uid: 'uid-pod-p',
    });
    const gap = records[3] as GapRecord;
    expect(gap).toMatchObject({
      watch: CM.key,
      resource: 'configmaps',
      reason: 'watch expired (410)',
    });
    expect(gap.id).toBe(`gap/${CM.key}/${Date.parse(gap.start)}`);
  });

  it('keeps only what the filter selects', async () => {
    await recorder.write(CM, [
      item('ADDED', cm('shop', 'a', 1, { v: '1' })),
      item('ADDED', cm('ops', 'b', 2, { v: '1' })),
    ]);
    await recorder.write(PODS, [item('ADDED', pod('p', 3))]);
    await recorder.write(EVENTS, [item('ADDED', event(4, 1, 'm'))]);
    const names = (f: Partial<RecordFilter>) =>
      scanAll(new SinkEncoder(db), { ...EXPORT_ALL, ...f }).map((r) =>
        r.type === 'change' ? `${r.kind}/${r.name}` : r.type,
      );
    expect(names({})).toEqual(['ConfigMap/a', 'ConfigMap/b', 'Pod/p', 'event']);
    expect(names({ events: false })).toEqual(['ConfigMap/a', 'ConfigMap/b', 'Pod/p']);
    expect(names({ changes: false })).toEqual(['event']);
    expect(names({ namespaces: ['ops'] })).toEqual(['ConfigMap/b']);
    expect(names({ exclude: ['ops'] })).toEqual(['ConfigMap/a', 'Pod/p', 'event']);
    expect(names({ kinds: ['Pod', 'Event'] })).toEqual(['Pod/p', 'event']);
    expect(
      names({
        policies: [{ kinds: ['/ConfigMap'], events: false, namespaces: null, exclude: [] }],
      }),
    ).toEqual(['ConfigMap/a', 'ConfigMap/b']);
  });

  it('cuts batches at maxRecords and maxBytes, and a planned range encodes to the same lines', async () => {
    const items: ReflectorItem[] = [];
    for (let i = 0; i < 30; i++)
      items.push(item('ADDED', cm('shop', `c${i}`, i + 1, { v: 'x'.repeat(100) })));
    await recorder.write(CM, items);
    const enc = new SinkEncoder(db);
    const byCount = enc.scan({
      after: 0,
      hi: head(),
      filter: EXPORT_ALL,
      cluster: 'test',
      maxRecords: 7,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    expect(byCount.records).toBe(7);
    expect(byCount.end).toBe(byCount.lastSeq);
    const oneSize = Buffer.byteLength(byCount.lines[0]!) + 1;
    const bySize = enc.scan({
      after: 0,
      hi: head(),
      filter: EXPORT_ALL,
      cluster: 'test',
      maxRecords: 1000,
      maxBytes: oneSize * 3 + 5,
    });
    expect(bySize.records).toBe(3);
    expect(bySize.bytes).toBeLessThanOrEqual(oneSize * 3 + 5);
    // Encoding (after, end] again, without limits, gives exactly the batch.
    const again = new SinkEncoder(db).scan({
      after: 0,
      hi: bySize.end,
      filter: EXPORT_ALL,
      cluster: 'test',
      maxRecords: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    expect(again.lines).toEqual(bySize.lines);
    // A single record larger than maxBytes still goes, alone.
    const tiny = enc.scan({
      after: 0,
      hi: head(),
      filter: EXPORT_ALL,
      cluster: 'test',
      maxRecords: 1000,
      maxBytes: 10,
    });
    expect(tiny.records).toBe(1);
    expect(enc.count(0, head(), EXPORT_ALL)).toBe(30);
    expect(enc.count(0, head(), { ...EXPORT_ALL, namespaces: ['ops'] })).toBe(0);
  });

  it('writes records the documented JSON Schema accepts, and the schema refuses others', async () => {
    await recorder.write(PODS, [item('ADDED', pod('p', 1)), item('DELETED', pod('p', 2))]);
    await recorder.write(CM, [item('ADDED', cm('shop', 'a', 3, { v: '1' }))]);
    await recorder.write(EVENTS, [
      item('ADDED', event(4, 1, 'm')),
      item('MODIFIED', event(5, 2, 'n')),
    ]);
    await recorder.write(CM, [
      {
        type: 'RELIST_DONE',
        rv: '9',
        seen: new Set(),
        time: (clock += 1000),
        gap: { start: clock - 5000, reason: 'expired' },
      },
    ]);
    const schema = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../docs/sink-record.schema.json'), 'utf8'),
    ) as object;
    const validate = new Ajv2020({
      strict: true,
      formats: { 'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/ },
    }).compile(schema);
    const records = scanAll(new SinkEncoder(db));
    // The ConfigMap's relist without it is an inferred deletion: every kind of record is here.
    expect(new Set(records.map((r) => r.type))).toEqual(new Set(['change', 'event', 'gap']));
    for (const r of records) expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...records[0], surprise: 1 })).toBe(false);
    expect(validate({ ...records[0], schema: 'hindsight.dev/record/v2' })).toBe(false);
  });
});
