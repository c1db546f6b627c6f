// The recorder and the store together, on a temporary SQLite database, fed with reflector items.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject, ReflectorItem } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import { compilePolicy } from '../../src/recorder/policy.ts';
import { digest } from '../../src/recorder/redact.ts';
import { Recorder, SNAPSHOT_EVERY } from '../../src/recorder/recorder.ts';
import type { Db } from '../../src/store/db.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import { HistoryWriter } from '../../src/store/writer.ts';
import { closeRecording, openRecording, watchTarget } from './fixtures/recording.ts';

const CM = watchTarget('', 'ConfigMap', 'configmaps');
const NODES = watchTarget('', 'Node', 'nodes');
const SECRETS = watchTarget('', 'Secret', 'secrets');
const EVENTS = watchTarget('', 'Event', 'events');

let dir: string;
let db: Db;
let writer: HistoryWriter;
let reader: HistoryReader;
let recorder: Recorder;
let clock = 1_000_000;

function configMap(
  name: string,
  rv: number,
  data: Record<string, string>,
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      resourceVersion: String(rv),
      creationTimestamp: '2026-11-01T10:00:00Z',
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          time: `2026-11-01T10:00:${String(rv % 60).padStart(2, '0')}Z`,
        },
      ],
      ...extra,
    },
    data,
  };
}

function item(type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC', object: KubeObject): ReflectorItem {
  return { type, object, time: ++clock };
}

function setPolicies(...specs: [string, Record<string, unknown>][]) {
  recorder.setPolicies(specs.map(([name, spec]) => compilePolicy(name, 1, spec as never).policy));
}

function history(name: string) {
  const o = reader.objects({ name })[0];
  if (!o) return [];
  return reader.versions(o.id).map((v) => ({ ...v, body: reader.bodyAt(o.id, v.seq) }));
}

beforeEach(() => {
  ({ dir, db, writer, recorder } = openRecording('hindsight-rec-', {
    recorder: { retryDelayMs: 10, now: () => clock },
  }));
  reader = new HistoryReader(db);
  setPolicies(['all', { resources: [{ group: '', kinds: ['ConfigMap', 'Node', 'Secret'] }] }]);
});

afterEach(() => closeRecording({ dir, db, recorder }));

/**
 * Replaces the recorder with one that reports whether it can write: every report in `states`,
 * and `paused`, settled by the first failed commit.
 */
async function writabilityReported() {
  await recorder.stop();
  const states: boolean[] = [];
  let failed!: () => void;
  const paused = new Promise<void>((resolve) => (failed = resolve));
  recorder = new Recorder({
    writer,
    log: createLogger('error'),
    batchDelayMs: 0,
    retryDelayMs: 10,
    onWritable: (ok) => {
      states.push(ok);
      if (!ok) failed();
    },
  });
  setPolicies(['all', { resources: [{ group: '', kinds: ['ConfigMap'] }] }]);
  return { states, paused };
}

