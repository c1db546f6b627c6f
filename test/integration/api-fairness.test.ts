// Queries bounded per caller, with the real TokenReviews and SubjectAccessReviews of the local
// control plane: callers hammering day-long timelines of a busy namespace (one who may read
// nothing, one who may read everything) cannot make a third caller's one-object history fail or
// take a second, and a request asks the SubjectAccessReviews of the scopes it touches only.
//
// The busy namespace's day is written into the history volume before the operator starts
// (30,000 Pods over the last 23 hours, through the real Recorder): the cluster could not create
// that much history within a test. Its Pods are not watched by the operator, which only serves it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { compilePolicy } from '../../src/recorder/policy.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import { createLogger } from '../../src/log.ts';
import { openDatabase } from '../../src/store/db.ts';
import { HistoryWriter } from '../../src/store/writer.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { watchTarget } from '../unit/fixtures/recording.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import { clusterRoleBinding, roleBinding, serviceAccount, serviceAccountToken } from './world.ts';

const core = kubeConfig().makeApiClient(CoreV1Api);
const HAMMER = join(import.meta.dirname, 'fixtures/hammer.ts');
const PODS = 30_000;
const HOUR = 3_600_000;
/** A uid of the form Kubernetes gives, per Pod of the busy namespace. */
const podUid = (i: number) => `f0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** Writes the busy namespace's day and a ConfigMap in each of `others` into `dir`/history.db. */
async function writeDay(dir: string, busy: string, others: string[]): Promise<string> {
  const db = openDatabase(join(dir, 'history.db'));
  const recorder = new Recorder({
    writer: new HistoryWriter(db),
    log: createLogger('error'),
    batchDelayMs: 0,
  });
  recorder.setPolicies([
    compilePolicy('fixture', 1, {
      resources: [{ group: '', kinds: ['Pod', 'ConfigMap'] }],
      events: false,
    }).policy,
  ]);
  const start = Date.now() - 23 * HOUR;
  const pods = watchTarget('', 'Pod', 'pods', busy);
  let rv = 1;
  const pod = (i: number, image: string, t: number): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: busy,
      name: `worker-${i}`,
      uid: podUid(i),
      resourceVersion: String(++rv),
      creationTimestamp: new Date(t).toISOString(),
      labels: { app: 'worker' },
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image }] },
  });
  for (let from = 0; from < PODS; from += 5000) {
    const batch = [];
    for (let i = from; i < from + 5000; i++) {
      const t = start + Math.floor((i / PODS) * 22 * HOUR);
      batch.push({ type: 'ADDED' as const, object: pod(i, 'app:1', t), time: t });
      batch.push({ type: 'MODIFIED' as const, object: pod(i, 'app:2', t), time: t + 60_000 });
    }
    await recorder.write(pods, batch);
  }
  for (const ns of others) {
    await recorder.write(watchTarget('', 'ConfigMap', 'configmaps', ns), [
      {
        type: 'ADDED',
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            namespace: ns,
            name: 'c',
            uid: `cccccccc-${others.indexOf(ns)}`,
            resourceVersion: '1',
          },
          data: { a: '1' },
        },
        time: start,
      },
    ]);
  }
  await recorder.stop();
  db.close();
  return podUid(0);
}

describe('queries bounded per caller', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dataDir: string;
  let firstPod: string;
  const busy = uniqueName('fair');
  const others = [uniqueName('fair-x'), uniqueName('fair-y'), uniqueName('fair-z')];
  const tokens: Record<'nobody' | 'viewer' | 'reader' | 'counted', string> = {
    nobody: '',
    viewer: '',
    reader: '',
    counted: '',
  };
  const viewerBinding = `${busy}-viewer`;

  const get = async (path: string, token: string) => {
    const started = performance.now();
    const res = await fetch(`${op.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - started };
  };

  /** SubjectAccessReviews the operator has sent so far, by its metrics. */
  const reviews = async () => {
    const text = await (await fetch(`${op.url}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(
      /^hindsight_api_auth_reviews_total\{[^}]*review="SubjectAccessReview"[^}]*\} (\d+)/gm,
    )) {
      n += Number(m[1]);
    }
    return n;
  };

  beforeAll(async () => {
    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    for (const ns of [busy, ...others]) {
      await core.createNamespace({ body: { metadata: { name: ns } } });
    }
    const account = (name: string) => ({ name, namespace: busy });
    await apply(
      ...['nobody', 'viewer', 'reader', 'counted'].map((n) => serviceAccount(account(n))),
      clusterRoleBinding(viewerBinding, 'view', account('viewer')),
      roleBinding('reader', busy, 'view', account('reader')),
      roleBinding('counted', busy, 'view', account('counted')),
    );
    for (const name of Object.keys(tokens) as (keyof typeof tokens)[]) {
      tokens[name] = await serviceAccountToken(cp, account(name));
    }
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-fair-'));
    firstPod = await writeDay(dataDir, busy, others);
    op = await OperatorProcess.start({ kubeconfig, dataDir });
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'clusterrolebinding', viewerBinding, '--ignore-not-found']);
    for (const ns of [busy, ...others]) await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('asks the reviews of the scopes a request touches, not of every scope', async () => {
    // One object: whether pods may be read everywhere (no) and in its namespace (yes).
    let before = await reviews();
    const one = await get(`/api/v1/objects/${firstPod}`, tokens.counted);
    expect(one.status).toBe(200);
    expect(await reviews()).toBe(before + 2);
    // One namespace holding only Pods: the same two questions, for list.
    before = await reviews();
    const day = await get(`/api/v1/timeline?namespace=${busy}&from=-24h&limit=10`, tokens.counted);
    expect(day.status).toBe(200);
    expect((JSON.parse(day.text) as { rows: unknown[] }).rows).toHaveLength(10);
    expect(await reviews()).toBe(before + 2);
    // A search of every namespace still asks about each: more than one namespace's worth.
    before = await reviews();
    expect((await get('/api/v1/resources?kind=ConfigMap', tokens.counted)).status).toBe(200);
    expect(await reviews()).toBeGreaterThanOrEqual(before + 1 + others.length);
  });

  it("keeps one caller's object history fast while two others hammer day-long timelines", async () => {
    const day = `${op.url}/api/v1/timeline?namespace=${busy}&from=-24h&buckets=200&limit=50000`;
    const heavy: { who: string; status: number; rows: number; ms: number }[] = [];
    const hammers = (['nobody', 'viewer'] as const).map((who) => {
      const child = spawn(process.execPath, [HAMMER, day, tokens[who], '4'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        heavy.push({ who, ...(JSON.parse(line) as { status: number; rows: number; ms: number }) });
      });
      return { child, exited: new Promise((r) => child.on('exit', r)) };
    });
    // Once the viewer's timelines are answered, the reader asks for one Pod's history at a time.
    const light: { status: number; ms: number }[] = [];
    try {
      await waitFor('a day-long timeline answered', 60_000, () =>
        Promise.resolve(heavy.some((h) => h.who === 'viewer')),
      );
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        const uid = podUid(Math.floor(Math.random() * PODS));
        const r = await get(`/api/v1/objects/${uid}/versions`, tokens.reader);
        light.push({ status: r.status, ms: r.ms });
        if (r.status === 200) {
          expect((JSON.parse(r.text) as { items: unknown[] }).items).toHaveLength(2);
        }
      }
    } finally {
      for (const h of hammers) h.child.kill('SIGTERM');
      await Promise.all(hammers.map((h) => h.exited));
    }
    // The load was real: the viewer's timelines held every Pod, the other caller's none.
    const viewer = heavy.filter((h) => h.who === 'viewer' && h.status === 200);
    expect(viewer.length).toBeGreaterThan(0);
    expect(viewer.every((h) => h.rows === PODS)).toBe(true);
    const nobody = heavy.filter((h) => h.who === 'nobody' && h.status === 200);
    expect(nobody.length).toBeGreaterThan(0);
    expect(nobody.every((h) => h.rows === 0)).toBe(true);
    expect(heavy.filter((h) => h.status !== 200 && h.status !== 503)).toEqual([]);
    // And the reader was answered throughout, every time within a second.
    expect(light.length).toBeGreaterThan(20);
    expect(light.filter((l) => l.status !== 200)).toEqual([]);
    expect(Math.max(...light.map((l) => l.ms))).toBeLessThan(1000);
  }, 120_000);
});
