// Retention on a real SQLite file fed by the real recorder.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import type { Db } from '../../src/store/db.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import { Retention } from '../../src/store/retention.ts';
import { RolloutStore } from '../../src/store/rollouts.ts';
import { closeRecording, openRecording, watchTarget } from './fixtures/recording.ts';

const CM = watchTarget('', 'ConfigMap', 'configmaps');
const HOUR = 3_600_000;

let dir: string;
let path: string;
let db: Db;
let reader: HistoryReader;
let recorder: Recorder;
let rv = 0;

function cm(name: string, payload: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: String(++rv) },
    data: { payload },
  };
}

async function write(time: number, ...objects: KubeObject[]) {
  await recorder.write(
    CM,
    objects.map((object) => ({ type: 'MODIFIED' as const, object, time })),
  );
}

beforeEach(() => {
  ({ dir, path, db, recorder } = openRecording('hindsight-ret-', {
    policy: {
      name: 'short',
      spec: { resources: [{ group: '', kinds: ['ConfigMap'] }], retention: { maxAge: '1h' } },
    },
  }));
  reader = new HistoryReader(db);
});

afterEach(() => closeRecording({ dir, db, recorder }));

describe('Retention', () => {
  it('removes a rollout once no version of its window is left, and keeps the one of the current state', async () => {
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < 4; i++) await write(t0 + i * 10 * 60_000, cm('a', `v${i}`));
    await write(t0 + 2 * HOUR, cm('a', 'v4'));
    const seqs = db
      .prepare<[], { seq: number }>(
        "SELECT v.seq FROM versions v JOIN objects o ON o.id = v.object_id WHERE o.uid = 'uid-a' ORDER BY v.seq",
      )
      .all()
      .map((r) => r.seq);
    const store = new RolloutStore(db);
    const rollout = (from: number, to: number) => {
      store.insert({
        kind: 'Deployment',
        namespace: 'shop',
        name: 'a',
        uid: 'uid-a',
        generation: from,
        started: t0,
        oldRevision: null,
        newRevision: null,
        imagesBefore: [],
        imagesAfter: [],
        actor: null,
        startSeq: from,
      });
      const open = store.open('uid-a')!;
      store.update({ ...open, ended: t0, endSeq: to, outcome: 'complete' });
    };
    rollout(seqs[0]!, seqs[1]!);
    rollout(seqs[3]!, seqs[4]!);
    await new Retention(db, { maxBytes: null, gapMaxAgeMs: HOUR }).run(t0 + 2 * HOUR + 10 * 60_000);
    const left = db.prepare<[], { start_seq: number }>('SELECT start_seq FROM rollouts').all();
    expect(left.map((r) => r.start_seq)).toEqual([seqs[3]]);
  });

  it('removes history past its age, keeps the current state of live objects and rebuilds from it', async () => {
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < 5; i++)
      await write(t0 + i * 10 * 60_000, cm('a', `v${i}`), cm('b', `v${i}`));
    await recorder.write(CM, [{ type: 'DELETED', object: cm('b', 'v4'), time: t0 + 45 * 60_000 }]);
    await write(t0 + 2 * HOUR, cm('a', 'v5'));

    // At t0 + 1h35m every version before t0 + 35m has expired.
    const result = await new Retention(db, { maxBytes: null, gapMaxAgeMs: HOUR }).run(
      t0 + HOUR + 35 * 60_000,
    );
    const a = reader.objects({ name: 'a' })[0]!;
    const versions = reader.versions(a.id);
    expect(
      versions.map(
        (v) => (reader.bodyAt(a.id, v.seq) as { data: { payload: string } }).data.payload,
      ),
    ).toEqual(['v4', 'v5']);
    // The first surviving version became a full snapshot, so it rebuilds without its predecessors.
    expect(versions[0]!.body_kind).toBe(0);
    expect(reader.versions(reader.objects({ name: 'b' })[0]!.id).map((v) => v.type)).toEqual([
      'modified',
      'deleted',
    ]);
    expect(result.versions).toBe(4 + 4);

    // Much later: a's latest version stays (a still exists), b goes entirely.
    await new Retention(db, { maxBytes: null, gapMaxAgeMs: HOUR }).run(t0 + 10 * HOUR);
    expect(reader.versions(a.id).map((v) => v.seq)).toEqual([versions[1]!.seq]);
    expect(
      (reader.bodyAt(a.id, versions[1]!.seq) as { data: { payload: string } }).data.payload,
    ).toBe('v5');
    expect(reader.objects({ name: 'b' })).toEqual([]);
  });

  it('keeps the file at the byte budget under steady load, removing the oldest history first', async () => {
    const budget = 4 * 1024 * 1024;
    const retention = new Retention(db, { maxBytes: budget, gapMaxAgeMs: HOUR, chunk: 200 });
    const sizes: number[] = [];
    const t0 = 1_800_000_000_000;
    let time = t0;
    // 60 rounds of 100 changes of ~2 KB of incompressible data: ~12 MB written in all.
    for (let round = 0; round < 60; round++) {
      const objects = Array.from({ length: 100 }, (_, i) =>
        cm(`o${i}`, randomBytes(1500).toString('base64')),
      );
      await write((time += 60_000), ...objects);
      await retention.run(time);
      sizes.push(statSync(path).size);
    }
    const steady = sizes.slice(20);
    // The database file stops growing: it stays within the budget once reached.
    expect(Math.max(...steady)).toBeLessThanOrEqual(budget);
    expect(Math.max(...steady)).toBeGreaterThan(budget / 2);
    // Oldest first: what remains is one contiguous tail of the recorded sequence.
    const remaining = db.prepare('SELECT min(time) AS t FROM versions').get() as { t: number };
    expect(remaining.t).toBeGreaterThan(t0 + 20 * 60_000);
    const times = (
      db.prepare('SELECT time FROM versions ORDER BY seq').all() as { time: number }[]
    ).map((r) => r.time);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    // Every remaining version still rebuilds.
    const o = reader.objects({ name: 'o7' })[0]!;
    for (const v of reader.versions(o.id)) expect(() => reader.bodyAt(o.id, v.seq)).not.toThrow();
  });

  it('counts a backup being sent in the byte budget: the database is kept smaller meanwhile', async () => {
    const budget = 4 * 1024 * 1024;
    let reserved = 0;
    const retention = new Retention(db, {
      maxBytes: budget,
      gapMaxAgeMs: HOUR,
      chunk: 200,
      reservedBytes: () => reserved,
    });
    let time = 1_800_000_000_000;
    for (let round = 0; round < 30; round++) {
      const objects = Array.from({ length: 100 }, (_, i) =>
        cm(`o${i}`, randomBytes(1500).toString('base64')),
      );
      await write((time += 60_000), ...objects);
      await retention.run(time);
    }
    const alone = retention.usedBytes();
    expect(alone).toBeGreaterThan(budget / 2);
    reserved = 2 * 1024 * 1024;
    await retention.run(time);
    const beside = retention.usedBytes();
    expect(beside + reserved).toBeLessThanOrEqual(budget * 0.9);
    expect(beside).toBeLessThan(alone);
  });
});
