// Rollouts derived from recorded records: start on a new generation, end complete, failed (from
// status, from a ReplicaSet's Event, from a Pod's status), superseded or deleted; the API query
// filters them by what the caller may read; retention removes those whose window is gone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RolloutDeriver } from '../../src/rollouts/derive.ts';
import type { ChangeRecord, EventRecord, ExportRecord } from '../../src/sinks/record.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { Rollouts } from '../../src/store/queries/rollouts.ts';
import { RolloutStore } from '../../src/store/rollouts.ts';

const T0 = Date.parse('2026-12-03T10:00:00Z');
let seq = 0;

function change(
  kind: string,
  name: string,
  uid: string,
  object: Record<string, unknown>,
  opts: {
    change?: ChangeRecord['change'];
    at?: number;
    actor?: string;
    owners?: ChangeRecord['enrichment']['owners'];
  } = {},
): ChangeRecord {
  seq++;
  return {
    schema: 'hindsight.dev/record/v1',
    seq,
    id: `${uid}/${seq}`,
    cluster: 'c',
    time: new Date(opts.at ?? T0 + seq * 1000).toISOString(),
    type: 'change',
    change: opts.change ?? 'modified',
    inferred: false,
    apiVersion: 'apps/v1',
    kind,
    namespace: 'shop',
    name,
    uid,
    resourceVersion: String(seq),
    actor: opts.actor ?? null,
    changedPaths: [],
    object,
    enrichment: { owners: opts.owners ?? [], node: null, services: [], labels: {} },
  };
}

function deployment(
  generation: number,
  image: string,
  status: Record<string, unknown>,
  revision = String(generation),
) {
  return {
    metadata: {
      name: 'web',
      uid: 'd1',
      generation,
      creationTimestamp: new Date(T0).toISOString(),
      annotations: { 'deployment.kubernetes.io/revision': revision },
    },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image }] } } },
    status,
  };
}

const done = (g: number) => ({
  observedGeneration: g,
  replicas: 2,
  updatedReplicas: 2,
  availableReplicas: 2,
});
const rolling = (g: number) => ({
  observedGeneration: g,
  replicas: 3,
  updatedReplicas: 1,
  availableReplicas: 2,
});

function event(
  reason: string,
  message: string,
  involved: { kind: string; name: string; uid: string },
): EventRecord {
  seq++;
  return {
    schema: 'hindsight.dev/record/v1',
    seq,
    id: `e/${seq}`,
    cluster: 'c',
    time: new Date(T0 + seq * 1000).toISOString(),
    type: 'event',
    kind: 'Event',
    namespace: 'shop',
    name: `e${seq}`,
    uid: `e${seq}`,
    resourceVersion: String(seq),
    reason,
    eventType: 'Warning',
    message,
    count: 1,
    firstTime: new Date(T0).toISOString(),
    source: 'replicaset-controller',
    involvedObject: {
      apiGroup: 'apps',
      kind: involved.kind,
      namespace: 'shop',
      name: involved.name,
      uid: involved.uid,
    },
  };
}

