// `hindsight track` against the real control plane: rollouts that become ready, rollouts that
// cannot (quota, scheduling, Job deadline, image pulls reported by the kubelet), Events from
// before the start ignored, the exit codes CI acts on, -f manifests, -o json, --follow, and the
// library's callbacks. kwok plays the kubelet: its Pods become Running and Ready; where a test
// needs a kubelet to report a container problem, it writes the Pod's status as a kubelet does.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { run } from '../../src/cli/main.ts';
import {
  KubeHttp,
  loadKubeConfig,
  track,
  type Result,
  type StatusUpdate,
} from '../../src/rollouts/index.ts';
import { BIN, ensureBuilt, exec } from './cli-binary.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import {
  reportContainer as report,
  roleBinding,
  serviceAccount,
  serviceAccountToken,
} from './world.ts';

const ROOT = join(import.meta.dirname, '../..');

const ns = uniqueName('track');
const core = () => kubeConfig().makeApiClient(CoreV1Api);

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in this process, as a pipe sees it (no terminal), against `kubeconfig`. */
async function hindsight(
  args: string[],
  signal = new AbortController().signal,
  kubeconfig = inject('kubeconfig'),
): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await run([...args, '--kubeconfig', kubeconfig], {
    stdout: { write: (t) => void (out += t), columns: undefined, color: false },
    stderr: { write: (t) => void (err += t), columns: undefined, color: false },
    env: {},
    signal,
  });
  return { code, out, err };
}

function deployment(
  name: string,
  spec: Record<string, unknown> = {},
  podSpec: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.test/app:1' }], ...podSpec },
      },
      ...spec,
    },
  };
}

