// The REST API against an operator recording the local control plane: each endpoint returns what
// the recorded world implies, callers see only what their RBAC allows, bad parameters are 400s
// naming the parameter, and every answer matches the OpenAPI document.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../cluster/control-plane.ts';
import type { SinceItem } from '../../src/store/queries.ts';
import { LiveSse } from '../support/live-sse.ts';
import { conforms } from '../support/openapi.ts';
import { readSse, sseData } from '../support/sse.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { every, namespaceReads, outcomes, sampleNamespace } from './namespace-reads.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import {
  clusterRoleBinding,
  createDeployment,
  historyPolicy,
  roleBinding,
  rollOutImage,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
} from './world.ts';

const core = kubeConfig().makeApiClient(CoreV1Api);

interface Obj {
  uid: string;
  kind: string;
  name: string;
  namespace: string;
  deletedAt: number | null;
  owner: { kind: string; name: string } | null;
}
interface Version {
  seq: number;
  time: number;
  type: string;
  paths: string[];
}

describe('REST API', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dataDir: string;
  let adminToken: string;
  let tokenA: string;
  const [nsA, nsB] = [uniqueName('api-a'), uniqueName('api-b')];
  const policy = uniqueName('api');
  const marks: Record<string, number> = {};

  const get = async (path: string, token: string | null = adminToken) => {
    const res = await fetch(`${op.url}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const body = (await res.json()) as Record<string, unknown>;
    return { status: res.status, type: res.headers.get('content-type') ?? '', body };
  };
  const ok = async <T = Record<string, unknown>>(
    path: string,
    schema: string,
    token?: string,
  ): Promise<T> => {
    const r = await get(path, token);
    if (r.status !== 200)
      throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    conforms(schema, r.body);
    return r.body as T;
  };
  const find = async (ns: string, kind: string, name: string, token?: string) => {
    const page = await ok<{ items: Obj[] }>(
      `/api/v1/resources?namespace=${ns}&kind=${kind}&name=${name}&includeDeleted=true`,
      'ObjectPage',
      token,
    );
    return page.items[0];
  };

  beforeAll(async () => {
    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
    ]);
    for (const ns of [nsA, nsB]) await core.createNamespace({ body: { metadata: { name: ns } } });
    // Two callers: one who may read everything, one who may read only namespace A.
    const admin = { name: 'api-admin', namespace: nsA };
    const reader = { name: 'api-reader', namespace: nsA };
    await apply(
      serviceAccount(admin),
      serviceAccount(reader),
      clusterRoleBinding(`${nsA}-admin`, 'view', admin),
      roleBinding('api-reader', nsA, 'view', reader),
    );
    adminToken = await serviceAccountToken(cp, admin);
    tokenA = await serviceAccountToken(cp, reader);
    await apply(
      historyPolicy(policy, {
        resources: [
          { group: '', kinds: ['ConfigMap', 'Pod'] },
          { group: 'apps', kinds: ['Deployment', 'ReplicaSet'] },
        ],
        events: true,
        namespaces: { include: [nsA, nsB] },
      }),
    );
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-api-'));
    op = await OperatorProcess.start({ kubeconfig, dataDir });
    await waitForPolicyReady(cp, policy);

    // The recorded world: a ConfigMap changed twice and one deleted in each namespace, and a
    // Deployment rolled out in A.
    for (const ns of [nsA, nsB]) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'settings' }, data: { level: 'info' } },
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'doomed' }, data: { x: '1' } },
      });
    }
    await new Promise((r) => setTimeout(r, 1100));
    marks.beforeChange = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    for (const ns of [nsA, nsB]) {
      await core.patchNamespacedConfigMap({
        namespace: ns,
        name: 'settings',
        body: [{ op: 'replace', path: '/data/level', value: 'debug' }],
      });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'doomed' });
    }
    const web = { namespace: nsA, name: 'web', replicas: 2 };
    await createDeployment({ namespace: nsB, name: 'other', replicas: 1, image: 'other:1' });
    await createDeployment({ ...web, image: 'web:1' });
    await new Promise((r) => setTimeout(r, 1100));
    marks.beforeRollout = Date.now();
    await rollOutImage({ ...web, image: 'web:2' });
    await waitFor('the rollout to be recorded', 30_000, async () => {
      const rs = await ok<{ items: Obj[] }>(
        `/api/v1/resources?namespace=${nsA}&kind=ReplicaSet`,
        'ObjectPage',
      );
      return rs.items.length === 2;
    });
    await new Promise((r) => setTimeout(r, 1000));
    marks.end = Date.now();
  });

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    await cp?.kubectl(['delete', 'clusterrolebinding', `${nsA}-admin`, '--ignore-not-found']);
    for (const ns of [nsA, nsB]) await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('searches objects, deleted ones only when asked', async () => {
    const live = await ok<{ items: Obj[] }>(
      `/api/v1/resources?namespace=${nsA}&kind=ConfigMap`,
      'ObjectPage',
    );
    expect(live.items.map((o) => o.name)).not.toContain('doomed');
    const all = await ok<{ items: Obj[] }>(
      `/api/v1/resources?namespace=${nsA}&kind=ConfigMap&includeDeleted=true`,
      'ObjectPage',
    );
    const doomed = all.items.find((o) => o.name === 'doomed');
    expect(doomed?.deletedAt).toBeGreaterThan(marks.beforeChange!);
    const prefixed = await ok<{ items: Obj[] }>(
      `/api/v1/resources?namespace=${nsA}&namePrefix=web-`,
      'ObjectPage',
    );
    expect(new Set(prefixed.items.map((o) => o.kind))).toEqual(new Set(['ReplicaSet', 'Pod']));
    const labelled = await ok<{ items: Obj[] }>(
      `/api/v1/resources?namespace=${nsA}&kind=Pod&labelSelector=${encodeURIComponent('app in (web)')}`,
      'ObjectPage',
    );
    expect(labelled.items.length).toBeGreaterThanOrEqual(2);
  });

  it("returns an object's history, a version's body, the object as of an instant and diffs", async () => {
    const settings = (await find(nsA, 'ConfigMap', 'settings'))!;
    // Newest first, as a history is read.
    const history = await ok<{ items: Version[] }>(
      `/api/v1/objects/${settings.uid}/versions`,
      'VersionPage',
    );
    expect(history.items.map((v) => v.type)).toEqual(['modified', 'added']);
    expect(history.items[0]!.paths).toEqual(['data.level']);
    const [second, first] = history.items as [Version, Version];
    const v1 = await ok<{ object: { data: unknown } }>(
      `/api/v1/objects/${settings.uid}/versions/${first.seq}`,
      'VersionWithObject',
    );
    expect(v1.object.data).toEqual({ level: 'info' });
    const before = await ok<{ object: { data: unknown } }>(
      `/api/v1/objects/${settings.uid}/at?time=${new Date(marks.beforeChange!).toISOString()}`,
      'VersionWithObject',
    );
    expect(before.object.data).toEqual({ level: 'info' });
    const now = await ok<{ object: { data: unknown } }>(
      `/api/v1/objects/${settings.uid}/at?time=now`,
      'VersionWithObject',
    );
    expect(now.object.data).toEqual({ level: 'debug' });
    const bySeq = await ok<{ patch: unknown[]; text: string[] }>(
      `/api/v1/objects/${settings.uid}/diff?fromSeq=${first.seq}&toSeq=${second.seq}`,
      'Diff',
    );
    expect(bySeq.patch).toEqual([{ op: 'replace', path: '/data/level', value: 'debug' }]);
    expect(bySeq.text.join('\n')).toMatch(/data\.level.*info.*debug/);
    const byTime = await ok<{ patch: unknown[] }>(
      `/api/v1/objects/${settings.uid}/diff?from=${marks.beforeChange}&to=now`,
      'Diff',
    );
    expect(byTime.patch).toEqual(bySeq.patch);
    // A deleted object keeps its history.
    const doomed = (await find(nsA, 'ConfigMap', 'doomed'))!;
    const gone = await ok<{ items: Version[] }>(
      `/api/v1/objects/${doomed.uid}/versions`,
      'VersionPage',
    );
    expect(gone.items.map((v) => v.type)).toEqual(['deleted', 'added']);
  });

  it('shows the rollout: owner chains on the timeline and the namespace before and after', async () => {
    const timeline = await ok<{
      rows: { kind: string; name: string; ownerChain: { kind: string }[]; changes: unknown[] }[];
    }>(`/api/v1/timeline?namespace=${nsA}&from=-10m&to=now&buckets=30`, 'Timeline');
    const kinds = timeline.rows.map((r) => r.kind);
    expect(kinds.indexOf('Deployment')).toBeLessThan(kinds.indexOf('ReplicaSet'));
    const pod = timeline.rows.find((r) => r.kind === 'Pod')!;
    expect(pod.ownerChain.map((o) => o.kind)).toEqual(['ReplicaSet', 'Deployment']);
    const before = await ok<{
      items: {
        object: Obj;
        body: { spec?: { template?: { spec?: { containers?: { image: string }[] } } } };
      }[];
    }>(
      `/api/v1/namespaces/${nsA}/state?at=${marks.beforeRollout}&kinds=ReplicaSet`,
      'NamespaceState',
    );
    expect(before.items.map((i) => i.body.spec?.template?.spec?.containers?.[0]?.image)).toEqual([
      'web:1',
    ]);
    const after = await ok<{ items: unknown[] }>(
      `/api/v1/namespaces/${nsA}/state?at=now&kinds=ReplicaSet`,
      'NamespaceState',
    );
    expect(after.items).toHaveLength(2);
    const changes = await ok<{ items: { object: Obj }[] }>(
      `/api/v1/changes?namespace=${nsA}&from=${marks.beforeRollout}&to=now`,
      'ChangePage',
    );
    const changed = new Set(changes.items.map((c) => c.object.kind));
    expect(changed.has('Deployment') && changed.has('ReplicaSet') && changed.has('Pod')).toBe(true);
    expect(changes.items.some((c) => c.object.kind === 'ConfigMap')).toBe(false);
  });

  it('lists Events with their occurrences', async () => {
    const events = await ok<{ items: { reason: string; involved: { kind: string } }[] }>(
      `/api/v1/events?namespace=${nsA}&from=-10m`,
      'EventPage',
    );
    const reasons = new Set(events.items.map((e) => e.reason));
    expect(reasons.has('ScalingReplicaSet')).toBe(true);
    expect(reasons.has('Scheduled')).toBe(true);
  });

  it('shows a caller allowed only namespace A nothing of namespace B, from every endpoint', async () => {
    const sample = (ns: string, deployment: string) =>
      sampleNamespace(op.url, adminToken, ns, { object: 'settings', deployment });
    const [readsA, readsB] = [
      namespaceReads(await sample(nsA, 'web')),
      namespaceReads(await sample(nsB, 'other')),
    ];
    // Every endpoint has something of B (the admin reads it) and the caller reads A's from each,
    // so what the caller does not get of B is withheld from it, not missing.
    expect(await outcomes(op.url, readsA, tokenA)).toEqual(every(readsA, 'shown'));
    expect(await outcomes(op.url, readsB, adminToken)).toEqual(every(readsB, 'shown'));
    expect(await outcomes(op.url, readsB, tokenA)).toEqual(every(readsB, 'hidden'));

    // Lists across namespaces: the caller's hold A's records and nothing else, the admin's B's too.
    type Item = Record<string, unknown> & { object?: Obj };
    const across: [string, string, (i: Item) => unknown][] = [
      ['/api/v1/resources?includeDeleted=true&limit=500', 'ObjectPage', (i) => i.namespace],
      ['/api/v1/events?from=-10m&limit=500', 'EventPage', (i) => i.namespace],
      ['/api/v1/changes?from=-10m&limit=500', 'ChangePage', (i) => i.object?.namespace],
      ['/api/v1/rollouts?limit=500', 'RolloutPage', (i) => i.namespace],
    ];
    for (const [path, schema, namespaceOf] of across) {
      const namespaces = async (token: string) =>
        new Set((await ok<{ items: Item[] }>(path, schema, token)).items.map(namespaceOf));
      expect([...(await namespaces(tokenA))], path).toEqual([nsA]);
      expect([...(await namespaces(adminToken))], path).toContain(nsB);
    }

    // The live stream, open before B and then A change: B's record is committed first, so the
    // caller's stream read past it on its way to A's, and passed it over.
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const stream = await LiveSse.open(`${op.url}/api/v1/stream`, auth(tokenA));
    try {
      const create = (namespace: string) =>
        core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: 'streamed' }, data: { level: 'info' } },
        });
      const recorded = async (namespace: string) => {
        let seq = 0;
        await waitFor(`the new ConfigMap of ${namespace} to be recorded`, 30_000, async () => {
          const o = await find(namespace, 'ConfigMap', 'streamed');
          if (!o) return false;
          const v = await ok<{ items: Version[] }>(
            `/api/v1/objects/${o.uid}/versions`,
            'VersionPage',
          );
          seq = v.items[0]?.seq ?? 0;
          return seq > 0;
        });
        return seq;
      };
      await create(nsB);
      const seqB = await recorded(nsB);
      await create(nsA);
      const seqA = await recorded(nsA);
      expect(seqA).toBeGreaterThan(seqB);
      const namespaceOf = (i: SinceItem) => i.object?.namespace ?? i.event?.namespace;
      await waitFor("A's new ConfigMap on the caller's stream", 30_000, () =>
        Promise.resolve(
          stream
            .data<SinceItem>()
            .some((i) => i.object?.name === 'streamed' && namespaceOf(i) === nsA),
        ),
      );
      expect(stream.position).toBeGreaterThanOrEqual(seqA);
      const sent = stream.data<SinceItem>();
      for (const i of sent) conforms('SinceItem', i);
      expect(sent.filter((i) => namespaceOf(i) !== nsA)).toEqual([]);
      // The admin's stream over the same span has B's record.
      const first = Number(stream.messages[0]!.id);
      const all = sseData<SinceItem>(
        await readSse(
          `${op.url}/api/v1/stream?since=${first}`,
          (got) => sseData<SinceItem>(got).some((i) => i.seq === seqB),
          auth(adminToken),
        ),
      );
      expect(all.find((i) => i.seq === seqB)?.object?.namespace).toBe(nsB);
    } finally {
      await stream.close();
    }
  });

  it('answers 401 without a valid token', async () => {
    for (const path of [
      '/api/v1/resources',
      '/api/v1/events',
      `/api/v1/timeline?namespace=${nsA}`,
    ]) {
      for (const token of [null, 'not-a-token']) {
        const r = await get(path, token);
        expect(r.status).toBe(401);
        expect(r.type).toContain('application/problem+json');
        conforms('Problem', r.body);
      }
    }
    expect((await get('/api/v1/openapi.json', null)).status).toBe(200);
  });

  it.each([
    ['/api/v1/resources?limit=0', 'limit'],
    ['/api/v1/resources?limit=abc', 'limit'],
    ['/api/v1/resources?kind=pod', 'kind'],
    ['/api/v1/resources?namespace=Bad_NS', 'namespace'],
    ['/api/v1/resources?labelSelector=a%20in%20(', 'labelSelector'],
    ['/api/v1/resources?includeDeleted=maybe', 'includeDeleted'],
    ['/api/v1/resources?cursor=%%%', 'cursor'],
    ['/api/v1/resources?from=yesterday', 'from'],
    ['/api/v1/resources?from=now&to=-1h', 'from'],
    ['/api/v1/resources?from=-90d', 'from'],
    ['/api/v1/resources?limit=1&limit=2', 'limit'],
    ['/api/v1/objects/not%20a%20uid', 'uid'],
    ['/api/v1/objects/0000-1111/versions?limit=100000', 'limit'],
    ['/api/v1/objects/0000-1111/versions/xyz', 'seq'],
    ['/api/v1/objects/0000-1111/at', 'time'],
    ['/api/v1/objects/0000-1111/at?time=1h', 'time'],
    ['/api/v1/objects/0000-1111/diff?to=now', 'from'],
    ['/api/v1/objects/0000-1111/diff?from=-1h&fromSeq=3&to=now', 'from'],
    ['/api/v1/events?type=Error', 'type'],
    ['/api/v1/events?involvedUid=%3B', 'involvedUid'],
    ['/api/v1/timeline', 'namespace'],
    ['/api/v1/timeline?namespace=a&buckets=0', 'buckets'],
    ['/api/v1/timeline?namespace=a&kinds=pods', 'kinds'],
    ['/api/v1/timeline?namespace=a&limit=50001', 'limit'],
    ['/api/v1/namespaces/a/state?at=tomorrow', 'at'],
    ['/api/v1/changes?to=bad', 'to'],
    ['/api/v1/stream?since=first', 'since'],
    ['/api/v1/stream?kinds=pods', 'kinds'],
  ])('answers 400 naming the parameter for %s', async (path, param) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    conforms('Problem', r.body);
    expect(r.body.param).toBe(param);
    expect(r.body.detail).toMatch(new RegExp(`^${param}: `));
  });

  it('answers unknown paths with a 404 problem', async () => {
    const r = await get('/api/v1/nope');
    expect(r.status).toBe(404);
    expect(r.type).toContain('application/problem+json');
  });
});
