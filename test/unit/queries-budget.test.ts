// A page of `changes` examines at most SCAN_BUDGET rows and then ends early with a cursor: over a
// namespace with more objects alive than that, following the cursors must get past it (each page
// resuming where the last stopped, not re-counting what it already examined) to the namespaces
// after it, in a few pages.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryQueries, SCAN_BUDGET, type Access } from '../../src/store/queries.ts';
import { openRecording, watchTarget } from './fixtures/recording.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const PODS = watchTarget('', 'Pod', 'pods');
const all: Access = { allows: () => true };

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

let dir: string;
let db: Db;
let q: HistoryQueries;

beforeAll(async () => {
  const recording = openRecording('hindsight-budget-', {
    policy: { name: 'all', spec: { resources: [{ group: '', kinds: ['Pod'] }], events: false } },
  });
  ({ dir } = recording);
  let rv = 1;
  // 'big': more objects than one page may examine, none changed in the window.
  const batch = [];
  for (let i = 0; i < SCAN_BUDGET + 100; i++) {
    batch.push({ type: 'ADDED' as const, object: pod('big', `p-${i}`, ++rv), time: T0 });
  }
  await recording.recorder.write(PODS, batch);
  // 'zz', after it: one object changed in the window.
  await recording.recorder.write(PODS, [
    { type: 'ADDED', object: pod('zz', 'web', ++rv), time: T0 },
    { type: 'MODIFIED', object: pod('zz', 'web', rv + 1), time: T0 + 60_000 },
  ]);
  await recording.recorder.stop();
  recording.db.close();
  db = openDatabase(recording.path, { readonly: true });
  q = new HistoryQueries(db);
}, 120_000);

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('changes past the scan budget', () => {
  it('gets through a namespace larger than one page may examine, in a few pages', () => {
    const window = { from: T0 + 30_000, to: T0 + 120_000 };
    const found: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = q.changes({ window, limit: 50, cursor }, all);
      found.push(...page.items.map((c) => `${c.object.namespace}/${c.object.name}`));
      cursor = page.next ?? undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(found).toEqual(['zz/web']);
    expect(cursor).toBeUndefined();
    expect(pages).toBeLessThanOrEqual(3);
  });
});