/** The Pods of a Deployment, once `count` of them exist. */
async function podsOf(app: string, count: number): Promise<string[]> {
  let names: string[] = [];
  await waitFor(`${count} Pods of ${app}`, 30_000, async () => {
    const list = await core().listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` });
    names = list.items.map((p) => p.metadata!.name!);
    return names.length >= count;
  });
  return names;
}

/** A one-replica Deployment that stays waiting: its Pod runs, but minReadySeconds is an hour. */
function waiting(name: string) {
  return deployment(name, { replicas: 1, minReadySeconds: 3600, progressDeadlineSeconds: 7200 });
}

/** The name of the Pod of `app` once it runs. */
async function runningPodOf(app: string): Promise<string> {
  const [pod] = await podsOf(app, 1);
  await waitFor(
    'the Pod to run',
    30_000,
    async () =>
      (await core().readNamespacedPod({ name: pod!, namespace: ns })).status?.phase === 'Running',
  );
  return pod!;
}

/** Reports the container of `pod` in `state`, as the kubelet does. */
async function reportContainer(pod: string, state: Record<string, unknown>, restartCount = 0) {
  await report(await controlPlane(), ns, pod, state, {
    image: 'registry.test/app:1',
    restartCount,
  });
}

function lines(out: string): string[] {
  return out.split('\n').filter(Boolean);
}

beforeAll(async () => {
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
});

afterAll(async () => {
  await (await controlPlane()).kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('hindsight track', () => {
  it('waits for a Deployment to roll out and exits 0, printing plain timestamped lines', async () => {
    await apply(deployment('ready'));
    const r = await hindsight(['track', 'deploy/ready', '-n', ns]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('\u001b');
    const all = lines(r.out);
    expect(
      all.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z deployment\/ready /.test(l)),
    ).toBe(true);
    expect(all.at(-1)).toMatch(
      /deployment\/ready READY in [\d.]+s: rolled out: 2 of 2 replicas updated and available$/,
    );
  });

  it("a quota that forbids the Pods fails with the ReplicaSet's FailedCreate text, exit 1 (kubedog #216)", async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'two-pods', namespace: ns },
      spec: { hard: { pods: '3' } },
    });
    await waitFor('the quota to be counted', 30_000, async () => {
      const q = await core().readNamespacedResourceQuota({ name: 'two-pods', namespace: ns });
      return q.status?.hard?.pods !== undefined;
    });
    // 2 Pods of "ready" exist already: one more fits, the other two are refused.
    await apply(deployment('quota', { replicas: 3 }));
    const r = await hindsight(['track', 'deploy/quota', '-n', ns]);
    expect(r.code).toBe(1);
    const failed = lines(r.out).find((l) => l.includes('FAILED'));
    expect(failed).toMatch(/Deployment .*\/quota failed: /);
    expect(failed).toContain('FailedCreate');
    expect(failed).toContain('exceeded quota: two-pods');
    await (await controlPlane()).kubectl(['delete', 'resourcequota', 'two-pods', '-n', ns]);
    await (await controlPlane()).kubectl(['delete', 'deploy', 'quota', '-n', ns]);
  });

  it('a Pod that cannot be scheduled fails once --unschedulable-grace has passed (kubedog #288)', async () => {
    await apply(
      deployment('nowhere', { replicas: 1 }, { nodeSelector: { 'hindsight.test/none': 'true' } }),
    );
    const r = await hindsight(['track', 'deploy/nowhere', '-n', ns, '--unschedulable-grace', '2s']);
    expect(r.code).toBe(1);
    const failed = lines(r.out).find((l) => l.includes('FAILED'))!;
    expect(failed).toContain('Unschedulable');
    expect(failed).toMatch(/is Unschedulable for \d+s: 0\/\d+ nodes are available/);
  });

  it('a Job past its activeDeadlineSeconds fails with DeadlineExceeded, one whose Pod exits 1 with BackoffLimitExceeded; a Job that completes exits 0', async () => {
    const job = (
      name: string,
      spec: Record<string, unknown>,
      podSpec: Record<string, unknown> = {},
      annotations: Record<string, string> = {},
    ) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'app', image: 'registry.test/job:1' }],
            ...podSpec,
          },
        },
        ...spec,
      },
    });
    await apply(
      job(
        'late',
        { activeDeadlineSeconds: 2 },
        { nodeSelector: { 'hindsight.test/none': 'true' } },
      ),
    );
    const late = await hindsight(['track', 'job/late', '-n', ns]);
    expect(late.code).toBe(1);
    expect(lines(late.out).find((l) => l.includes('FAILED'))).toMatch(
      /Job .*\/late failed: .*DeadlineExceeded/,
    );
    // The test cluster's pod-fail stage makes this Job's Pod exit 1, as a failing container does.
    await apply(job('broken', {}, {}, { 'hindsight.test/exit-code': '1' }));
    const broken = await hindsight(['track', 'job/broken', '-n', ns, '-o', 'json']);
    expect(broken.code).toBe(1);
    const records = lines(broken.out).map(
      (l) => JSON.parse(l) as { type: string; outcome?: string; reason?: string; message?: string },
    );
    expect(records.at(-1)).toMatchObject({
      type: 'result',
      outcome: 'failed',
      reason: 'BackoffLimitExceeded',
    });
    expect(records.at(-1)!.message).toMatch(/Job .*\/broken failed: .*backoff limit/i);
    await apply(job('done', {}));
    const done = await hindsight(['track', 'job/done', '-n', ns]);
    expect(done.code).toBe(0);
    expect(done.out).toMatch(/job\/done READY in .*complete: 1 of 1 succeeded/);
  });

  it('an image pull failure the kubelet reports fails the rollout; --allow-failures 1 tolerates one and times out (exit 3)', async () => {
    // minReadySeconds keeps the rollout waiting for availability while the kubelet reports.
    await apply(waiting('pull'));
    const pod = await runningPodOf('pull');
    const tolerant = hindsight([
      'track',
      'deploy/pull',
      '-n',
      ns,
      '--allow-failures',
      '1',
      '--timeout',
      '6s',
      '--no-logs',
    ]);
    const strict = hindsight(['track', 'deploy/pull', '-n', ns, '--no-logs']);
    await new Promise((r) => setTimeout(r, 1500));
    await reportContainer(pod, {
      waiting: {
        reason: 'ImagePullBackOff',
        message: 'Back-off pulling image "registry.test/app:1"',
      },
    });
    const s = await strict;
    expect(s.code).toBe(1);
    expect(lines(s.out).find((l) => l.includes('FAILED'))).toContain(
      `Pod ${pod} container app: ImagePullBackOff: Back-off pulling image "registry.test/app:1"`,
    );
    const t = await tolerant;
    expect(t.code).toBe(3);
    expect(t.out).toContain('warning: 1 of 1 allowed failures: ImagePullBackOff');
    expect(lines(t.out).at(-1)).toMatch(/TIMEOUT: timed out after 6s; last status: /);
  });

  it('a Deployment past its progressDeadlineSeconds fails with ProgressDeadlineExceeded; -o json gives the records', async () => {
    await apply(
      deployment(
        'deadline',
        { replicas: 1, progressDeadlineSeconds: 2 },
        { nodeSelector: { 'hindsight.test/none': 'true' } },
      ),
    );
    const r = await hindsight([
      'track',
      'deploy/deadline',
      '-n',
      ns,
      '--unschedulable-grace',
      '10m',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(1);
    const records = lines(r.out).map(
      (l) =>
        JSON.parse(l) as {
          type: string;
          outcome?: string;
          reason?: string;
          message?: string;
          state?: string;
        },
    );
    expect(records.some((x) => x.type === 'status' && x.state === 'progressing')).toBe(true);
    const result = records.find((x) => x.type === 'result')!;
    expect(result).toMatchObject({ outcome: 'failed', reason: 'ProgressDeadlineExceeded' });
    expect(result.message).toMatch(/has timed out progressing/);
  });

  it('a crash loop the kubelet reports fails the rollout, naming the container', async () => {
    await apply(waiting('crash'));
    const pod = await runningPodOf('crash');
    const tracking = hindsight(['track', 'deploy/crash', '-n', ns, '--no-logs']);
    await new Promise((r) => setTimeout(r, 1500));
    await reportContainer(
      pod,
      {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: 'back-off 40s restarting failed container=app',
        },
      },
      3,
    );
    const r = await tracking;
    expect(r.code).toBe(1);
    expect(lines(r.out).find((l) => l.includes('FAILED'))).toContain(
      `Pod ${pod} container app: CrashLoopBackOff: back-off 40s restarting failed container=app`,
    );
  });

  it('ignores a failure Event dated before the start of tracking and fails on a new one', async () => {
    await apply(waiting('events'));
    const uid = (
      await (
        await controlPlane()
      ).kubectl(['get', 'deploy', 'events', '-n', ns, '-o', 'jsonpath={.metadata.uid}'])
    ).trim();
    const event = (name: string, at: Date) => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'events',
        namespace: ns,
        uid,
      },
      reason: 'FailedCreate',
      message: `${name}: admission webhook denied the request`,
      type: 'Warning',
      count: 1,
      firstTimestamp: at.toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: at.toISOString().replace(/\.\d+Z$/, 'Z'),
      source: { component: 'test' },
    });
    await apply(event('old-failure', new Date(Date.now() - 10 * 60_000)));
    const quiet = await hindsight([
      'track',
      'deploy/events',
      '-n',
      ns,
      '--timeout',
      '3s',
      '--no-logs',
    ]);
    expect(quiet.code).toBe(3);
    expect(quiet.out).not.toContain('old-failure');
    const tracking = hindsight([
      'track',
      'deploy/events',
      '-n',
      ns,
      '--timeout',
      '30s',
      '--no-logs',
    ]);
    await new Promise((r) => setTimeout(r, 2500));
    await apply(event('new-failure', new Date()));
    const r = await tracking;
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /event Warning FailedCreate Deployment\/events: new-failure: admission webhook denied the request/,
    );
    expect(lines(r.out).find((l) => l.includes('FAILED'))).toContain(
      'Deployment events FailedCreate: new-failure',
    );
    expect(r.out).not.toContain('old-failure');
  });

  it('--fail-mode fail-fast stops the others at the first failure; keep-going tracks them to their end', async () => {
    const blocked = { nodeSelector: { 'hindsight.test/none': 'true' } };
    // Ready a few seconds after its Pod runs: still waiting when the other one fails.
    const slow = (name: string) => deployment(name, { replicas: 1, minReadySeconds: 4 });
    await apply(deployment('stuck', { replicas: 1 }, blocked), slow('slow-a'), slow('slow-b'));
    const grace = ['--unschedulable-grace', '1s', '--no-logs'];
    const fast = await hindsight(['track', 'deploy/stuck', 'deploy/slow-a', '-n', ns, ...grace]);
    expect(fast.code).toBe(1);
    expect(fast.out).toMatch(
      /deployment\/slow-a STOPPED: stopped because Deployment .*\/stuck failed/,
    );
    const going = await hindsight([
      'track',
      'deploy/stuck',
      'deploy/slow-b',
      '-n',
      ns,
      ...grace,
      '--fail-mode',
      'keep-going',
    ]);
    expect(going.code).toBe(1);
    expect(going.out).toMatch(/deployment\/stuck FAILED/);
    expect(going.out).toMatch(/deployment\/slow-b READY in/);
  });

  it('--no-activity-timeout ends a rollout where nothing changes, exit 3', async () => {
    await apply(waiting('idle'));
    await podsOf('idle', 1);
    await new Promise((r) => setTimeout(r, 1500));
    const r = await hindsight([
      'track',
      'deploy/idle',
      '-n',
      ns,
      '--no-activity-timeout',
      '2s',
      '--no-logs',
    ]);
    expect(r.code).toBe(3);
    expect(lines(r.out).at(-1)).toMatch(
      /TIMEOUT: no activity for 2s; last status: 0 of 1 updated replicas available/,
    );
  });

  it('exits 4 for an object that does not exist and for one deleted while tracked', async () => {
    const missing = await hindsight(['track', 'deploy/missing', '-n', ns]);
    expect(missing.code).toBe(4);
    expect(missing.out).toMatch(/NOT FOUND: Deployment .*\/missing does not exist/);
    await apply(waiting('doomed'));
    const tracking = hindsight(['track', 'deploy/doomed', '-n', ns, '--no-logs']);
    await new Promise((r) => setTimeout(r, 1500));
    await (await controlPlane()).kubectl(['delete', 'deploy', 'doomed', '-n', ns]);
    const deleted = await tracking;
    expect(deleted.code).toBe(4);
    expect(deleted.out).toMatch(/DELETED: Deployment .*\/doomed was deleted/);
  });

  it('tracks every workload of a manifest (-f), a StatefulSet and a DaemonSet, and skips the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hindsight-track-'));
    try {
      const file = join(dir, 'app.yaml');
      await writeFile(
        file,
        `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ${ns}}
data: {a: "1"}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${ns}}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: registry.test/db:1}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: registry.test/agent:1}]}
`,
      );
      await (await controlPlane()).kubectl(['apply', '-f', file]);
      const r = await hindsight(['track', '-f', file, '-o', 'json']);
      expect(r.code).toBe(0);
      const records = lines(r.out).map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            object: { kind: string; name: string };
            outcome?: string;
            replicas?: StatusUpdate['replicas'];
          },
      );
      const results = records.filter((x) => x.type === 'result');
      expect(results.map((x) => `${x.object.kind}/${x.object.name} ${x.outcome}`).sort()).toEqual([
        'DaemonSet/agent ready',
        'StatefulSet/db ready',
      ]);
      expect(records.some((x) => x.type === 'status' && x.object.kind === 'StatefulSet')).toBe(
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 5 when the API server refuses the credentials or the caller may not watch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hindsight-track-'));
    const cp = await controlPlane();
    try {
      const { kc } = loadKubeConfig({ kubeconfig: inject('kubeconfig'), context: undefined });
      const server = kc.getCurrentCluster()!.server;
      const ca = kc.getCurrentCluster()!.caFile ?? '';
      const kubeconfigWith = async (token: string, name: string) => {
        const file = join(dir, name);
        await writeFile(
          file,
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [
              {
                name: 'c',
                cluster: {
                  server,
                  'certificate-authority': ca,
                  ...(ca ? {} : { 'certificate-authority-data': kc.getCurrentCluster()!.caData }),
                },
              },
            ],
            users: [{ name: 'u', user: { token } }],
            contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: ns } }],
            'current-context': 'x',
          }),
        );
        return file;
      };
      const bogus = await kubeconfigWith('not-a-token', 'bogus.json');
      const refused = await hindsight(['track', 'deploy/ready'], undefined, bogus);
      expect(refused.code).toBe(5);
      expect(refused.err).toMatch(/^error: .*refused the credentials/);
      const nobody = { name: 'nobody', namespace: ns };
      await apply(serviceAccount(nobody));
      const token = await serviceAccountToken(cp, nobody);
      const asNobody = await kubeconfigWith(token, 'nobody.json');
      const forbidden = await hindsight(['track', 'deploy/ready'], undefined, asNobody);
      expect(forbidden.code).toBe(5);
      expect(forbidden.out).toMatch(/ERROR: Cannot watch .*forbidden/);
      // The shipped ClusterRole hindsight-track, bound in the namespace, is all it needs.
      const docs = loadAll(await readFile(join(ROOT, 'manifests/rbac.yaml'), 'utf8')) as {
        kind: string;
        metadata: { name: string };
      }[];
      await apply(
        docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'hindsight-track'),
      );
      await apply(roleBinding('nobody-tracks', ns, 'hindsight-track', nobody));
      const allowed = await hindsight(['track', 'deploy/ready'], undefined, asNobody);
      expect(allowed.out).toContain('READY');
      expect(allowed.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the built binary exits with the code, and usage mistakes exit 2 naming the flag', async () => {
    await ensureBuilt();
    const env = { PATH: process.env.PATH, KUBECONFIG: inject('kubeconfig') };
    const ok = await exec(process.execPath, [BIN, 'track', 'deploy/ready', '-n', ns], env);
    expect(ok.code).toBe(0);
    const missing = await exec(process.execPath, [BIN, 'track', 'sts/missing', '-n', ns], env);
    expect(missing.code).toBe(4);
    const typo = await exec(
      process.execPath,
      [BIN, 'track', 'deploy/ready', '--timeout', '10 minutes'],
      env,
    );
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      "error: --timeout '10 minutes' is not a duration: use for example 90s, 10m or 1h30m (0 for none)\n",
    );
    const mode = await exec(
      process.execPath,
      [BIN, 'track', 'deploy/ready', '--fail-mode', 'hope'],
      env,
    );
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain("--fail-mode 'hope' is not a mode");
  });

  it('--follow keeps streaming after ready until stopped, and sees the next rollout', async () => {
    const stop = new AbortController();
    const following = hindsight(
      ['track', 'deploy/ready', '-n', ns, '--follow', '--no-logs'],
      stop.signal,
    );
    await new Promise((r) => setTimeout(r, 1500));
    await (
      await controlPlane()
    ).kubectl(['set', 'image', 'deploy/ready', '-n', ns, 'app=registry.test/app:2']);
    // The rollout runs: status lines of the new revision, then ready again.
    await new Promise((r) => setTimeout(r, 6000));
    stop.abort();
    const r = await following;
    expect(r.code).toBe(0);
    // Ready when following began, then waiting for the new revision, then ready again.
    expect(r.out.match(/READY in/g)).toHaveLength(2);
    expect(r.out).toMatch(/waiting: .*new replicas updated/);
    expect(r.out).toMatch(
      /event Normal ScalingReplicaSet Deployment\/ready: Scaled up replica set/,
    );
  });
});

describe('container logs', () => {
  const logNs = uniqueName('track-logs');
  let dir = '';
  /** A line in the CRI log format kwok serves: `<RFC3339Nano> stdout F <text>`. */
  const cri = (at: Date, text: string) => `${at.toISOString()} stdout F ${text}\n`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-track-logs-'));
    await writeFile(
      join(dir, 'app.log'),
      cri(new Date(Date.now() - 3_600_000), 'from an hour ago'),
    );
    await writeFile(join(dir, 'previous.log'), '');
    await apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: logNs } },
      {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'ClusterLogs',
        metadata: { name: logNs },
        spec: {
          selector: { matchNamespaces: [logNs] },
          logs: [{ logsFile: join(dir, 'app.log'), previousLogsFile: join(dir, 'previous.log') }],
        },
      },
    );
  });

  afterAll(async () => {
    const cp = await controlPlane();
    await cp.kubectl(['delete', 'clusterlogs', logNs, '--ignore-not-found']);
    await cp.kubectl(['delete', 'namespace', logNs, '--wait=false']);
    await rm(dir, { recursive: true, force: true });
  });

  it("streams the new Pod's log lines from the start of tracking, each once across a dropped stream, and the previous container's after a restart", async () => {
    const app = deployment('talker', {
      replicas: 1,
      minReadySeconds: 3600,
      progressDeadlineSeconds: 7200,
    });
    app.metadata.namespace = logNs;
    await apply(app);
    const running = async (count: number) => {
      let names: string[] = [];
      await waitFor(`${count} running Pods`, 30_000, async () => {
        const list = await core().listNamespacedPod({
          namespace: logNs,
          labelSelector: 'app=talker',
        });
        names = list.items
          .filter((p) => p.status?.phase === 'Running')
          .map((p) => p.metadata!.name!);
        return names.length === count;
      });
      return names;
    };
    const [old] = await running(1);
    // A new revision: its Pod is the new one; the old Pod stays (not available yet: minReadySeconds).
    await (
      await controlPlane()
    ).kubectl(['set', 'image', 'deploy/talker', '-n', logNs, 'app=registry.test/app:2']);
    const pod = (await running(2)).find((p) => p !== old)!;
    const tracking = hindsight(['track', 'deploy/talker', '-n', logNs, '--timeout', '12s']);
    await new Promise((r) => setTimeout(r, 1500));
    await appendFile(join(dir, 'app.log'), cri(new Date(), 'hello 1') + cri(new Date(), 'hello 2'));
    await new Promise((r) => setTimeout(r, 2000));
    // kwok restarts: the follow stream drops and is re-opened from the last second seen.
    await (await controlPlane()).restart('kwok');
    await appendFile(join(dir, 'app.log'), cri(new Date(), 'hello 3'));
    await new Promise((r) => setTimeout(r, 2500));
    // The container restarts: its previous instance's last words come first.
    await writeFile(join(dir, 'previous.log'), cri(new Date(), 'dying words'));
    const cp = await controlPlane();
    await cp.kubectl([
      'patch',
      'pod',
      pod,
      '-n',
      logNs,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          containerStatuses: [
            {
              name: 'app',
              image: 'registry.test/app:1',
              imageID: '',
              ready: true,
              restartCount: 1,
              started: true,
              state: { running: { startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } },
              lastState: { terminated: { exitCode: 1, reason: 'Error' } },
            },
          ],
        },
      }),
    ]);
    const r = await tracking;
    expect(r.code).toBe(3);
    const logs = lines(r.out)
      .filter((l) => l.includes(' | '))
      .map((l) => l.slice(l.indexOf('deployment/talker ') + 'deployment/talker '.length));
    // The old Pod serves the same lines (kwok reads one file for the namespace): none of them show.
    expect(lines(r.out).filter((l) => l.includes(' | ') && l.includes(old!))).toEqual([]);
    expect(logs).toEqual([
      `${pod}/app | hello 1`,
      `${pod}/app | hello 2`,
      `${pod}/app | hello 3`,
      `${pod}/app | dying words`,
    ]);
  });

  it('--containers streams only the named containers; without it every container of the new Pods', async () => {
    const app = deployment(
      'duo',
      { replicas: 1, minReadySeconds: 3600, progressDeadlineSeconds: 7200 },
      {
        containers: [
          { name: 'app', image: 'registry.test/app:1' },
          { name: 'sidecar', image: 'registry.test/sidecar:1' },
        ],
      },
    );
    app.metadata.namespace = logNs;
    await apply(app);
    let pod = '';
    await waitFor('the Pod of duo to run', 30_000, async () => {
      const list = await core().listNamespacedPod({ namespace: logNs, labelSelector: 'app=duo' });
      pod = list.items.find((p) => p.status?.phase === 'Running')?.metadata?.name ?? '';
      return pod !== '';
    });
    const args = ['track', 'deploy/duo', '-n', logNs, '--timeout', '6s'];
    const only = hindsight([...args, '--containers', 'sidecar']);
    const every = hindsight(args);
    await new Promise((r) => setTimeout(r, 2000));
    // kwok serves this namespace's one log file for each container.
    await appendFile(join(dir, 'app.log'), cri(new Date(), 'both say this'));
    const logsOf = (r: Ran) =>
      lines(r.out)
        .filter((l) => l.includes(' | '))
        .map((l) => l.slice(l.indexOf('deployment/duo ') + 'deployment/duo '.length));
    const [o, e] = await Promise.all([only, every]);
    expect(o.code).toBe(3);
    expect(logsOf(o)).toEqual([`${pod}/sidecar | both say this`]);
    expect(logsOf(e).sort()).toEqual([
      `${pod}/app | both say this`,
      `${pod}/sidecar | both say this`,
    ]);
  });
});

describe('the tracker library', () => {
  it('reports status, Events and the end through callbacks', async () => {
    await apply(deployment('lib', { replicas: 1 }));
    const { kc } = loadKubeConfig({ kubeconfig: inject('kubeconfig'), context: undefined });
    const statuses: StatusUpdate[] = [];
    const ready: Result[] = [];
    const results = await track(
      {
        http: new KubeHttp(kc),
        targets: [{ kind: 'Deployment', name: 'lib', namespace: ns }],
        logs: false,
      },
      { status: (_, s) => statuses.push(s), ready: (_, r) => ready.push(r) },
    );
    expect(results.map((r) => r.outcome)).toEqual(['ready']);
    expect(ready).toHaveLength(1);
    expect(statuses.at(-1)?.state).toBe('ready');
    expect(statuses.at(-1)?.replicas).toEqual({ desired: 1, updated: 1, ready: 1, available: 1 });
    // The Deployment's status decides; the Pod's own watch may not have caught up with it yet.
    expect(statuses.at(-1)?.pods.map((p) => [p.name.startsWith('lib-'), p.new])).toEqual([
      [true, true],
    ]);
    expect(
      statuses.some((s) => s.pods.some((p) => p.status === 'Pending' || p.status === 'Running')),
    ).toBe(true);
  });
});
