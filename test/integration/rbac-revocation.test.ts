// RBAC changed while a caller reads, against an operator checking access with the local API
// server (TokenReview, SubjectAccessReview): a namespace granted or revoked mid-stream starts or
// stops arriving on an open stream within --auth-cache-ttl plus --stream-access-refresh, and a
// revoked RoleBinding or Role stops every endpoint showing what it granted within
// --auth-cache-ttl. The operator runs with small values of both, so the bounds are seconds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinceItem } from '../../src/store/queries.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { LiveSse } from '../support/live-sse.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import {
  every,
  getJson,
  namespaceReads,
  outcomes,
  sampleNamespace,
  type Read,
} from './namespace-reads.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import {
  clusterRoleBinding,
  createDeployment,
  historyPolicy,
  roleBinding,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
  type Account,
} from './world.ts';

const core = kubeConfig().makeApiClient(CoreV1Api);

/** --auth-cache-ttl and --stream-access-refresh of the operator under test. */
const TTL_MS = 1_000;
const REFRESH_MS = 1_000;
/** Time for requests, the recorder and the stream's own reads on a busy machine. */
const SLACK_MS = 2_000;
/** What a Hindsight reader of one namespace needs: get and list of what is recorded there. */
const READ_RULES = [
  { apiGroups: [''], resources: ['configmaps', 'pods', 'events'], verbs: ['get', 'list'] },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list'] },
];

/** A change asked for: the resourceVersion it made and when it was sent. */
interface Tick {
  rv: string;
  sentAt: number;
}

