// The read queries over a small recorded world, written through the real Recorder into a
// temporary SQLite database and read back on a read-only connection of its own:
// - shop: Service web; Deployment web → ReplicaSet web-1 → Pods web-1-a, web-1-b; at +60 s a
//   rollout to web-2 (ReplicaSet web-2, Pods web-2-a, web-2-b) deletes the web-1 Pods; Events
//   Scheduled (Normal) and BackOff (Warning, count 1 → 3 → 5).
// - blog: Deployment blog → ReplicaSet blog-1 → Pods blog-1-a, blog-1-b; a relist at +100 s
//   finds blog-1-b gone (an inferred deletion) after a gap from +80 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, ReflectorItem, WatchTarget } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import { compilePolicy } from '../../src/recorder/policy.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import {
  HistoryQueries,
  QueryError,
  type Access,
  type Page,
  type SinceItem,
} from '../../src/store/queries.ts';
import { grantAccess, toGrant } from '../../src/store/query-wire.ts';
import { HistoryWriter } from '../../src/store/writer.ts';
import { watchTarget } from './fixtures/recording.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

const DEPLOYMENTS = watchTarget('apps', 'Deployment', 'deployments');
const REPLICASETS = watchTarget('apps', 'ReplicaSet', 'replicasets');
const PODS = watchTarget('', 'Pod', 'pods');
const BLOG_PODS = watchTarget('', 'Pod', 'pods', 'blog');
const SERVICES = watchTarget('', 'Service', 'services');
const EVENTS = watchTarget('', 'Event', 'events');

let rv = 100;
const meta = (ns: string, name: string, uid: string, created: number, extra: object = {}) => ({
  namespace: ns,
  name,
  uid,
  resourceVersion: String(++rv),
  creationTimestamp: iso(created),
  ...extra,
});

function deployment(ns: string, name: string, rev: 1 | 2, created: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(ns, name, `d-${name}`, created, {
      generation: rev,
      labels: rev === 1 ? { app: name } : { app: name, tier: 'front' },
      ...(rev === 1 ? { annotations: { 'hindsight.dev/note': 'first' } } : {}),
    }),
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { spec: { containers: [{ name: 'app', image: `${ns}/${name}:${rev}` }] } },
    },
  };
}