let dir: string;
let db: Db;
let store: RolloutStore;
let deriver: RolloutDeriver;
const apply = (...records: ExportRecord[]) => store.advance(seq, () => deriver.apply(records));
const all = () =>
  new Rollouts(db)
    .list({ window: { from: 0, to: T0 + 1e9 }, limit: 100 }, { allows: () => true })
    .items.reverse();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-rollouts-'));
  db = openDatabase(join(dir, 'history.db'));
  store = new RolloutStore(db);
  deriver = new RolloutDeriver(store);
  seq = 0;
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RolloutDeriver', () => {
  it('records the creation rollout and an image change, each complete, with images, revisions and actor', () => {
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', { observedGeneration: 1 }), {
        change: 'added',
        actor: 'kubectl-create (Update)',
      }),
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1))),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', done(1), '1'), {
        actor: 'kubectl-set (Update)',
      }),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', rolling(2), '2')),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', done(2), '2')),
    );
    const [first, second] = all();
    expect(first).toMatchObject({
      generation: 1,
      outcome: 'complete',
      imagesBefore: [],
      imagesAfter: ['app:1'],
      newRevision: '1',
      actor: 'kubectl-create (Update)',
      startSeq: 1,
      endSeq: 2,
    });
    expect(second).toMatchObject({
      generation: 2,
      outcome: 'complete',
      oldRevision: '1',
      newRevision: '2',
      imagesBefore: ['app:1'],
      imagesAfter: ['app:2'],
      actor: 'kubectl-set (Update)',
      started: T0 + 3000,
      ended: T0 + 5000,
    });
    expect(store.cursor()).toBe(5);
  });

  it("fails a rollout on its ReplicaSet's FailedCreate Event, naming it and quoting the quota", () => {
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1)), { change: 'added' }),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', done(1))),
      change(
        'ReplicaSet',
        'web-2',
        'rs2',
        { metadata: { name: 'web-2', uid: 'rs2', creationTimestamp: new Date(T0).toISOString() } },
        { change: 'added', owners: [{ kind: 'Deployment', name: 'web', uid: 'd1' }] },
      ),
      event('FailedCreate', 'Error creating: pods "web-2-x" is forbidden: exceeded quota: q', {
        kind: 'ReplicaSet',
        name: 'web-2',
        uid: 'rs2',
      }),
    );
    const last = all().at(-1)!;
    expect(last.outcome).toBe('failed');
    expect(last.reason).toBe('FailedCreate');
    expect(last.message).toBe(
      'ReplicaSet web-2 FailedCreate: Error creating: pods "web-2-x" is forbidden: exceeded quota: q',
    );
    expect(last.events.map((e) => e.reason)).toEqual(['FailedCreate']);
  });

  it('fails on ProgressDeadlineExceeded with the last image pull problem of a new Pod as the why', () => {
    const stuck = {
      ...rolling(2),
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-2" has timed out progressing.',
        },
      ],
    };
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1)), { change: 'added' }),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', rolling(2))),
      change(
        'Pod',
        'web-2-a',
        'p1',
        {
          metadata: {
            name: 'web-2-a',
            uid: 'p1',
            creationTimestamp: new Date(T0 + 60_000).toISOString(),
          },
          status: {
            phase: 'Pending',
            containerStatuses: [
              {
                name: 'app',
                state: {
                  waiting: {
                    reason: 'ImagePullBackOff',
                    message: 'Back-off pulling image "app:2"',
                  },
                },
              },
            ],
          },
        },
        {
          change: 'added',
          at: T0 + 60_000,
          owners: [
            { kind: 'ReplicaSet', name: 'web-2', uid: 'rs2' },
            { kind: 'Deployment', name: 'web', uid: 'd1' },
          ],
        },
      ),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', stuck), { at: T0 + 700_000 }),
    );
    const last = all().at(-1)!;
    expect(last).toMatchObject({
      outcome: 'failed',
      reason: 'ProgressDeadlineExceeded',
      pods: ['web-2-a'],
    });
    expect(last.message).toBe(
      'ReplicaSet "web-2" has timed out progressing.; last problem: ImagePullBackOff: Pod web-2-a container app: ImagePullBackOff: Back-off pulling image "app:2"',
    );
  });

  it("tells a Deployment's new Pods from old ones created in the same second by their ReplicaSet's revision, and ends no earlier than it started", () => {
    const start = T0 + 10_000;
    const rs = (name: string, uid: string, revision: string) =>
      change(
        'ReplicaSet',
        name,
        uid,
        {
          metadata: {
            name,
            uid,
            creationTimestamp: new Date(T0).toISOString(),
            annotations: { 'deployment.kubernetes.io/revision': revision },
          },
        },
        { change: 'added', at: start, owners: [{ kind: 'Deployment', name: 'web', uid: 'd1' }] },
      );
    // Creation times have whole seconds: the old Pod's reads as 500 ms before the rollout.
    const pod = (name: string, rsName: string, rsUid: string, at: number, status = {}) =>
      change(
        'Pod',
        name,
        name,
        {
          metadata: { name, uid: name, creationTimestamp: new Date(start - 500).toISOString() },
          status,
        },
        {
          at,
          owners: [
            { kind: 'ReplicaSet', name: rsName, uid: rsUid },
            { kind: 'Deployment', name: 'web', uid: 'd1' },
          ],
        },
      );
    // A fatal problem: the rollout cannot succeed as written.
    const invalid = {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'app',
          state: { waiting: { reason: 'InvalidImageName', message: 'bad image "app:2:x"' } },
        },
      ],
    };
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1)), { change: 'added' }),
      rs('web-1', 'rs1', '1'),
      pod('web-1-a', 'web-1', 'rs1', start - 400),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', done(1), '1'), { at: start }),
      rs('web-2', 'rs2', '2'),
      pod('web-2-a', 'web-2', 'rs2', start + 1000),
      // The old Pod's problems while it is replaced are not this rollout's.
      pod('web-1-a', 'web-1', 'rs1', start + 1500, invalid),
      {
        ...event('Killing', 'Container app failed liveness probe, will be restarted', {
          kind: 'Pod',
          name: 'web-1-a',
          uid: 'web-1-a',
        }),
        time: new Date(start - 900).toISOString(),
      },
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', rolling(2), '2'), {
        at: start + 2000,
      }),
    );
    const second = all().at(-1)!;
    expect(second).toMatchObject({
      generation: 2,
      outcome: 'in-progress',
      pods: ['web-2-a'],
      problem: null,
    });
    // The new ReplicaSet's failure, its Event dated in the second before the start, ends it there.
    apply({
      ...event('FailedCreate', 'pods "web-2-b" is forbidden: exceeded quota: q', {
        kind: 'ReplicaSet',
        name: 'web-2',
        uid: 'rs2',
      }),
      time: new Date(start - 900).toISOString(),
    });
    const failed = all().at(-1)!;
    expect(failed.outcome).toBe('failed');
    expect(failed.reason).toBe('FailedCreate');
    expect(failed.ended).toBe(failed.started);
  });

  it('lists a Pod and an Event recorded just after the status that ended the rollout, changing no outcome', () => {
    const owners = [
      { kind: 'ReplicaSet', name: 'web-1', uid: 'rs1' },
      { kind: 'Deployment', name: 'web', uid: 'd1' },
    ];
    const pod = (name: string, at: number) =>
      change(
        'Pod',
        name,
        name,
        { metadata: { name, uid: name, creationTimestamp: new Date(T0).toISOString() } },
        { change: 'added', at, owners },
      );
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', { observedGeneration: 1 }), {
        change: 'added',
        at: T0,
      }),
      change(
        'ReplicaSet',
        'web-1',
        'rs1',
        { metadata: { name: 'web-1', uid: 'rs1', creationTimestamp: new Date(T0).toISOString() } },
        { change: 'added', at: T0, owners: [{ kind: 'Deployment', name: 'web', uid: 'd1' }] },
      ),
      pod('web-1-a', T0 + 500),
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1)), { at: T0 + 1000 }),
      // Late: recorded after the status that completed it, from other watches.
      pod('web-1-b', T0 + 1200),
      {
        ...event('FailedCreate', 'a transient refusal', {
          kind: 'ReplicaSet',
          name: 'web-1',
          uid: 'rs1',
        }),
        time: new Date(T0 + 1500).toISOString(),
      },
      // Long after: another story.
      pod('web-1-c', T0 + 60_000),
    );
    const [only] = all();
    expect(only).toMatchObject({
      outcome: 'complete',
      reason: null,
      ended: T0 + 1000,
      pods: ['web-1-a', 'web-1-b'],
    });
    expect(only!.events.map((e) => e.reason)).toEqual(['FailedCreate']);
  });

  it("notes a readiness failure only past the probe's start window, as track does", () => {
    const startedAt = T0 + 2000;
    // periodSeconds 10, failureThreshold 3, timeout 1: the window ends 17 s after the start.
    const probe = { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10, timeoutSeconds: 1 };
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', { observedGeneration: 1 }), {
        change: 'added',
        at: T0,
      }),
      change(
        'Pod',
        'web-1-a',
        'p1',
        {
          metadata: { name: 'web-1-a', uid: 'p1', creationTimestamp: new Date(T0).toISOString() },
          spec: { containers: [{ name: 'app', image: 'app:1', readinessProbe: probe }] },
          status: {
            phase: 'Running',
            containerStatuses: [
              {
                name: 'app',
                ready: false,
                restartCount: 0,
                state: { running: { startedAt: new Date(startedAt).toISOString() } },
              },
            ],
          },
        },
        {
          change: 'added',
          at: T0 + 1000,
          owners: [
            { kind: 'ReplicaSet', name: 'web-1', uid: 'rs1' },
            { kind: 'Deployment', name: 'web', uid: 'd1' },
          ],
        },
      ),
    );
    const unhealthy = (at: number) => ({
      ...event('Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 500', {
        kind: 'Pod',
        name: 'web-1-a',
        uid: 'p1',
      }),
      time: new Date(at).toISOString(),
    });
    apply(unhealthy(startedAt + 10_000));
    expect(all()[0]!.problem).toBeNull();
    apply(unhealthy(startedAt + 30_000));
    expect(all()[0]).toMatchObject({ outcome: 'in-progress' });
    expect(all()[0]!.problem).toBe(
      'ReadinessProbeFailed: Pod web-1-a container app: Readiness probe failed: HTTP probe failed with statuscode: 500',
    );
  });

  it('marks a rollout superseded by a newer generation, and the open one deleted with its workload', () => {
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1)), { change: 'added' }),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', rolling(2))),
      change('Deployment', 'web', 'd1', deployment(3, 'app:3', rolling(2))),
      change('Deployment', 'web', 'd1', deployment(3, 'app:3', rolling(3)), { change: 'deleted' }),
    );
    expect(all().map((r) => [r.generation, r.outcome])).toEqual([
      [1, 'complete'],
      [2, 'superseded'],
      [3, 'deleted'],
    ]);
    expect(all()[2]!.imagesBefore).toEqual(['app:2']);
  });

  it('starts no rollout for a ready workload first seen long after its creation, and one per Job run', () => {
    apply(
      change('Deployment', 'web', 'd1', deployment(4, 'app:4', done(4)), {
        change: 'added',
        at: T0 + 3_600_000,
      }),
      change(
        'Job',
        'migrate',
        'j1',
        {
          metadata: {
            name: 'migrate',
            uid: 'j1',
            generation: 1,
            creationTimestamp: new Date(T0).toISOString(),
          },
          spec: { template: { spec: { containers: [{ image: 'migrate:1' }] } } },
          status: {},
        },
        { change: 'added' },
      ),
      change('Job', 'migrate', 'j1', {
        metadata: { name: 'migrate', uid: 'j1', generation: 1 },
        spec: {},
        status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
      }),
    );
    expect(all().map((r) => [r.kind, r.outcome, r.imagesAfter])).toEqual([['Job', 'complete', []]]);
  });
});

