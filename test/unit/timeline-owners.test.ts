// Owner chains of timeline rows when owners are shared, cyclic, self-referencing or deep: siblings
// share the walk above them, and a walk that meets the row itself again stops where it would.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryQueries, type Timeline } from '../../src/store/queries.ts';
import { openRecording, watchTarget } from './fixtures/recording.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const MAPS = watchTarget('', 'ConfigMap', 'configmaps');

let rv = 1;
const map = (name: string, owner?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    namespace: 'ns',
    name,
    uid: `u-${name}`,
    resourceVersion: String(++rv),
    creationTimestamp: new Date(T0 + rv * 1000).toISOString(),
    ...(owner
      ? {
          ownerReferences: [
            { kind: 'ConfigMap', name: owner, uid: `u-${owner}`, controller: true },
          ],
        }
      : {}),
  },
  data: { v: name },
});

let dir: string;
let db: Db;
let timeline: Timeline;

beforeAll(async () => {
  const recording = openRecording('hindsight-owners-', {
    policy: {
      name: 'all',
      spec: { resources: [{ group: '', kinds: ['ConfigMap'] }], events: false },
    },
  });
  const { path, db: writeDb, recorder } = recording;
  dir = recording.dir;
  const world = [
    // a and b own each other; c and d are owned by a; self owns itself.
    map('a', 'b'),
    map('b', 'a'),
    map('c', 'a'),
    map('d', 'a'),
    map('self', 'self'),
    // A chain of ten: deep-9 → deep-8 → … → deep-0.
    ...Array.from({ length: 10 }, (_, i) => map(`deep-${i}`, i ? `deep-${i - 1}` : undefined)),
    map('leaf-1', 'deep-9'),
    map('leaf-2', 'deep-9'),
  ];
  for (const object of world) {
    await recorder.write(MAPS, [{ type: 'ADDED', object, time: T0 + 60_000 }]);
  }
  await recorder.stop();
  writeDb.close();
  db = openDatabase(path, { readonly: true });
  timeline = new HistoryQueries(db).timeline(
    { namespace: 'ns', window: { from: T0, to: T0 + 3_600_000 }, buckets: 1 },
    { allows: () => true },
  );
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const chain = (name: string) =>
  timeline.rows.find((r) => r.name === name)?.ownerChain.map((o) => o.name);

describe('timeline owner chains', () => {
  it('stops a cycle where it meets a row already on the chain', () => {
    expect(chain('a')).toEqual(['b']);
    expect(chain('b')).toEqual(['a']);
    expect(chain('c')).toEqual(['a', 'b']);
    expect(chain('d')).toEqual(['a', 'b']);
    expect(chain('self')).toEqual([]);
  });

  it('cuts chains at eight owners, for siblings alike', () => {
    const expected = [
      'deep-9',
      'deep-8',
      'deep-7',
      'deep-6',
      'deep-5',
      'deep-4',
      'deep-3',
      'deep-2',
    ];
    expect(chain('leaf-1')).toEqual(expected);
    expect(chain('leaf-2')).toEqual(expected);
    expect(chain('deep-9')).toEqual(expected.slice(1).concat('deep-1'));
  });

  it('puts owners before what they own, siblings by creation', () => {
    const names = timeline.rows.map((r) => r.name);
    expect(names.indexOf('deep-9')).toBeLessThan(names.indexOf('leaf-1'));
    expect(names.indexOf('leaf-1')).toBeLessThan(names.indexOf('leaf-2'));
    expect(names.indexOf('a')).toBeLessThan(names.indexOf('c'));
    expect(names.indexOf('c')).toBeLessThan(names.indexOf('d'));
  });
});