function replicaSet(ns: string, app: string, rev: number, replicas: number, created: number) {
  const name = `${app}-${rev}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: meta(ns, name, `rs-${name}`, created, {
      ownerReferences: [{ kind: 'Deployment', name: app, uid: `d-${app}`, controller: true }],
    }),
    spec: { replicas },
    status: { replicas },
  } satisfies KubeObject;
}

function pod(ns: string, rs: string, name: string, phase: string, created: number, node?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(ns, name, `p-${name}`, created, {
      labels: { app: rs.replace(/-\d+$/, ''), rev: rs.slice(-1) },
      ownerReferences: [{ kind: 'ReplicaSet', name: rs, uid: `rs-${rs}`, controller: true }],
    }),
    spec: { containers: [{ name: 'app' }], ...(node ? { nodeName: node } : {}) },
    status: { phase },
  } satisfies KubeObject;
}

function event(
  ns: string,
  name: string,
  about: string,
  reason: string,
  type: 'Normal' | 'Warning',
  count: number,
  first: number,
  last: number,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { namespace: ns, name, uid: `e-${name}`, resourceVersion: String(++rv) },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      name: about,
      uid: `p-${about}`,
    },
    reason,
    type,
    message: `${reason} ${about}`,
    source: { component: 'kubelet' },
    count,
    firstTimestamp: iso(first),
    lastTimestamp: iso(last),
  };
}

let dir: string;
let writeDb: Db;
let readDb: Db;
let q: HistoryQueries;

const all: Access = { allows: () => true };
const noBlog: Access = { allows: (r) => r.namespace !== 'blog' };
const nothing: Access = { allows: () => false };

async function record(world: [number, WatchTarget, ReflectorItem['type'], KubeObject][]) {
  const recorder = new Recorder({
    writer: new HistoryWriter(writeDb),
    log: createLogger('error'),
    batchDelayMs: 0,
  });
  const spec = {
    resources: [
      { group: 'apps', kinds: ['Deployment', 'ReplicaSet'] },
      { group: '', kinds: ['Pod', 'Service'] },
    ],
    events: true,
  };
  recorder.setPolicies([compilePolicy('all', 1, spec).policy]);
  for (const [time, t, type, object] of world) {
    await recorder.write(t, [{ type, object, time } as ReflectorItem]);
  }
  await recorder.write(BLOG_PODS, [
    {
      type: 'RELIST_DONE',
      rv: '900',
      seen: new Set(['p-blog-1-a']),
      time: s(100),
      gap: { start: s(80), reason: 'ResourceVersionExpired' },
    },
  ]);
  await recorder.stop();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-queries-'));
  writeDb = openDatabase(join(dir, 'history.db'));
  const shop = 'shop';
  const blog = 'blog';
  await record([
    [
      s(0),
      SERVICES,
      'ADDED',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(shop, 'web', 'svc-web', s(0)),
        spec: { selector: { app: 'web' } },
      },
    ],
    [s(0), DEPLOYMENTS, 'ADDED', deployment(shop, 'web', 1, s(0))],
    [s(1), REPLICASETS, 'ADDED', replicaSet(shop, 'web', 1, 2, s(1))],
    [s(2), PODS, 'ADDED', pod(shop, 'web-1', 'web-1-a', 'Pending', s(2))],
    [s(2), PODS, 'ADDED', pod(shop, 'web-1', 'web-1-b', 'Pending', s(2))],
    [s(3), PODS, 'MODIFIED', pod(shop, 'web-1', 'web-1-a', 'Running', s(2), 'node-1')],
    [s(3), PODS, 'MODIFIED', pod(shop, 'web-1', 'web-1-b', 'Running', s(2), 'node-1')],
    [s(5), DEPLOYMENTS, 'ADDED', deployment(blog, 'blog', 1, s(5))],
    [s(5), REPLICASETS, 'ADDED', replicaSet(blog, 'blog', 1, 2, s(5))],
    [s(6), PODS, 'ADDED', pod(blog, 'blog-1', 'blog-1-a', 'Running', s(6), 'node-2')],
    [s(6), PODS, 'ADDED', pod(blog, 'blog-1', 'blog-1-b', 'Running', s(6), 'node-2')],
    [
      s(10),
      EVENTS,
      'ADDED',
      event(shop, 'sched-a', 'web-1-a', 'Scheduled', 'Normal', 1, s(10), s(10)),
    ],
    [
      s(10),
      EVENTS,
      'ADDED',
      event(shop, 'sched-b', 'web-1-b', 'Scheduled', 'Normal', 1, s(10), s(10)),
    ],
    [
      s(20),
      EVENTS,
      'ADDED',
      event(blog, 'sched-blog', 'blog-1-a', 'Scheduled', 'Normal', 1, s(20), s(20)),
    ],
    // The rollout.
    [s(60), DEPLOYMENTS, 'MODIFIED', deployment(shop, 'web', 2, s(0))],
    [s(61), REPLICASETS, 'ADDED', replicaSet(shop, 'web', 2, 1, s(61))],
    [s(62), PODS, 'ADDED', pod(shop, 'web-2', 'web-2-a', 'Running', s(62), 'node-2')],
    [s(63), PODS, 'DELETED', pod(shop, 'web-1', 'web-1-a', 'Running', s(2), 'node-1')],
    [s(64), PODS, 'ADDED', pod(shop, 'web-2', 'web-2-b', 'Running', s(64), 'node-2')],
    [s(65), PODS, 'DELETED', pod(shop, 'web-1', 'web-1-b', 'Running', s(2), 'node-1')],
    [s(66), REPLICASETS, 'MODIFIED', replicaSet(shop, 'web', 1, 0, s(1))],
    [s(66), REPLICASETS, 'MODIFIED', replicaSet(shop, 'web', 2, 2, s(61))],
    [
      s(70),
      EVENTS,
      'ADDED',
      event(shop, 'backoff', 'web-2-b', 'BackOff', 'Warning', 1, s(70), s(70)),
    ],
    [
      s(90),
      EVENTS,
      'MODIFIED',
      event(shop, 'backoff', 'web-2-b', 'BackOff', 'Warning', 3, s(70), s(90)),
    ],
    [
      s(120),
      EVENTS,
      'MODIFIED',
      event(shop, 'backoff', 'web-2-b', 'BackOff', 'Warning', 5, s(70), s(120)),
    ],
  ]);
  readDb = openDatabase(join(dir, 'history.db'), { readonly: true });
  q = new HistoryQueries(readDb);
});

afterAll(() => {
  readDb.close();
  writeDb.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every page of a paginated query, checking that each page but the last is full. */
function pages<T>(limit: number, get: (cursor?: string) => Page<T>): T[][] {
  const out: T[][] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 100; n++) {
    const page = get(cursor);
    out.push(page.items);
    if (page.next === null) return out;
    expect(page.items).toHaveLength(limit);
    cursor = page.next;
  }
  throw new Error('pagination did not end');
}

const names = (items: { name: string }[]) => items.map((o) => o.name);

describe('searchResources', () => {
  it('finds objects by kind and namespace, deleted ones only when asked', () => {
    const pods = (includeDeleted: boolean) =>
      q.searchResources({ kind: 'Pod', namespace: 'shop', includeDeleted, limit: 10 }, all);
    expect(names(pods(true).items)).toEqual(['web-1-a', 'web-1-b', 'web-2-a', 'web-2-b']);
    expect(names(pods(false).items)).toEqual(['web-2-a', 'web-2-b']);
    const gone = pods(true).items[0];
    expect(gone).toMatchObject({
      uid: 'p-web-1-a',
      group: '',
      version: 'v1',
      resource: 'pods',
      createdAt: s(2),
      deletedAt: s(63),
      deletion: 'observed',
      owner: { kind: 'ReplicaSet', name: 'web-1', uid: 'rs-web-1' },
      node: 'node-1',
      labels: { app: 'web', rev: '1' },
      services: ['web'],
      versions: 3,
      lastChange: s(63),
    });
  });

  it('finds what was alive in a window, by name prefix and by label selector', () => {
    const beforeRollout = { from: s(5), to: s(30) };
    expect(
      names(
        q.searchResources(
          { kind: 'Pod', window: beforeRollout, includeDeleted: true, limit: 10 },
          all,
        ).items,
      ),
    ).toEqual(['blog-1-a', 'blog-1-b', 'web-1-a', 'web-1-b']);
    expect(
      names(q.searchResources({ namePrefix: 'web-2', includeDeleted: true, limit: 10 }, all).items),
    ).toEqual(['web-2-a', 'web-2-b', 'web-2']);
    expect(
      names(
        q.searchResources(
          {
            namespace: 'shop',
            labelSelector: [
              { key: 'app', operator: '=', values: ['web'] },
              { key: 'rev', operator: 'notin', values: ['1'] },
            ],
            includeDeleted: true,
            limit: 10,
          },
          all,
        ).items,
      ),
    ).toEqual(['web', 'web-2-a', 'web-2-b']);
    // blog-1-b was found gone at the relist: an inferred deletion.
    expect(
      q.searchResources({ name: 'blog-1-b', group: '', includeDeleted: true, limit: 1 }, all)
        .items[0],
    ).toMatchObject({ deletedAt: s(100), deletion: 'inferred' });
  });

  it('fills every page while skipping a namespace the caller may not read', () => {
    const visible = q.searchResources({ includeDeleted: true, limit: 100 }, noBlog).items;
    expect(visible.map((o) => o.namespace)).not.toContain('blog');
    expect(visible).toHaveLength(8);
    for (const query of [
      { includeDeleted: true },
      { includeDeleted: true, window: { from: s(0), to: s(200) } },
      { includeDeleted: false },
    ]) {
      const got = pages(2, (cursor) =>
        q.searchResources({ ...query, limit: 2, cursor }, noBlog),
      ).flat();
      const expected = query.includeDeleted ? visible : visible.filter((o) => !o.deletedAt);
      expect(got.map((o) => o.uid)).toEqual(expected.map((o) => o.uid));
    }
    const hiddenFirst = { allows: (r: { namespace: string }) => r.namespace !== 'shop' };
    expect(
      names(
        pages(1, (cursor) =>
          q.searchResources({ kind: 'Pod', includeDeleted: true, limit: 1, cursor }, hiddenFirst),
        ).flat(),
      ),
    ).toEqual(['blog-1-a', 'blog-1-b']);
  });

  it('rejects a malformed cursor', () => {
    for (const cursor of [
      'not a cursor!',
      'eyJ4IjoxfQ',
      Buffer.from('["e",1,2]').toString('base64url'),
    ]) {
      expect(() => q.searchResources({ includeDeleted: true, limit: 2, cursor }, all)).toThrow(
        QueryError,
      );
      expect(() => q.searchResources({ includeDeleted: true, limit: 2, cursor }, all)).toThrow(
        /cursor/,
      );
    }
    const thrown = (() => {
      try {
        q.events({ window: { from: 0, to: s(999) }, limit: 1, cursor: 'garbage' }, all);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(thrown).toMatchObject({ name: 'QueryError', field: 'cursor' });
    expect(() => q.searchResources({ includeDeleted: true, limit: 0 }, all)).toThrow(/limit/);
  });
});

describe('one object', () => {
  it('is found by uid unless hidden', () => {
    expect(q.object('d-web', all)).toMatchObject({ kind: 'Deployment', name: 'web', versions: 2 });
    expect(q.object('d-blog', noBlog)).toBeUndefined();
    expect(q.object('no-such-uid', all)).toBeUndefined();
  });

  it('lists versions newest first, in pages, in a window', () => {
    const uid = 'p-web-1-a';
    const desc = pages(1, (cursor) => q.versions(uid, { limit: 1, cursor }, all)!).flat();
    expect(desc.map((v) => [v.type, v.time])).toEqual([
      ['deleted', s(63)],
      ['modified', s(3)],
      ['added', s(2)],
    ]);
    expect(desc[1]).toMatchObject({ paths: ['spec.nodeName', 'status.phase'], inferred: false });
    const asc = q.versions(uid, { limit: 10, order: 'asc' }, all)!;
    expect(asc.items.map((v) => v.seq)).toEqual(desc.map((v) => v.seq).reverse());
    expect(
      q.versions(uid, { limit: 10, window: { from: s(3), to: s(60) } }, all)!.items,
    ).toHaveLength(1);
    expect(q.versions('p-blog-1-a', { limit: 10 }, noBlog)).toBeUndefined();
    // A cursor of the newest-first order does not resume the oldest-first one.
    const first = q.versions(uid, { limit: 1 }, all)!;
    expect(() =>
      q.versions(uid, { limit: 1, order: 'asc', cursor: first.next ?? undefined }, all),
    ).toThrow(/cursor/);
  });

  it('rebuilds a version, and the object as of an instant', () => {
    const [v2, v1] = q.versions('d-web', { limit: 10 }, all)!.items;
    expect(q.version('d-web', v1!.seq, all)?.object).toMatchObject({
      spec: { template: { spec: { containers: [{ image: 'shop/web:1' }] } } },
    });
    const image = (t: number) =>
      (
        q.at('d-web', t, all)?.object as {
          spec: { template: { spec: { containers: { image: string }[] } } };
        }
      ).spec.template.spec.containers[0]!.image;
    expect(image(s(60) - 1)).toBe('shop/web:1');
    expect(image(s(60))).toBe('shop/web:2');
    expect(q.at('d-web', s(60) - 1, all)?.version.seq).toBe(v1!.seq);
    expect(q.at('d-web', s(0) - 1, all)).toBeUndefined();
    expect(q.version('d-web', v2!.seq, noBlog)?.version.type).toBe('modified');
    // A version of another object is not this object's.
    expect(q.version('d-blog', v2!.seq, all)).toBeUndefined();
  });

  it('diffs two versions, by seq and by time', () => {
    const [v2, v1] = q.versions('d-web', { limit: 10 }, all)!.items;
    const bySeq = q.diff('d-web', { seq: v1!.seq }, { seq: v2!.seq }, all)!;
    const byTime = q.diff('d-web', { time: s(30) }, { time: s(300) }, all)!;
    expect(byTime).toEqual(bySeq);
    expect(bySeq.from.seq).toBe(v1!.seq);
    expect(bySeq.text).toEqual([
      '~ metadata.generation: 1 → 2',
      '+ metadata.labels.tier: "front"',
      '- metadata.annotations',
      '~ spec.template.spec.containers[0].image: "shop/web:1" → "shop/web:2"',
    ]);
    expect(bySeq.patch).toContainEqual({
      op: 'replace',
      path: '/spec/template/spec/containers/0/image',
      value: 'shop/web:2',
    });
    expect(q.diff('d-web', { time: s(-10) }, { seq: v2!.seq }, all)).toBeUndefined();
    expect(q.diff('d-blog', { time: s(10) }, { time: s(20) }, noBlog)).toBeUndefined();
  });
});

describe('events', () => {
  const day = { from: s(0), to: s(3600) };

  it('lists Events occurring in the window, newest first, with their occurrences', () => {
    const page = q.events({ window: day, limit: 10 }, all);
    expect(page.items.map((e) => e.name)).toEqual(['backoff', 'sched-blog', 'sched-b', 'sched-a']);
    expect(page.items[0]).toMatchObject({
      reason: 'BackOff',
      type: 'Warning',
      count: 5,
      firstTime: s(70),
      lastTime: s(120),
      involved: { kind: 'Pod', name: 'web-2-b', uid: 'p-web-2-b', namespace: 'shop', group: '' },
      source: 'kubelet',
    });
    expect(page.items[0]!.occurrences.map((o) => [o.time, o.count])).toEqual([
      [s(70), 1],
      [s(90), 2],
      [s(120), 2],
    ]);
    const mid = q.events({ window: { from: s(60), to: s(100) }, limit: 10 }, all);
    expect(mid.items.map((e) => [e.name, e.occurrences.map((o) => o.count)])).toEqual([
      ['backoff', [1, 2]],
    ]);
  });

  it('filters by namespace, involved object, reason and type, and by access', () => {
    const names = (query: object, access = all) =>
      q.events({ window: day, limit: 10, ...query }, access).items.map((e) => e.name);
    expect(names({ namespace: 'shop', type: 'Normal' })).toEqual(['sched-b', 'sched-a']);
    expect(names({ involvedUid: 'p-web-1-a' })).toEqual(['sched-a']);
    expect(names({ involvedUid: 'p-blog-1-a' }, noBlog)).toEqual([]);
    expect(names({ reason: 'Scheduled' }, noBlog)).toEqual(['sched-b', 'sched-a']);
    expect(names({ namespace: 'blog' }, noBlog)).toEqual([]);
    const paged = pages(1, (cursor) => q.events({ window: day, limit: 1, cursor }, noBlog));
    expect(paged.flat().map((e) => e.name)).toEqual(['backoff', 'sched-b', 'sched-a']);
  });
});

describe('timeline', () => {
  const window = { from: s(0), to: s(180) - 1 };

  it('orders rows by owner chain, with lifespans, change ticks and Event buckets', () => {
    const t = q.timeline({ namespace: 'shop', window, buckets: 18 }, all);
    expect(t.bucketMs).toBe(10_000);
    expect(t.rows.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'Deployment/web',
      'ReplicaSet/web-1',
      'Pod/web-1-a',
      'Pod/web-1-b',
      'ReplicaSet/web-2',
      'Pod/web-2-a',
      'Pod/web-2-b',
      'Service/web',
    ]);
    const row = (name: string) => t.rows.find((r) => r.name === name)!;
    expect(row('web-2-a').ownerChain).toEqual([
      { kind: 'ReplicaSet', name: 'web-2', uid: 'rs-web-2' },
      { kind: 'Deployment', name: 'web', uid: 'd-web' },
    ]);
    expect(row('web').ownerChain).toEqual([]);
    expect(row('web-1-a').lifespan).toEqual({ start: s(2), end: s(63), deletion: 'observed' });
    expect(row('web-1-a').changes.map((c) => [c.type, c.time])).toEqual([
      ['added', s(2)],
      ['modified', s(3)],
      ['deleted', s(63)],
    ]);
    expect(row('web-2-b').events).toEqual([
      { bucket: 7, normal: 0, warning: 1 },
      { bucket: 9, normal: 0, warning: 2 },
      { bucket: 12, normal: 0, warning: 2 },
    ]);
    expect(row('web-1-b').events).toEqual([{ bucket: 1, normal: 1, warning: 0 }]);
    expect(t.gaps).toEqual([]);
    expect(t.truncated).toBe(false);
  });

  it('keeps to a window, kinds and access, and shows the gaps of the namespace', () => {
    const late = q.timeline(
      { namespace: 'shop', window: { from: s(100), to: s(200) }, buckets: 10 },
      all,
    );
    expect(late.rows.map((r) => r.name)).toEqual([
      'web',
      'web-1',
      'web-2',
      'web-2-a',
      'web-2-b',
      'web',
    ]);
    expect(late.rows.every((r) => r.changes.length === 0)).toBe(true);
    const pods = q.timeline({ namespace: 'shop', kinds: ['Pod'], window, buckets: 1 }, all);
    expect(pods.rows.map((r) => r.name)).toEqual(['web-1-a', 'web-1-b', 'web-2-a', 'web-2-b']);
    expect(pods.rows[2]!.ownerChain.map((o) => o.name)).toEqual(['web-2', 'web']);
    const blog = q.timeline({ namespace: 'blog', window, buckets: 18 }, all);
    expect(blog.gaps).toEqual([
      {
        watch: '/pods@blog',
        group: '',
        resource: 'pods',
        namespace: 'blog',
        start: s(80),
        end: s(100),
        reason: 'ResourceVersionExpired',
      },
    ]);
    expect(blog.rows.find((r) => r.name === 'blog-1-b')?.lifespan).toEqual({
      start: s(6),
      end: s(100),
      deletion: 'inferred',
    });
    expect(q.timeline({ namespace: 'blog', window, buckets: 18 }, noBlog)).toMatchObject({
      rows: [],
      gaps: [],
    });
    const noEvents = { allows: (r: { resource: string }) => r.resource !== 'events' };
    const quiet = q.timeline({ namespace: 'shop', window, buckets: 18 }, noEvents);
    expect(quiet.rows.flatMap((r) => r.events)).toEqual([]);
    expect(q.timeline({ namespace: 'shop', window, buckets: 18, limit: 2 }, all)).toMatchObject({
      truncated: true,
      rows: [{ name: 'web' }, { name: 'web-1' }],
    });
    expect(() => q.timeline({ namespace: 'shop', window, buckets: 0 }, all)).toThrow(/buckets/);
  });
});

describe('namespaceState', () => {
  const state = (at: number) =>
    q
      .namespaceState('shop', at, {}, all)
      .items.map((e) => `${e.object.kind}/${e.object.name}@${e.version.type}`);

  it('is the namespace before and after the rollout', () => {
    expect(state(s(60) - 1)).toEqual([
      'Deployment/web@added',
      'Pod/web-1-a@modified',
      'Pod/web-1-b@modified',
      'ReplicaSet/web-1@added',
      'Service/web@added',
    ]);
    expect(state(s(100))).toEqual([
      'Deployment/web@modified',
      'Pod/web-2-a@added',
      'Pod/web-2-b@added',
      'ReplicaSet/web-1@modified',
      'ReplicaSet/web-2@modified',
      'Service/web@added',
    ]);
    const after = q.namespaceState('shop', s(100), { kinds: ['ReplicaSet'] }, all);
    expect(
      after.items.map((e) => (e.body as { spec: { replicas: number } }).spec.replicas),
    ).toEqual([0, 2]);
    expect(state(s(-1))).toEqual([]);
    expect(q.namespaceState('blog', s(50), {}, noBlog)).toEqual({ items: [], next: null });
  });

  it('pages by limit with a cursor, each object once, in order', () => {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = q.namespaceState('shop', s(100), { limit: 2, cursor }, all);
      expect(page.items.length).toBeLessThanOrEqual(2);
      names.push(...page.items.map((e) => `${e.object.kind}/${e.object.name}`));
      cursor = page.next ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(names).toEqual(state(s(100)).map((n) => n.split('@')[0]));
    expect(() => q.namespaceState('shop', s(100), { cursor: 'bogus' }, all)).toThrow(/cursor/);
    // Later pages keep the first page's instant, whatever `at` they are given.
    const first = q.namespaceState('shop', s(100), { limit: 2 }, all);
    const second = q.namespaceState('shop', s(-1), { limit: 2, cursor: first.next! }, all);
    expect(second.items.map((e) => `${e.object.kind}/${e.object.name}`)).toEqual(names.slice(2, 4));
    expect(() => q.namespaceState('shop', s(100), { limit: 1001 }, all)).toThrow(/limit/);
  });
});

describe('access selected in SQL', () => {
  // As the query threads receive it: the Access carried as data (grantAccess), which names the
  // resources it allows per namespace, so queries select them in SQL.
  const SCOPES = ['shop', 'blog'].flatMap((namespace) =>
    ['pods', 'replicasets', 'deployments', 'services', 'events'].map((resource) => ({
      group: resource === 'pods' || resource === 'services' || resource === 'events' ? '' : 'apps',
      resource,
      namespace,
    })),
  );
  const podsInShop: Access = {
    allows: (r) => r.group === '' && r.resource === 'pods' && r.namespace === 'shop',
  };
  const granted = (a: Access) => grantAccess(toGrant(a, SCOPES));
  const window = { from: s(-10), to: s(200) };

  /** HistoryQueries over `db` counting runs of statements reading the lifespan index. */
  function counting(): { q: HistoryQueries; reads: () => number } {
    let reads = 0;
    const spy = new Proxy(readDb, {
      get(target, prop, receiver) {
        if (prop === 'prepare') {
          return (sql: string) => {
            const stmt = target.prepare(sql);
            if (!sql.includes('objects_by_lifespan')) return stmt;
            return new Proxy(stmt, {
              get(t, p, r) {
                const v = Reflect.get(t, p, r) as unknown;
                if (p !== 'all' || typeof v !== 'function') return v;
                return (...args: unknown[]) => {
                  reads++;
                  return (v as (...a: unknown[]) => unknown).apply(t, args);
                };
              },
            });
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    return { q: new HistoryQueries(spy), reads: () => reads };
  }

  it('answers as the per-row check does, and shows only the allowed resources', () => {
    const g = granted(podsInShop);
    expect(g.resourcesIn?.('shop')).toEqual([['', 'pods']]);
    expect(g.resourcesIn?.('blog')).toEqual([]);
    const kinds = (t: { rows: { kind: string }[] }) => [...new Set(t.rows.map((r) => r.kind))];
    const tl = q.timeline({ namespace: 'shop', window, buckets: 10 }, g);
    expect(tl).toEqual(q.timeline({ namespace: 'shop', window, buckets: 10 }, podsInShop));
    expect(kinds(tl)).toEqual(['Pod']);
    expect(kinds(q.timeline({ namespace: 'shop', window, buckets: 10 }, all))).toContain(
      'Deployment',
    );
    const state = q.namespaceState('shop', s(100), {}, g);
    expect(state).toEqual(q.namespaceState('shop', s(100), {}, podsInShop));
    expect(state.items.map((e) => e.object.kind)).toEqual(['Pod', 'Pod']);
    const changes = q.changes({ window, limit: 100 }, g);
    expect(changes).toEqual(q.changes({ window, limit: 100 }, podsInShop));
    expect(changes.items.length).toBeGreaterThan(0);
    expect(changes.items.every((c) => c.object.kind === 'Pod')).toBe(true);
  });

  it('reads no object of a namespace the caller may read nothing of', () => {
    const { q: spied, reads } = counting();
    const g = granted(podsInShop);
    expect(spied.timeline({ namespace: 'blog', window, buckets: 10 }, g).rows).toEqual([]);
    expect(spied.namespaceState('blog', s(100), {}, g).items).toEqual([]);
    expect(spied.changes({ namespace: 'blog', window, limit: 10 }, g).items).toEqual([]);
    expect(reads()).toBe(0);
    // The same queries where something is readable do read the index.
    expect(
      spied.timeline({ namespace: 'shop', window, buckets: 10 }, g).rows.length,
    ).toBeGreaterThan(0);
    expect(reads()).toBe(1);
  });
});

describe('changes', () => {
  const rollout = { from: s(60), to: s(100) };

  it('lists what changed between two instants, with the patch over the window', () => {
    const page = q.changes({ window: rollout, limit: 20 }, all);
    expect(page.next).toBeNull();
    expect(page.items.map((c) => `${c.object.namespace}/${c.object.name}`)).toEqual([
      'blog/blog-1-b',
      'shop/web',
      'shop/web-1-a',
      'shop/web-1-b',
      'shop/web-2-a',
      'shop/web-2-b',
      'shop/web-1',
      'shop/web-2',
    ]);
    const web = page.items.find((c) => c.object.kind === 'Deployment')!;
    expect(web.versions.map((v) => v.type)).toEqual(['modified']);
    expect(web.patch).toContainEqual({
      op: 'replace',
      path: '/spec/template/spec/containers/0/image',
      value: 'shop/web:2',
    });
    const created = page.items.find((c) => c.object.name === 'web-2')!;
    expect(created.versions.map((v) => v.type)).toEqual(['added', 'modified']);
    expect(created.patch).toMatchObject([
      { op: 'add', path: '', value: { spec: { replicas: 2 } } },
    ]);
    const gone = page.items.find((c) => c.object.name === 'web-1-a')!;
    expect(gone.versions.map((v) => v.type)).toEqual(['deleted']);
    expect(gone.patch).toEqual([]);
  });

  it('pages through namespaces the caller may read', () => {
    const got = pages(3, (cursor) => q.changes({ window: rollout, limit: 3, cursor }, noBlog));
    expect(got.flat().map((c) => c.object.name)).toEqual([
      'web',
      'web-1-a',
      'web-1-b',
      'web-2-a',
      'web-2-b',
      'web-1',
      'web-2',
    ]);
    expect(
      q.changes({ namespace: 'shop', window: { from: s(130), to: s(200) }, limit: 5 }, all).items,
    ).toEqual([]);
  });
});

describe('since', () => {
  it('merges versions and Event occurrences in sequence order, resumable', () => {
    const everything = q.since(0, { limit: 1000 }, all);
    const seqs = everything.map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(everything.filter((i) => i.kind === 'occurrence')).toHaveLength(6);
    expect(everything.filter((i) => i.kind === 'version')).toHaveLength(20);
    // Resumes past the last record: the head, which a gap after it (not a stream item) may hold.
    expect(everything.next).toBe(q.head());
    expect(everything.next).toBeGreaterThanOrEqual(seqs.at(-1)!);

    const stream: SinceItem[] = [];
    let from = 0;
    for (;;) {
      const part = q.since(from, { limit: 4 }, noBlog);
      stream.push(...part);
      if (part.next === from) break;
      from = part.next;
    }
    expect(stream.map((i) => i.seq)).toEqual(
      everything
        .filter((i) => (i.object?.namespace ?? i.event?.namespace) !== 'blog')
        .map((i) => i.seq),
    );
    const backoff = stream.filter((i) => i.event?.name === 'backoff');
    expect(backoff.map((i) => i.event!.occurrences.map((o) => o.count))).toEqual([[1], [2], [2]]);
    expect(stream.find((i) => i.kind === 'version')).toMatchObject({
      object: { kind: 'Service', name: 'web' },
      version: { type: 'added' },
    });
  });

  it('filters by namespace and kinds, and moves past what the caller may not see', () => {
    const kinds = (items: SinceItem[]) => [...new Set(items.map((i) => i.object?.kind ?? 'Event'))];
    expect(kinds(q.since(0, { limit: 1000, kinds: ['Event'] }, all))).toEqual(['Event']);
    expect(kinds(q.since(0, { limit: 1000, kinds: ['Pod'], namespace: 'blog' }, all))).toEqual([
      'Pod',
    ]);
    const hidden = q.since(0, { limit: 10 }, nothing);
    expect(hidden).toHaveLength(0);
    expect(hidden.next).toBe(q.since(0, { limit: 1000 }, all).next);
  });
});