describe('Recorder', () => {
  it('records an object as a snapshot, then changes as patches that rebuild every version', async () => {
    const items = [item('ADDED', configMap('a', 1, { v: '0' }))];
    for (let i = 1; i <= SNAPSHOT_EVERY + 3; i++)
      items.push(item('MODIFIED', configMap('a', 1 + i, { v: String(i) })));
    await recorder.write(CM, items);
    const h = history('a');
    expect(h).toHaveLength(SNAPSHOT_EVERY + 4);
    expect(h.map((v) => (v.body as { data: { v: string } }).data.v)).toEqual(
      h.map((_, i) => String(i)),
    );
    expect(h[0]).toMatchObject({ type: 'added', body_kind: 0 });
    expect(h[1]).toMatchObject({ type: 'modified', body_kind: 1, paths: '["data.v"]' });
    // A full snapshot every SNAPSHOT_EVERY versions bounds the rebuild.
    expect(h.filter((v) => v.body_kind === 0).map((v) => h.indexOf(v))).toEqual([
      0,
      SNAPSHOT_EVERY,
    ]);
    expect(h.map((v) => v.seq)).toEqual([...h.map((v) => v.seq)].sort((x, y) => x - y));
    expect(h[2]!.actor).toContain('kubectl-client-side-apply');
  });

  it('writes no version for replays, resyncs, no-op updates and ignored fields', async () => {
    const base = configMap('b', 10, { v: '1' });
    await recorder.write(CM, [item('ADDED', base)]);
    await recorder.write(CM, [
      // a replay after a resume: same resourceVersion
      item('MODIFIED', configMap('b', 10, { v: '1' })),
      // a relist of the unchanged object
      item('SYNC', configMap('b', 10, { v: '1' })),
      // a new resourceVersion whose only change is managedFields
      item(
        'MODIFIED',
        configMap(
          'b',
          11,
          { v: '1' },
          {
            managedFields: [{ manager: 'other', operation: 'Apply', time: '2026-11-01T11:00:00Z' }],
          },
        ),
      ),
    ]);
    expect(history('b')).toHaveLength(1);
    await recorder.write(CM, [item('MODIFIED', configMap('b', 12, { v: '2' }))]);
    expect(history('b')).toHaveLength(2);
  });

  it('does not version Node heartbeats', async () => {
    setPolicies(['nodes', { resources: [{ group: '', kinds: ['Node'] }] }]);
    const node = (rv: number, beat: string, ready = 'True'): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', uid: 'uid-n1', resourceVersion: String(rv) },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: ready,
            lastHeartbeatTime: beat,
            lastTransitionTime: '2026-11-01T00:00:00Z',
          },
        ],
      },
    });
    await recorder.write(NODES, [
      item('ADDED', node(1, '2026-11-01T10:00:00Z')),
      item('MODIFIED', node(2, '2026-11-01T10:00:20Z')),
      item('MODIFIED', node(3, '2026-11-01T10:00:40Z')),
      item('MODIFIED', node(4, '2026-11-01T10:01:00Z', 'False')),
    ]);
    expect(history('n1').map((v) => v.type)).toEqual(['added', 'modified']);
    expect(JSON.parse(history('n1')[1]!.paths!)).toEqual(['status.conditions[0].status']);
  });

  it('records a deletion, and infers deletions and a gap after a relist', async () => {
    await recorder.write(
      CM,
      ['x', 'y', 'z'].map((n, i) => item('ADDED', configMap(n, 20 + i, { n }))),
    );
    await recorder.write(CM, [item('DELETED', configMap('x', 30, { n: 'x' }))]);
    expect(reader.objects({ name: 'x' })[0]).toMatchObject({ deletion: 'observed' });
    expect(history('x').map((v) => v.type)).toEqual(['added', 'deleted']);
    // A deleted object keeps no last state; its final version still rebuilds from the history.
    const head = db
      .prepare(
        "SELECT length(o.last_body) AS n, h.object_id AS kept FROM objects o LEFT JOIN heads h ON h.object_id = o.id WHERE name = 'x'",
      )
      .get() as { n: number; kept: number | null };
    expect(head).toEqual({ n: 0, kept: null });
    expect((history('x')[1]!.body as { data: unknown }).data).toEqual({ n: 'x' });

    // The relist returns only y, with a change: z was deleted while nobody watched.
    await recorder.write(CM, [
      item('SYNC', configMap('y', 40, { n: 'y2' })),
      {
        type: 'RELIST_DONE',
        rv: '41',
        seen: new Set(['uid-y']),
        time: ++clock,
        gap: { start: 500, reason: 'ResourceVersionExpired' },
      },
    ]);
    expect(history('y').map((v) => v.type)).toEqual(['added', 'modified']);
    expect(history('z').map((v) => [v.type, v.inferred])).toEqual([
      ['added', 0],
      ['deleted', 1],
    ]);
    expect(reader.objects({ name: 'z' })[0]).toMatchObject({ deletion: 'inferred' });
    expect(reader.gaps()).toEqual([
      {
        watch: '/configmaps',
        api_group: '',
        resource: 'configmaps',
        namespace: '',
        start: 500,
        end: clock,
        reason: 'ResourceVersionExpired',
      },
    ]);
    expect(reader.checkpoints()).toEqual([{ watch: '/configmaps', rv: '41', time: clock }]);
    // 3 added, 1 observed and 1 inferred deletion, 1 modification.
    expect(reader.policyCounts('all').changes).toBe(6);
  });

  it('advances the checkpoint with watch events and bookmarks but not with relist items', async () => {
    await recorder.write(CM, [item('ADDED', configMap('c', 50, {}))]);
    expect(reader.checkpoints()[0]?.rv).toBe('50');
    await recorder.write(CM, [item('SYNC', configMap('d', 60, {}))]);
    expect(reader.checkpoints()[0]?.rv).toBe('50');
    await recorder.write(CM, [{ type: 'BOOKMARK', rv: '70', time: ++clock }]);
    expect(reader.checkpoints()[0]?.rv).toBe('70');
  });

  it('excludes by rule per policy, counts exclusions and rule errors, and records what any policy keeps', async () => {
    setPolicies(
      [
        'strict',
        {
          resources: [{ group: '', kinds: ['ConfigMap'] }],
          exclusionRules: [{ name: 'no-tmp', rule: { '==': [{ var: 'metadata.name' }, 'tmp'] } }],
        },
      ],
      [
        'only-shop',
        {
          resources: [{ group: '', kinds: ['ConfigMap'] }],
          namespaces: { include: ['shop'] },
          exclusionRules: [{ name: 'all', rule: true }],
        },
      ],
      [
        'broken',
        {
          resources: [{ group: '', kinds: ['ConfigMap'] }],
          exclusionRules: [{ name: 'throws', rule: { in: ['x', { var: 'data' }] } }],
        },
      ],
    );
    await recorder.write(CM, [
      item('ADDED', configMap('tmp', 80, { indexOf: 'x' })),
      item('ADDED', configMap('kept', 81, {})),
    ]);
    // `broken`'s rule throws for `tmp` (`in` over an object with an indexOf key): counted, and the
    // object kept rather than silently dropped.
    expect(
      reader
        .objects({})
        .map((o) => o.name)
        .sort(),
    ).toEqual(['kept', 'tmp']);
    expect(reader.policyCounts('strict')).toMatchObject({ changes: 1, excluded: 1 });
    expect(reader.policyCounts('only-shop')).toMatchObject({ changes: 0, excluded: 2 });
    expect(reader.policyCounts('broken')).toMatchObject({ changes: 2, ruleErrors: 1, excluded: 0 });
  });

  it('stores the owner, the node and the Services that select a Pod for later queries', async () => {
    setPolicies(['pods', { resources: [{ group: '', kinds: ['Pod', 'Service'] }] }]);
    const SVC = watchTarget('', 'Service', 'services');
    const PODS = watchTarget('', 'Pod', 'pods');
    const svc = (name: string, selector: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '1' },
      spec: { selector },
    });
    await recorder.write(SVC, [
      item('ADDED', svc('web', { app: 'web' })),
      item('ADDED', svc('all', { tier: 'front' })),
      item('ADDED', svc('db', { app: 'db' })),
    ]);
    await recorder.write(PODS, [
      item('ADDED', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'web-1',
          namespace: 'shop',
          uid: 'uid-web-1',
          resourceVersion: '2',
          labels: { app: 'web', tier: 'front' },
          ownerReferences: [
            { kind: 'ReplicaSet', name: 'web-7d9', uid: 'uid-rs', controller: true },
          ],
        },
        spec: { nodeName: 'node-a' },
      }),
    ]);
    expect(reader.objects({ name: 'web-1' })[0]).toMatchObject({
      owner_uid: 'uid-rs',
      owner_kind: 'ReplicaSet',
      owner_name: 'web-7d9',
      node_name: 'node-a',
      services: '["all","web"]',
      labels: '{"app":"web","tier":"front"}',
    });
  });

  it('stores Secrets as digests only', async () => {
    await recorder.write(SECRETS, [
      item('ADDED', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', namespace: 'shop', uid: 'uid-s', resourceVersion: '1' },
        data: { password: Buffer.from('hunter2').toString('base64') },
        stringData: { token: 'plain-token' },
      }),
    ]);
    const raw = db.prepare('SELECT body AS last_body FROM heads').get() as { last_body: Buffer };
    const body = JSON.stringify(history('s')[0]!.body);
    for (const text of [body, raw.last_body.toString('latin1')]) {
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain(Buffer.from('hunter2').toString('base64'));
      expect(text).not.toContain('plain-token');
    }
    expect(body).toMatch(/"password":"sha256:[0-9a-f]{64}"/);
  });

  it('exclusion rules cannot tell two Secret values apart, in clear or as their digest', async () => {
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const guess = (name: string, value: string) => ({
      name,
      rule: { '==': [{ var: 'data.password' }, value] },
    });
    setPolicies([
      'probe',
      {
        resources: [{ group: '', kinds: ['Secret'] }],
        exclusionRules: [
          guess('clear', b64('hunter2')),
          guess('digest', digest(b64('hunter2'))),
          { name: 'prefix', rule: { in: ['aHVu', { var: 'data.password' }] } },
          // Keys are stored anyway, and rules may still use them and the rest of the object.
          { name: 'by-key', rule: { '!!': { var: 'data.skip' } } },
        ],
      },
    ]);
    const secret = (name: string, rv: number, data: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: String(rv) },
      data,
    });
    await recorder.write(SECRETS, [
      item('ADDED', secret('right', 1, { password: b64('hunter2') })),
      item('ADDED', secret('wrong', 2, { password: b64('letmein') })),
      item('ADDED', secret('skipped', 3, { password: b64('hunter2'), skip: b64('x') })),
    ]);
    expect(
      reader
        .objects({ kind: 'Secret' })
        .map((o) => o.name)
        .sort(),
    ).toEqual(['right', 'wrong']);
    expect(reader.policyCounts('probe')).toMatchObject({ changes: 2, excluded: 1, ruleErrors: 0 });
  });

  it('counts Event count updates as occurrences of one Event', async () => {
    const ev = (rv: number, count: number, last: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'shop', uid: 'uid-e', resourceVersion: String(rv) },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'shop', uid: 'uid-p' },
      reason: 'BackOff',
      type: 'Warning',
      message: 'Back-off',
      count,
      firstTimestamp: '2026-11-01T10:00:00Z',
      lastTimestamp: last,
    });
    await recorder.write(EVENTS, [
      item('ADDED', ev(1, 1, '2026-11-01T10:00:00Z')),
      item('MODIFIED', ev(2, 3, '2026-11-01T10:00:30Z')),
      item('MODIFIED', ev(2, 3, '2026-11-01T10:00:30Z')),
      item('MODIFIED', ev(3, 4, '2026-11-01T10:01:00Z')),
    ]);
    const [e] = reader.events();
    expect(e).toMatchObject({ reason: 'BackOff', count: 4, involved_name: 'p' });
    expect(e!.occurrences.map((o) => o.count)).toEqual([1, 2, 1]);
    expect(reader.policyCounts('all').events).toBe(3);
  });

  it('pauses when the database cannot be written and resumes without loss when it can', async () => {
    const { states, paused } = await writabilityReported();
    // A database that may not grow fails like a full disk (SQLITE_FULL).
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    // Incompressible data, so the rows need new pages.
    const big = (i: number) =>
      configMap(`big-${i}`, 100 + i, { blob: randomBytes(20_000).toString('base64') });
    const done = recorder.write(
      CM,
      [0, 1, 2].map((i) => item('ADDED', big(i))),
    );
    await paused;
    expect(states[0]).toBe(false);
    expect(reader.objects({})).toEqual([]);
    db.pragma('max_page_count = 1073741823');
    await done;
    expect(states.at(-1)).toBe(true);
    expect(reader.objects({}).map((o) => o.name)).toEqual(['big-0', 'big-1', 'big-2']);
  });

  it('stops even while the database cannot be written, leaving the batch to be replayed', async () => {
    const { paused } = await writabilityReported();
    await recorder.write(CM, [item('ADDED', configMap('first', 200, {}))]);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const big = configMap('big', 201, { blob: randomBytes(40_000).toString('base64') });
    const pending = recorder.write(CM, [item('ADDED', big)]);
    // Stop only once the batch has failed, so stop() meets it retrying.
    await paused;
    await recorder.stop();
    await pending;
    db.pragma('max_page_count = 1073741823');
    expect(reader.objects({}).map((o) => o.name)).toEqual(['first']);
    // The checkpoint stayed before the lost batch, so the next start watches from there again.
    expect(reader.checkpoints()[0]?.rv).toBe('200');
  });

  it('selects namespaces by label from the Namespaces it has seen', async () => {
    setPolicies([
      'labelled',
      {
        resources: [{ group: '', kinds: ['ConfigMap'] }],
        namespaces: { selector: { matchLabels: { team: 'shop' } } },
      },
    ]);
    const NS = watchTarget('', 'Namespace', 'namespaces');
    const ns = (name: string, labels: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, uid: `uid-ns-${name}`, resourceVersion: '1', labels },
    });
    await recorder.write(NS, [
      item('ADDED', ns('shop', { team: 'shop' })),
      item('ADDED', ns('other', { team: 'ops' })),
    ]);
    const inNs = (name: string, namespace: string): KubeObject => ({
      ...configMap(name, 300, {}),
      metadata: { ...configMap(name, 300, {}).metadata, namespace, uid: `uid-${name}` },
    });
    await recorder.write(CM, [
      item('ADDED', inNs('in-shop', 'shop')),
      item('ADDED', inNs('in-other', 'other')),
    ]);
    expect(reader.objects({ kind: 'ConfigMap' }).map((o) => o.name)).toEqual(['in-shop']);
  });

  it('reads events.k8s.io/v1 Events into the same model, series counts as occurrences', async () => {
    const EV2 = watchTarget('events.k8s.io', 'Event', 'events');
    const ev = (rv: number, series?: { count: number; lastObservedTime: string }): KubeObject => ({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: {
        name: 'e2',
        namespace: 'shop',
        uid: 'uid-e2',
        resourceVersion: String(rv),
        creationTimestamp: '2026-11-01T10:00:00Z',
      },
      eventTime: '2026-11-01T10:00:00.000000Z',
      regarding: { kind: 'Pod', name: 'p', namespace: 'shop', uid: 'uid-p', apiVersion: 'v1' },
      reason: 'FailedScheduling',
      note: '0/2 nodes are available',
      type: 'Warning',
      reportingController: 'default-scheduler',
      ...(series ? { series } : {}),
    });
    await recorder.write(EV2, [
      item('ADDED', ev(1)),
      item('MODIFIED', ev(2, { count: 2, lastObservedTime: '2026-11-01T10:01:00.000000Z' })),
      item('MODIFIED', ev(3, { count: 5, lastObservedTime: '2026-11-01T10:02:00.000000Z' })),
    ]);
    const [e] = reader.events();
    expect(e).toMatchObject({
      reason: 'FailedScheduling',
      message: '0/2 nodes are available',
      count: 5,
      involved_kind: 'Pod',
      type: 'Warning',
    });
    expect(e!.occurrences.map((o) => [o.count, new Date(o.time).toISOString()])).toEqual([
      [1, '2026-11-01T10:00:00.000Z'],
      [1, '2026-11-01T10:01:00.000Z'],
      [3, '2026-11-01T10:02:00.000Z'],
    ]);
  });

  it('records an object seen alive after its inferred deletion as a new snapshot', async () => {
    await recorder.write(CM, [item('ADDED', configMap('back', 500, { v: '1' }))]);
    await recorder.write(CM, [
      { type: 'RELIST_DONE', rv: '501', seen: new Set(), time: ++clock, gap: null },
    ]);
    await recorder.write(CM, [item('MODIFIED', configMap('back', 502, { v: '2' }))]);
    const h = history('back');
    expect(h.map((v) => [v.type, v.body_kind])).toEqual([
      ['added', 0],
      ['deleted', 1],
      ['modified', 0],
    ]);
    expect((h[2]!.body as { data: unknown }).data).toEqual({ v: '2' });
    expect(reader.objects({ name: 'back' })[0]).toMatchObject({ deleted_at: null, deletion: null });
  });
});
