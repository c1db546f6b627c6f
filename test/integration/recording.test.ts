// Ground truth: the history Hindsight records equals the log of the writes a driver made, across
// an operator restart, cut watch connections, an API server restart and an expired
// resourceVersion (410 Gone after etcd compaction).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { checkHistory, Driver, missing } from './ground-truth.ts';
import { CuttableProxy, OperatorProcess, operatorKubeconfig } from './operator-process.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);

describe('recording against ground truth', () => {
  let cp: ControlPlane;
  let proxy: CuttableProxy;
  let opKubeconfig: string;
  let dataDir: string;
  let op: OperatorProcess;
  let db: Db | undefined;
  const driver = new Driver(kc);
  const [nsA, nsB] = [uniqueName('gt-a'), uniqueName('gt-b')];
  const policy = uniqueName('ground-truth');
  /** Before the history began: no gap can start earlier. */
  let suiteStartedAt: number;

  const reader = () => {
    db ??= openDatabase(join(dataDir, 'history.db'), { readonly: true });
    return new HistoryReader(db);
  };
  const recorded = () =>
    waitFor('every logged write to be recorded', 60_000, () =>
      Promise.resolve(missing(reader(), driver.log).length === 0),
    ).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; missing: ${JSON.stringify(missing(reader(), driver.log))}\n${op.tail()}`,
      );
    });

  const verify = () => {
    try {
      checkHistory(reader(), driver.log);
    } catch (err) {
      (err as Error).message +=
        `\ngaps: ${JSON.stringify(reader().gaps())}\nlog: ${JSON.stringify(driver.log.slice(-8))}\n${op.tail(80)}`;
      throw err;
    }
  };

  beforeAll(async () => {
    suiteStartedAt = Date.now();
    cp = await controlPlane();
    proxy = await CuttableProxy.start(new URL(cp.state.server));
    opKubeconfig = await operatorKubeconfig(cp, `https://127.0.0.1:${proxy.port}`);
    // ConfigMaps are not among the default kinds: grant them the documented way.
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
    ]);
    for (const ns of [nsA, nsB]) await core.createNamespace({ body: { metadata: { name: ns } } });
    await apply(groundTruthPolicy(policy, [nsA, nsB]));
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-gt-'));
    op = await OperatorProcess.start({ kubeconfig: opKubeconfig, dataDir });
    await waitFor(`policy ${policy} to be Ready`, 60_000, async () => {
      const ready = await cp.kubectl([
        'get',
        'hp',
        policy,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      return ready === 'True';
    });
  });

  afterAll(async () => {
    db?.close();
    await op?.stop();
    await proxy?.close();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    for (const ns of [nsA, nsB]) await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('records creates, updates, scale-ups, rollouts and deletes across kinds and namespaces', async () => {
    for (const ns of [nsA, nsB]) {
      for (let i = 0; i < 4; i++) await driver.createConfigMap(ns, `cm-${i}`, { v: '0' });
      for (let i = 0; i < 4; i++)
        for (let v = 1; v <= 2; v++) await driver.updateConfigMap(ns, `cm-${i}`, { v: String(v) });
      await driver.createDeployment(ns, 'web', 1);
      await driver.patchDeployment(ns, 'web', '/spec/replicas', 3);
      await driver.patchDeployment(ns, 'web', '/spec/template/spec/containers/0/image', 'app:2');
    }
    await driver.deleteConfigMap(nsA, 'cm-0');
    await driver.deleteDeployment(nsB, 'web');
    await recorded();
    verify();
    expect(reader().gaps()).toEqual([]);
  });

  it('loses nothing when the watch connections are cut', async () => {
    for (let round = 0; round < 3; round++) {
      await driver.updateConfigMap(nsA, 'cm-1', { v: `cut-${round}` });
      // Four resource watches and the policy watch: cut them once all are open again.
      await waitFor('the watches to reconnect', 30_000, () => Promise.resolve(proxy.open >= 5));
      expect(proxy.cut()).toBeGreaterThanOrEqual(5);
      await driver.updateConfigMap(nsB, 'cm-1', { v: `cut-${round}` });
      await driver.createConfigMap(nsB, `cut-${round}`, { v: '0' });
    }
    await driver.deleteConfigMap(nsB, 'cut-0');
    await recorded();
    verify();
    // The watches resumed from their resourceVersion: nothing is missing, so there is no gap.
    expect(reader().gaps()).toEqual([]);
  });

  it('resumes without gaps or duplicates after the operator is stopped while objects change and are deleted', async () => {
    await op.stop();
    await driver.updateConfigMap(nsA, 'cm-2', { v: 'offline' });
    await driver.deleteConfigMap(nsA, 'cm-3');
    await driver.createConfigMap(nsA, 'offline', { v: '0' });
    await driver.patchDeployment(nsA, 'web', '/spec/replicas', 2);
    op = await OperatorProcess.start({ kubeconfig: opKubeconfig, dataDir });
    await recorded();
    verify();
    // The downtime was shorter than the API server's watch history: the watches replayed it,
    // so deletions were seen, not inferred, and history is complete.
    const cm3 = reader().objects({ namespace: nsA, name: 'cm-3' })[0]!;
    expect(cm3.deletion).toBe('observed');
    expect(reader().gaps()).toEqual([]);
  });

  it('keeps recording across a kube-apiserver restart, each watch relisting once with a gap over the restart', async () => {
    // The earlier tests left no gap: every gap from here on is the restart's.
    expect(reader().gaps()).toEqual([]);
    await cp.stopComponent('kube-apiserver');
    const downAt = Date.now();
    await cp.startComponent('kube-apiserver');
    await driver.updateConfigMap(nsB, 'cm-2', { v: 'after-restart' });
    await driver.createConfigMap(nsB, 'after-restart', { v: '0' });
    await recorded();
    verify();
    // The new API server's watch cache starts at etcd's current revision, so the watches'
    // resourceVersions are too old for it (410 Gone): each relists, and records that it cannot
    // know what happened between the last time it was current, before the API server went down,
    // and the end of its relist, after it came back.
    const watches = [nsA, nsB].flatMap((ns) => [`/configmaps@${ns}`, `apps/deployments@${ns}`]);
    await waitFor('a gap for each watch', 60_000, () =>
      Promise.resolve(reader().gaps().length >= watches.length),
    );
    const seenAt = Date.now();
    const gaps = reader().gaps();
    expect(gaps.map((g) => g.watch).sort()).toEqual(watches.sort());
    for (const g of gaps) {
      expect(g.reason, g.watch).toBe('ResourceVersionExpired');
      expect(g.start, g.watch).toBeGreaterThanOrEqual(suiteStartedAt);
      expect(g.start, g.watch).toBeLessThanOrEqual(downAt);
      expect(g.end, g.watch).toBeGreaterThan(downAt);
      expect(g.end, g.watch).toBeLessThanOrEqual(seenAt);
    }
  });

  it('relists after 410 Gone: deletions during downtime are inferred and the downtime is a gap', async () => {
    await op.stop();
    const stoppedAt = Date.now();
    await driver.updateConfigMap(nsA, 'cm-1', { v: 'gone-1' });
    await driver.updateConfigMap(nsA, 'cm-1', { v: 'gone-2' });
    await driver.deleteConfigMap(nsA, 'cm-2');
    await driver.deleteConfigMap(nsB, 'cm-3');
    await driver.createConfigMap(nsB, 'while-gone', { v: '0' });
    // Make the checkpointed resourceVersions too old: compact etcd and restart the API server so
    // its watch cache no longer covers them.
    await cp.compactEtcd();
    await cp.restart('kube-apiserver');
    const relistedAfter = Date.now();
    op = await OperatorProcess.start({ kubeconfig: opKubeconfig, dataDir });
    await recorded();
    verify();

    const r = reader();
    const cm2 = r.objects({ namespace: nsA, name: 'cm-2' })[0]!;
    expect(cm2.deletion).toBe('inferred');
    // The earlier API server restart left gaps of its own (tested above); these are this relist's.
    const gaps = r.gaps().filter((g) => g.resource === 'configmaps' && g.end >= relistedAfter);
    expect(gaps.map((g) => g.namespace).sort()).toEqual([nsA, nsB].sort());
    for (const g of gaps) {
      expect(g.reason).toBe('ResourceVersionExpired');
      expect(g.start).toBeLessThanOrEqual(stoppedAt);
      expect(g.end).toBeGreaterThanOrEqual(relistedAfter);
    }
    // The intermediate update (gone-1) is lost inside the gap; the final state is recorded.
    const cm1 = r.objects({ namespace: nsA, name: 'cm-1' })[0]!;
    const last = r.versions(cm1.id).at(-1)!;
    expect((r.bodyAt(cm1.id, last.seq) as { data: unknown }).data).toEqual({ v: 'gone-2' });
  });
});

function groundTruthPolicy(name: string, namespaces: string[]) {
  return {
    apiVersion: 'hindsight.dev/v1alpha1',
    kind: 'HistoryPolicy',
    metadata: { name },
    spec: {
      resources: [
        { group: '', kinds: ['ConfigMap'] },
        { group: 'apps', kinds: ['Deployment'] },
      ],
      events: false,
      namespaces: { include: namespaces },
    },
  };
}
