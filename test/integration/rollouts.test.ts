// The operator's rollout records against the real control plane, for the scenarios `hindsight
// track` is tested on: each workload is tracked live with `track` (the independent account of
// what happened) while the operator records it, and the record derived from the recorded history
// must agree - outcome, reason, revisions, images, timings. A rollout replaced by the next apply
// is superseded; a reader without access to a namespace sees none of its rollouts.
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { run } from '../../src/cli/main.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import {
  historyPolicy,
  reportContainer,
  roleBinding,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
} from './world.ts';

interface Rollout {
  id: number;
  kind: string;
  namespace: string;
  name: string;
  generation: number;
  started: number;
  ended: number | null;
  outcome: string;
  reason: string | null;
  message: string | null;
  oldRevision: string | null;
  newRevision: string | null;
  imagesBefore: string[];
  imagesAfter: string[];
  actor: string | null;
  events: { reason: string; object: string }[];
  pods: string[];
  problem: string | null;
}

const ns = uniqueName('rollouts');
/** A namespace of its own for the quota, which forbids every Pod in it. */
const quotaNs = uniqueName('rollouts-quota');
const policy = uniqueName('rollouts');
const reader = { name: 'reader', namespace: ns };

/** `hindsight track` in this process, as CI runs it; its exit code and output. */
async function track(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (t: string) => void (out += t), columns: undefined, color: false };
  const code = await run([...args, '--no-logs', '--kubeconfig', inject('kubeconfig')], {
    stdout: sink,
    stderr: sink,
    env: {},
    signal: new AbortController().signal,
  });
  return { code, out };
}

function pods(name: string, image: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { labels: { app: name } },
    spec: { containers: [{ name: 'app', image }], ...extra },
  };
}

function deployment(name: string, image: string, spec: Record<string, unknown> = {}, podSpec = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: pods(name, image, podSpec),
      ...spec,
    },
  };
}

function job(name: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations },
        spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: `${name}:1` }] },
      },
    },
  };
}