describe('the rollouts query', () => {
  it('lists only rollouts of workloads the caller may read, and filters by outcome', () => {
    apply(
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', { observedGeneration: 1 }), {
        change: 'added',
      }),
      change('Deployment', 'web', 'd1', deployment(1, 'app:1', done(1))),
      change('Deployment', 'web', 'd1', deployment(2, 'app:2', rolling(2))),
    );
    const q = new Rollouts(db);
    const window = { from: 0, to: T0 + 1e9 };
    expect(
      q.list(
        { window, limit: 10 },
        { allows: (s) => s.resource === 'deployments' && s.namespace === 'shop' },
      ).items,
    ).toHaveLength(2);
    expect(q.list({ window, limit: 10 }, { allows: (s) => s.namespace === 'other' }).items).toEqual(
      [],
    );
    expect(
      q
        .list({ window, limit: 10, outcome: 'in-progress' }, { allows: () => true })
        .items.map((r) => r.generation),
    ).toEqual([2]);
    const page = q.list({ window, limit: 1 }, { allows: () => true });
    expect(page.items.map((r) => r.generation)).toEqual([2]);
    expect(
      q
        .list({ window, limit: 1, cursor: page.next! }, { allows: () => true })
        .items.map((r) => r.generation),
    ).toEqual([1]);
    expect(q.one(page.items[0]!.id, { allows: () => false })).toBeUndefined();
    expect(() => q.list({ window, limit: 1, outcome: 'meh' }, { allows: () => true })).toThrow(
      /outcome must be one of/,
    );
  });
});