describe('RBAC changes while reading', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dataDir: string;
  let adminToken: string;
  const [nsA, nsB] = [uniqueName('rbac-a'), uniqueName('rbac-b')];
  const policy = uniqueName('rbac');
  const admin = { name: 'rbac-admin', namespace: nsA };
  let count = 0;

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  /** Changes the ConfigMap `ticker` of `ns`. */
  const tick = async (ns: string): Promise<Tick> => {
    const sentAt = Date.now();
    const cm = await core.patchNamespacedConfigMap({
      namespace: ns,
      name: 'ticker',
      body: [{ op: 'replace', path: '/data/value', value: String(++count) }],
    });
    return { rv: cm.metadata!.resourceVersion!, sentAt };
  };
  /** Changes the ticker of each namespace in turn, every 250 ms, until `until` or `done()`. */
  const tickUntil = async (namespaces: string[], until: number, done = () => false) => {
    const ticks: Record<string, Tick[]> = Object.fromEntries(namespaces.map((ns) => [ns, []]));
    while (Date.now() < until && !done()) {
      for (const ns of namespaces) ticks[ns]!.push(await tick(ns));
      await new Promise((r) => setTimeout(r, 250));
    }
    return ticks;
  };
  /** The sequence numbers the ticker changes of `ns` were recorded at, once they all are. */
  const recordedSeqs = async (ns: string, ticks: Tick[]): Promise<number[]> => {
    const page = await getJson(
      op.url,
      `/api/v1/resources?namespace=${ns}&kind=ConfigMap&name=ticker`,
      adminToken,
    );
    const uid = (page.body.items as { uid: string }[])[0]!.uid;
    let byRv = new Map<string, number>();
    await waitFor(`the ticker changes of ${ns} to be recorded`, 30_000, async () => {
      const versions = await getJson(
        op.url,
        `/api/v1/objects/${uid}/versions?limit=500`,
        adminToken,
      );
      byRv = new Map(
        (versions.body.items as { rv: string; seq: number }[]).map((v) => [v.rv, v.seq]),
      );
      return ticks.every((t) => byRv.has(t.rv));
    });
    return ticks.map((t) => byRv.get(t.rv)!);
  };
  const namespaceOf = (i: SinceItem) => i.object?.namespace ?? i.event?.namespace;
  const delivered = (stream: LiveSse, ns: string) =>
    stream.data<SinceItem>().filter((i) => namespaceOf(i) === ns);
  /** Waits until `stream` sent a record of `ns` at `seq` or later. */
  const arrives = (stream: LiveSse, ns: string, seq: number) =>
    waitFor(`a record of ${ns} from ${seq} on on the stream`, 30_000, () =>
      Promise.resolve(delivered(stream, ns).some((i) => i.seq >= seq)),
    );
  /** A reader of namespace A by a Role and RoleBinding of its own, with its token. */
  const reader = async (name: string) => {
    const account: Account = { name, namespace: nsA };
    await apply(
      serviceAccount(account),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace: nsA },
        rules: READ_RULES,
      },
      roleBinding(name, nsA, name, account, 'Role'),
    );
    return serviceAccountToken(cp, account);
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
    await apply(serviceAccount(admin), clusterRoleBinding(`${nsA}-admin`, 'view', admin));
    adminToken = await serviceAccountToken(cp, admin);
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
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-rbac-'));
    op = await OperatorProcess.start({
      kubeconfig,
      dataDir,
      args: ['--auth-cache-ttl', `${TTL_MS}ms`, '--stream-access-refresh', `${REFRESH_MS}ms`],
    });
    await waitForPolicyReady(cp, policy);
    for (const ns of [nsA, nsB]) {
      for (const name of ['settings', 'ticker']) {
        await core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name }, data: { value: '0' } },
        });
      }
    }
    await core.patchNamespacedConfigMap({
      namespace: nsA,
      name: 'settings',
      body: [{ op: 'replace', path: '/data/value', value: '1' }],
    });
    await createDeployment({ namespace: nsA, name: 'web', replicas: 1, image: 'web:1' });
  });

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    await cp?.kubectl(['delete', 'clusterrolebinding', `${nsA}-admin`, '--ignore-not-found']);
    for (const ns of [nsA, nsB]) await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('streams a namespace granted mid-stream, and stops once it is revoked, each within the cache TTL and the access refresh', async () => {
    const account = { name: 'streamer', namespace: nsA };
    await apply(serviceAccount(account), roleBinding('streamer', nsA, 'view', account));
    const token = await serviceAccountToken(cp, account);
    const stream = await LiveSse.open(`${op.url}/api/v1/stream?kinds=ConfigMap`, auth(token));
    try {
      // Not allowed B: its change, made first, is passed over on the way to A's.
      const [b0] = await recordedSeqs(nsB, [await tick(nsB)]);
      const [a0] = await recordedSeqs(nsA, [await tick(nsA)]);
      await arrives(stream, nsA, a0!);
      expect(stream.position).toBeGreaterThanOrEqual(b0!);
      expect(delivered(stream, nsB)).toEqual([]);

      // Granted B: B's changes arrive within the bound, without reconnecting.
      await apply(roleBinding('streamer', nsB, 'view', account));
      const granted = Date.now();
      const bound = TTL_MS + REFRESH_MS + SLACK_MS;
      const grantTicks = (
        await tickUntil([nsB], granted + bound, () => delivered(stream, nsB).length > 0)
      )[nsB]!;
      const grantSeqs = await recordedSeqs(nsB, grantTicks);
      await waitFor('the stream to read past B’s changes', 30_000, () =>
        Promise.resolve(stream.position >= Math.max(...grantSeqs)),
      );
      const firstB = delivered(stream, nsB).find((i) => i.object?.name === 'ticker');
      expect(firstB, `a change of B on the stream within ${bound} ms of the grant`).toBeDefined();
      const sentAt = grantTicks[grantSeqs.indexOf(firstB!.seq)]?.sentAt;
      expect(sentAt! - granted).toBeLessThan(bound);

      // Revoked B: what B changes past the bound is passed over, while A's still arrive.
      await cp.kubectl(['delete', 'rolebinding', 'streamer', '-n', nsB]);
      const revoked = Date.now();
      const ticks = await tickUntil([nsB, nsA], revoked + bound + 1_000);
      const late = ticks[nsB]!.filter((t) => t.sentAt > revoked + bound);
      expect(late.length).toBeGreaterThan(0);
      const lateSeqs = await recordedSeqs(nsB, late);
      const lastA = (await recordedSeqs(nsA, ticks[nsA]!)).at(-1)!;
      await arrives(stream, nsA, lastA);
      await waitFor('the stream to read past B’s last change', 30_000, () =>
        Promise.resolve(stream.position >= Math.max(...lateSeqs)),
      );
      expect(
        delivered(stream, nsB).filter((i) => i.seq >= lateSeqs[0]!),
        `B's records sent more than ${bound} ms after the revocation`,
      ).toEqual([]);
    } finally {
      await stream.close();
    }
  });

  it.each(['RoleBinding', 'Role'])(
    'stops every endpoint and an open stream showing namespace A once the %s is deleted',
    async (deleted) => {
      const name = `reader-${deleted.toLowerCase()}`;
      const token = await reader(name);
      const reads: Read[] = namespaceReads(
        await sampleNamespace(op.url, adminToken, nsA, { object: 'settings', deployment: 'web' }),
      );
      // Before: the caller reads A's history from every endpoint and from an open stream.
      expect(await outcomes(op.url, reads, token)).toEqual(every(reads, 'shown'));
      const stream = await LiveSse.open(`${op.url}/api/v1/stream`, auth(token));
      try {
        const [before] = await recordedSeqs(nsA, [await tick(nsA)]);
        await arrives(stream, nsA, before!);

        await cp.kubectl(['delete', deleted.toLowerCase(), name, '-n', nsA]);
        const revoked = Date.now();
        const bound = TTL_MS + REFRESH_MS + SLACK_MS;
        // A keeps changing meanwhile, for the stream to have something to withhold.
        const ticking = tickUntil([nsA], revoked + bound + 1_000);
        try {
          // Every endpoint: within the cache TTL, a 404 or an empty list.
          await waitFor(`every endpoint to hide A from ${name}`, TTL_MS + SLACK_MS, async () => {
            expect(await outcomes(op.url, reads, token)).toEqual(every(reads, 'hidden'));
            return true;
          });
        } finally {
          await ticking;
        }
        // The history is still there: the admin reads all of it.
        expect(await outcomes(op.url, reads, adminToken)).toEqual(every(reads, 'shown'));

        // The stream: nothing of A that was committed after a change made past the bound.
        const late = (await ticking)[nsA]!.filter((t) => t.sentAt > revoked + bound);
        expect(late.length).toBeGreaterThan(0);
        const lateSeqs = await recordedSeqs(nsA, late);
        await waitFor('the stream to read past A’s last change, or end', 30_000, () =>
          Promise.resolve(stream.done || stream.position >= Math.max(...lateSeqs)),
        );
        expect(
          delivered(stream, nsA).filter((i) => i.seq >= lateSeqs[0]!),
          `A's records sent more than ${bound} ms after the revocation`,
        ).toEqual([]);
      } finally {
        await stream.close();
      }
    },
  );
});