describe('rollouts recorded by the operator', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dataDir: string;
  let adminToken: string;
  let readerToken: string;

  const rollouts = async (query: string, token = adminToken): Promise<Rollout[]> => {
    const res = await fetch(`${op.url}/api/v1/rollouts?from=-1h&limit=100&${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`/api/v1/rollouts?${query} answered ${res.status}`);
    return ((await res.json()) as { items: Rollout[] }).items;
  };
  /** The rollouts of one workload, oldest first, once `done` holds of them. */
  const recorded = async (
    kind: string,
    name: string,
    done: (r: Rollout[]) => boolean,
    namespace = ns,
  ): Promise<Rollout[]> => {
    let got: Rollout[] = [];
    await waitFor(`the rollouts of ${kind}/${name} to be derived`, 30_000, async () => {
      got = (await rollouts(`namespace=${namespace}&kind=${kind}&name=${name}`)).reverse();
      return done(got);
    }).catch((err: Error) => {
      throw new Error(`${err.message}; derived: ${JSON.stringify(got)}`, { cause: err });
    });
    return got;
  };
  /** The record's window lies inside the wall-clock window the test saw, with 2 s of slack. */
  const within = (r: Rollout, from: number, to: number) => {
    expect(r.started).toBeGreaterThanOrEqual(from - 2000);
    expect(r.ended).not.toBeNull();
    expect(r.ended!).toBeGreaterThanOrEqual(r.started);
    expect(r.ended!).toBeLessThanOrEqual(to + 2000);
  };

  beforeAll(async () => {
    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    await apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: quotaNs } },
    );
    const admin = { name: 'admin', namespace: ns };
    await apply(
      serviceAccount(admin),
      serviceAccount(reader),
      roleBinding('admin', ns, 'view', admin),
      roleBinding('admin', quotaNs, 'view', admin),
      // The reader may read ns, and nothing of quotaNs.
      roleBinding('reader', ns, 'view', reader),
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'no-pods', namespace: quotaNs },
        spec: { hard: { pods: '0' } },
      },
      historyPolicy(policy, {
        resources: [
          { group: '', kinds: ['Pod'] },
          { group: 'apps', kinds: ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'] },
          { group: 'batch', kinds: ['Job'] },
        ],
        events: true,
        namespaces: { include: [ns, quotaNs] },
      }),
    );
    adminToken = await serviceAccountToken(cp, admin);
    readerToken = await serviceAccountToken(cp, reader);
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-rollouts-'));
    op = await OperatorProcess.start({ kubeconfig, dataDir });
    await waitForPolicyReady(cp, policy);
  });

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    await cp?.kubectl(['delete', 'namespace', ns, quotaNs, '--wait=false']);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a Deployment created and then given a new image: two complete rollouts, revisions and images as applied', async () => {
    const t0 = Date.now();
    await apply(deployment('web', 'web:1'));
    expect((await track('track', 'deploy/web', '-n', ns)).code).toBe(0);
    const t1 = Date.now();
    await apply(deployment('web', 'web:2'));
    expect((await track('track', 'deploy/web', '-n', ns)).code).toBe(0);
    const t2 = Date.now();

    const [first, second] = await recorded(
      'Deployment',
      'web',
      (r) => r.length === 2 && r.every((x) => x.outcome === 'complete' && x.pods.length === 2),
    );
    expect(first).toMatchObject({
      generation: 1,
      oldRevision: null,
      newRevision: '1',
      imagesBefore: [],
      imagesAfter: ['web:1'],
      reason: null,
    });
    within(first!, t0, t1);
    expect(second).toMatchObject({
      generation: 2,
      oldRevision: '1',
      newRevision: '2',
      imagesBefore: ['web:1'],
      imagesAfter: ['web:2'],
    });
    within(second!, t1, t2);
    // kubectl apply is the actor of the spec change.
    expect(second!.actor).toMatch(/kubectl/);
    // The new Pods and the deployment controller's Events are linked; the first rollout's Pods
    // are not the second's.
    const live = await kubeConfig()
      .makeApiClient(AppsV1Api)
      .listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' });
    const newRs = live.items.find(
      (rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2',
    )!;
    expect(second!.pods).toHaveLength(2);
    expect(second!.pods.every((p) => p.startsWith(`${newRs.metadata!.name!}-`))).toBe(true);
    expect(second!.pods.some((p) => first!.pods.includes(p))).toBe(false);
    expect(second!.events.some((e) => e.reason === 'ScalingReplicaSet')).toBe(true);
  });

  it('a second apply during the first marks the first superseded; the second stays in progress', async () => {
    // minReadySeconds of an hour: no rollout of slow ever completes.
    const slow = (image: string) =>
      deployment('slow', image, {
        replicas: 1,
        minReadySeconds: 3600,
        progressDeadlineSeconds: 7200,
      });
    await apply(slow('slow:1'));
    await recorded('Deployment', 'slow', (r) => r[0]?.outcome === 'in-progress');
    const t1 = Date.now();
    await apply(slow('slow:2'));
    const [first, second] = await recorded(
      'Deployment',
      'slow',
      (r) => r.length === 2 && r[0]!.outcome === 'superseded',
    );
    expect(first).toMatchObject({ generation: 1, outcome: 'superseded', reason: 'Superseded' });
    expect(first!.message).toBe('generation 2 started before it finished');
    expect(first!.ended!).toBeGreaterThanOrEqual(t1 - 2000);
    expect(second).toMatchObject({
      generation: 2,
      outcome: 'in-progress',
      ended: null,
      imagesBefore: ['slow:1'],
      imagesAfter: ['slow:2'],
    });
    expect(second!.started).toBe(first!.ended);
  });

  it('a StatefulSet and a DaemonSet roll out complete, with the revisions the API server reports', async () => {
    const t0 = Date.now();
    await apply(
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: ns },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: pods('db', 'db:1'),
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'agent', namespace: ns },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: pods('agent', 'agent:1') },
      },
    );
    expect((await track('track', 'sts/db', 'ds/agent', '-n', ns)).code).toBe(0);
    const t1 = Date.now();
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const sts = await apps.readNamespacedStatefulSet({ name: 'db', namespace: ns });

    // Its second Pod may be recorded just after the status that completed it.
    const [db] = await recorded(
      'StatefulSet',
      'db',
      (r) => r[0]?.outcome === 'complete' && r[0].pods.length === 2,
    );
    expect(db).toMatchObject({
      generation: 1,
      newRevision: sts.status!.updateRevision,
      imagesAfter: ['db:1'],
    });
    expect(db!.pods.sort()).toEqual(['db-0', 'db-1']);
    within(db!, t0, t1);
    const [agent] = await recorded('DaemonSet', 'agent', (r) => r[0]?.outcome === 'complete');
    expect(agent).toMatchObject({ generation: 1, newRevision: '1', imagesAfter: ['agent:1'] });
    within(agent!, t0, t1);
  });

  it('a Job that completes, and one that fails with BackoffLimitExceeded as track reports it', async () => {
    const t0 = Date.now();
    // The test cluster's pod-fail stage makes this Job's Pod exit 1.
    await apply(job('batch'), job('broken', { 'hindsight.test/exit-code': '1' }));
    const live = await track(
      'track',
      'job/batch',
      'job/broken',
      '-n',
      ns,
      '--fail-mode',
      'keep-going',
    );
    const t1 = Date.now();
    expect(live.code).toBe(1);
    expect(live.out).toMatch(/job\/broken FAILED .*BackoffLimitExceeded/);

    const [batch] = await recorded('Job', 'batch', (r) => r[0]?.outcome === 'complete');
    expect(batch).toMatchObject({ imagesAfter: ['batch:1'], reason: null });
    expect(batch!.pods).toHaveLength(1);
    within(batch!, t0, t1);
    const [broken] = await recorded('Job', 'broken', (r) => r[0]?.outcome === 'failed');
    expect(broken!.reason).toBe('BackoffLimitExceeded');
    expect(broken!.message).toMatch(/backoff limit/i);
    within(broken!, t0, t1);
  });

  it('a Deployment past its progress deadline, and one its namespace quota forbids, are failed with the reason', async () => {
    const t0 = Date.now();
    await apply(
      deployment(
        'stuck',
        'stuck:1',
        { replicas: 1, progressDeadlineSeconds: 2 },
        { nodeSelector: { 'hindsight.test/none': 'true' } },
      ),
      {
        ...deployment('quota', 'quota:1', { replicas: 1 }),
        metadata: { name: 'quota', namespace: quotaNs },
      },
    );
    const stuck = await track('track', 'deploy/stuck', '-n', ns, '--unschedulable-grace', '10m');
    expect(stuck.code).toBe(1);
    expect(stuck.out).toMatch(/ProgressDeadlineExceeded/);
    const quota = await track('track', 'deploy/quota', '-n', quotaNs);
    expect(quota.code).toBe(1);
    expect(quota.out).toMatch(/FailedCreate: .*exceeded quota: no-pods/);
    const t1 = Date.now();

    const [s] = await recorded('Deployment', 'stuck', (r) => r[0]?.outcome === 'failed');
    expect(s!.reason).toBe('ProgressDeadlineExceeded');
    expect(s!.message).toMatch(/has timed out progressing/);
    within(s!, t0, t1);
    const [q] = await recorded(
      'Deployment',
      'quota',
      (r) => r[0]?.outcome === 'failed' && r[0].events.some((e) => e.reason === 'FailedCreate'),
      quotaNs,
    );
    expect(q!.reason).toBe('FailedCreate');
    expect(q!.message).toMatch(/exceeded quota: no-pods/);
    expect(
      q!.events.some((e) => e.reason === 'FailedCreate' && e.object.startsWith('ReplicaSet/')),
    ).toBe(true);
    within(q!, t0, t1);
  });

  it("a crash loop the kubelet reports is the in-progress rollout's problem, as track fails on it", async () => {
    await apply(
      deployment('crash', 'crash:1', {
        replicas: 1,
        minReadySeconds: 3600,
        progressDeadlineSeconds: 7200,
      }),
    );
    let pod = '';
    await waitFor('the Pod of crash to run', 30_000, async () => {
      const list = await kubeConfig()
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace: ns, labelSelector: 'app=crash' });
      pod = list.items.find((p) => p.status?.phase === 'Running')?.metadata?.name ?? '';
      return pod !== '';
    });
    const tracking = track('track', 'deploy/crash', '-n', ns);
    await new Promise((r) => setTimeout(r, 1500));
    // As the kubelet reports a container that keeps crashing.
    await reportContainer(
      cp,
      ns,
      pod,
      { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
      { image: 'crash:1', restartCount: 3 },
    );
    const live = await tracking;
    expect(live.code).toBe(1);
    expect(live.out).toContain(`Pod ${pod} container app: CrashLoopBackOff: back-off 40s`);
    // Recorded: Kubernetes keeps trying, so the rollout is still in progress, with the reason.
    const [r] = await recorded('Deployment', 'crash', (x) => (x[0]?.problem ?? null) !== null);
    expect(r).toMatchObject({ outcome: 'in-progress', pods: [pod] });
    expect(r!.problem).toBe(
      `CrashLoopBackOff: Pod ${pod} container app: CrashLoopBackOff: back-off 40s`,
    );
  });

  it('a reader without access to a namespace sees none of its rollouts, by list or by id', async () => {
    const all = await rollouts('');
    const theirs = all.filter((r) => r.namespace === quotaNs);
    const ours = all.filter((r) => r.namespace === ns);
    expect(theirs.length).toBeGreaterThan(0);
    expect(ours.length).toBeGreaterThan(0);

    const seen = await rollouts('', readerToken);
    expect(seen.map((r) => r.id).sort()).toEqual(ours.map((r) => r.id).sort());
    const res = await fetch(`${op.url}/api/v1/rollouts/${theirs[0]!.id}`, {
      headers: { authorization: `Bearer ${readerToken}` },
    });
    expect(res.status).toBe(404);
    const listed = await fetch(`${op.url}/api/v1/rollouts?namespace=${quotaNs}`, {
      headers: { authorization: `Bearer ${readerToken}` },
    });
    const body = (await listed.json()) as { items?: Rollout[] };
    expect(body.items ?? []).toEqual([]);
  });
});
