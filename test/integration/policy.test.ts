// HistoryPolicy behaviour against the real control plane: Sloop-compatible exclusion rules,
// Event occurrences, printer columns, broken parts reported while the rest records, editing and
// deleting policies without restart, CRDs installed later, and Secret redaction.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Condition, HistoryPolicy } from '../../src/api/history-policy.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { digest } from '../../src/recorder/redact.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

function policy(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'hindsight.dev/v1alpha1', kind: 'HistoryPolicy', metadata: { name }, spec };
}

describe('HistoryPolicy', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dataDir: string;
  let db: Db | undefined;
  const policies: string[] = [];
  const namespaces: string[] = [];

  const reader = () => {
    db ??= openDatabase(join(dataDir, 'history.db'), { readonly: true });
    return new HistoryReader(db);
  };
  const names = (filter: { kind?: string; namespace?: string }) =>
    reader()
      .objects(filter)
      .map((o) => o.name)
      .sort();
  const getPolicy = async (name: string) =>
    (await custom.getClusterCustomObject({
      group: 'hindsight.dev',
      version: 'v1alpha1',
      plural: 'historypolicies',
      name,
    })) as HistoryPolicy;
  const condition = async (name: string, type: string): Promise<Condition | undefined> =>
    (await getPolicy(name)).status?.conditions?.find((c) => c.type === type);
  const namespace = async (prefix: string) => {
    const ns = uniqueName(prefix);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    namespaces.push(ns);
    await waitFor(`the default ServiceAccount of ${ns}`, 30_000, async () =>
      (await core.listNamespacedServiceAccount({ namespace: ns })).items.some(
        (sa) => sa.metadata?.name === 'default',
      ),
    );
    return ns;
  };
  const applyPolicy = async (name: string, spec: Record<string, unknown>) => {
    if (!policies.includes(name)) policies.push(name);
    await apply(policy(name, spec));
  };
  const untilRecorded = (what: string, f: () => boolean) =>
    waitFor(what, 30_000, () => Promise.resolve(f())).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${op.tail()}`);
    });

  beforeAll(async () => {
    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
    ]);
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-policy-'));
    op = await OperatorProcess.start({ kubeconfig, dataDir });
  });

  afterAll(async () => {
    db?.close();
    for (const p of policies) await cp.kubectl(['delete', 'hp', p, '--ignore-not-found']);
    await op?.stop();
    for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('applies exclusion rules written the way Sloop users write them', async () => {
    const [keep, skip] = [await namespace('rules-keep'), await namespace('rules-skip')];
    const name = uniqueName('sloop');
    await applyPolicy(name, {
      resources: [
        { group: '', kinds: ['Pod', 'ConfigMap'] },
        { group: 'batch', kinds: ['Job'] },
      ],
      events: false,
      namespaces: { include: [keep, skip] },
      exclusionRules: [
        { name: 'skip-namespace', rule: { '==': [{ var: 'metadata.namespace' }, skip] } },
        { name: 'skip-pod', kinds: ['Pod'], rule: { '==': [{ var: 'metadata.name' }, 'skip-me'] } },
        {
          name: 'skip-jobs',
          kinds: ['Job'],
          rule: { in: [{ var: 'metadata.name' }, ['job-a', 'job-b']] },
        },
      ],
    });
    await waitFor(
      'the policy to be Ready',
      30_000,
      async () => (await condition(name, 'Ready'))?.status === 'True',
    );
    const pod = (n: string) => ({
      metadata: { name: n },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    const job = (n: string) => ({
      metadata: { name: n },
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    });
    for (const ns of [keep, skip]) {
      await core.createNamespacedPod({ namespace: ns, body: pod('skip-me') });
      await core.createNamespacedPod({ namespace: ns, body: pod('keep-me') });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'skip-me' } },
      });
      for (const j of ['job-a', 'job-b', 'job-c'])
        await batch.createNamespacedJob({ namespace: ns, body: job(j) });
    }
    await untilRecorded(
      'job-c and its Pod',
      () =>
        names({ kind: 'Job', namespace: keep }).includes('job-c') &&
        names({ kind: 'Pod', namespace: keep }).some((n) => n.startsWith('job-c-')),
    );
    // The Pod rule excludes only Pods named skip-me; the ConfigMap of that name is kept.
    expect(names({ kind: 'Pod', namespace: keep }).filter((n) => !n.startsWith('job-'))).toEqual([
      'keep-me',
    ]);
    expect(names({ kind: 'ConfigMap', namespace: keep })).toContain('skip-me');
    expect(names({ kind: 'Job', namespace: keep })).toEqual(['job-c']);
    // The namespace rule excludes everything of every kind in `skip`.
    expect(reader().objects({ namespace: skip })).toEqual([]);
    await waitFor(
      'the exclusions to be counted in status',
      30_000,
      async () => ((await getPolicy(name)).status?.recorded?.excluded ?? 0) > 0,
    );
  });

  it('records repeated Events as occurrences of one Event, and shows live values in kubectl get historypolicy', async () => {
    const ns = await namespace('events');
    const name = uniqueName('events');
    await applyPolicy(name, {
      resources: [{ group: '', kinds: ['ConfigMap'] }],
      events: true,
      namespaces: { include: [ns] },
    });
    await waitFor(
      'the policy to be Ready',
      30_000,
      async () => (await condition(name, 'Ready'))?.status === 'True',
    );
    const cm = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'target' } },
    });
    // core/v1 Event timestamps have second precision.
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    await core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: 'target.repeated' },
        involvedObject: {
          kind: 'ConfigMap',
          namespace: ns,
          name: 'target',
          uid: cm.metadata!.uid!,
          apiVersion: 'v1',
        },
        reason: 'BackOff',
        message: 'Back-off restarting failed container',
        type: 'Warning',
        count: 1,
        firstTimestamp: new Date(at(0)),
        lastTimestamp: new Date(at(0)),
        source: { component: 'hindsight-test' },
      },
    });
    for (const count of [2, 3, 4]) {
      await core.patchNamespacedEvent({
        namespace: ns,
        name: 'target.repeated',
        body: [
          { op: 'replace', path: '/count', value: count },
          { op: 'replace', path: '/lastTimestamp', value: at(count) },
        ],
      });
    }
    await untilRecorded('four occurrences', () => {
      const e = reader()
        .events({ namespace: ns })
        .find((x) => x.reason === 'BackOff');
      return (e?.occurrences.reduce((n, o) => n + o.count, 0) ?? 0) >= 4;
    });
    const events = reader()
      .events({ namespace: ns })
      .filter((x) => x.reason === 'BackOff');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      count: 4,
      type: 'Warning',
      involved_kind: 'ConfigMap',
      involved_name: 'target',
    });
    expect(events[0]!.occurrences.map((o) => o.count)).toEqual([1, 1, 1, 1]);
    expect(events[0]!.occurrences.map((o) => o.time)).toEqual(
      [0, 2, 3, 4].map((s) => Date.parse(at(s))),
    );

    await waitFor('status counts', 40_000, async () => {
      const rec = (await getPolicy(name)).status?.recorded;
      return (rec?.changes ?? 0) >= 1 && (rec?.events ?? 0) >= 4;
    });
    const table = await cp.kubectl(['get', 'historypolicy', name]);
    const [header, row] = table.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'READY', 'KINDS', 'CHANGES', 'EVENTS', 'AGE']);
    const [n, ready, kinds, changes, evts] = row!.split(/\s+/);
    expect([n, ready, kinds]).toEqual([name, 'True', '2/2']);
    expect(Number(changes)).toBeGreaterThanOrEqual(1);
    expect(Number(evts)).toBeGreaterThanOrEqual(4);
  });

  it('reports an invalid rule, an unknown kind and a forbidden kind while the rest records', async () => {
    const ns = await namespace('broken');
    const name = uniqueName('broken');
    await applyPolicy(name, {
      resources: [
        { group: '', kinds: ['ConfigMap', 'Secret'] },
        { group: 'argoproj.io', kinds: ['Rollout'] },
      ],
      events: false,
      namespaces: { include: [ns] },
      exclusionRules: [
        { name: 'typo', rule: { eq: [{ var: 'metadata.name' }, 'x'] } },
        { name: 'fine', rule: { '==': [{ var: 'metadata.name' }, 'excluded'] } },
      ],
    });
    // Status converges as the watches start: wait for the ConfigMap watch to run and the Secret
    // watch to be refused.
    await waitFor('ConfigMap Watching and Secret Forbidden', 30_000, async () => {
      const states = (await getPolicy(name)).status?.resources ?? [];
      return (
        states.some((r) => r.kind === 'Secret' && r.state === 'Forbidden') &&
        states.some((r) => r.kind === 'ConfigMap' && r.state === 'Watching')
      );
    });
    const rules = await condition(name, 'RulesValid');
    expect(rules).toMatchObject({ status: 'False', reason: 'InvalidRule' });
    expect(rules!.message).toMatch(/'typo'.*unknown operator 'eq'/);
    const watches = await condition(name, 'WatchesEstablished');
    expect(watches!.reason).toBe('Forbidden');
    expect(watches!.message).toMatch(/secrets in API group ""/);
    expect(watches!.message).toMatch(/kind Rollout in group argoproj.io is not served/);
    const ready = await condition(name, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'PartiallyRecording' });
    const resources = (await getPolicy(name)).status!.resources!;
    expect(Object.fromEntries(resources.map((r) => [r.kind, r.state]))).toEqual({
      ConfigMap: 'Watching',
      Secret: 'Forbidden',
      Rollout: 'KindNotFound',
    });

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'kept' } } });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'excluded' } },
    });
    await untilRecorded('the ConfigMap', () =>
      names({ kind: 'ConfigMap', namespace: ns }).includes('kept'),
    );
    expect(names({ kind: 'ConfigMap', namespace: ns })).not.toContain('excluded');
  });

  it('picks up a CRD installed after the policy, without restart', async () => {
    const ns = await namespace('later');
    const name = uniqueName('later');
    const group = `${uniqueName('later')}.hindsight.dev`;
    await applyPolicy(name, {
      resources: [{ group, kinds: ['Gadget'] }],
      events: false,
      namespaces: { include: [ns] },
    });
    await waitFor(
      'KindNotFound',
      30_000,
      async () => (await condition(name, 'WatchesEstablished'))?.reason === 'KindNotFound',
    );
    await apply(
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `gadgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          ],
        },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: {
          name: `hindsight-watch-${group}`,
          labels: { 'hindsight.dev/aggregate-to-watch': 'true' },
        },
        rules: [{ apiGroups: [group], resources: ['gadgets'], verbs: ['list', 'watch'] }],
      },
    );
    await cp.kubectl(['wait', '--for=condition=Established', `crd/gadgets.${group}`]);
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'gadgets',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gadget',
        metadata: { name: 'g1' },
        spec: { size: 1 },
      },
    });
    await untilRecorded('the Gadget', () =>
      names({ kind: 'Gadget', namespace: ns }).includes('g1'),
    );
    await waitFor('Ready', 30_000, async () => (await condition(name, 'Ready'))?.status === 'True');
    await kc
      .makeApiClient(ApiextensionsV1Api)
      .deleteCustomResourceDefinition({ name: `gadgets.${group}` });
  });

  it('applies edits without restart and keeps history after the policy is deleted', async () => {
    const [a, b] = [await namespace('edit-a'), await namespace('edit-b')];
    const name = uniqueName('edit');
    await applyPolicy(name, {
      resources: [{ group: '', kinds: ['ConfigMap'] }],
      events: false,
      namespaces: { include: [a] },
    });
    await waitFor('Ready', 30_000, async () => (await condition(name, 'Ready'))?.status === 'True');
    await core.createNamespacedConfigMap({
      namespace: a,
      body: { metadata: { name: 'before-edit' } },
    });
    await untilRecorded('before-edit', () => names({ namespace: a }).includes('before-edit'));

    // Edit: add a kind and a rule, and switch to excluding namespace b instead of including a.
    await applyPolicy(name, {
      resources: [{ group: '', kinds: ['ConfigMap', 'Service'] }],
      events: false,
      namespaces: { exclude: [b] },
      exclusionRules: [
        {
          name: 'no-skip',
          kinds: ['Service'],
          rule: { '==': [{ var: 'metadata.name' }, 'svc-skip'] },
        },
      ],
    });
    await waitFor('the edit to be observed', 30_000, async () => {
      const p = await getPolicy(name);
      return (
        p.status?.observedGeneration === p.metadata.generation &&
        p.status?.conditions?.[0]?.status === 'True'
      );
    });
    const svc = (n: string) => ({
      metadata: { name: n },
      spec: { ports: [{ port: 80 }], selector: { app: n } },
    });
    await core.createNamespacedService({ namespace: a, body: svc('svc-keep') });
    await core.createNamespacedService({ namespace: a, body: svc('svc-skip') });
    await core.createNamespacedConfigMap({
      namespace: b,
      body: { metadata: { name: 'in-excluded-namespace' } },
    });
    await core.createNamespacedConfigMap({
      namespace: a,
      body: { metadata: { name: 'after-edit' } },
    });
    await untilRecorded('svc-keep and after-edit', () => {
      const n = names({ namespace: a });
      return n.includes('svc-keep') && n.includes('after-edit');
    });
    expect(names({ kind: 'Service', namespace: a })).toEqual(['svc-keep']);
    expect(names({ namespace: b })).toEqual([]);

    // Deleting the policy ends its recording; what it recorded stays. A witness policy (every
    // namespace but a) shares the cluster-wide ConfigMap watch, which so keeps running: it
    // delivers the ConfigMap created in a after the deletion before the witness's own, created
    // next. Once the witness's is recorded, the other has been seen, and must have been left out.
    const witness = uniqueName('witness');
    await applyPolicy(witness, {
      resources: [{ group: '', kinds: ['ConfigMap'] }],
      events: false,
      namespaces: { exclude: [a] },
    });
    await waitFor(
      'the witness to be Ready',
      30_000,
      async () => (await condition(witness, 'Ready'))?.status === 'True',
    );
    const logged = op.lines.length;
    await cp.kubectl(['delete', 'hp', name]);
    await op.waitForLog(
      'Removed policy; its history stays until retention removes it',
      30_000,
      logged,
    );
    await core.createNamespacedConfigMap({
      namespace: a,
      body: { metadata: { name: 'after-delete' } },
    });
    await core.createNamespacedConfigMap({
      namespace: b,
      body: { metadata: { name: 'witnessed' } },
    });
    await untilRecorded('the witness ConfigMap', () =>
      names({ namespace: b }).includes('witnessed'),
    );
    expect(names({ namespace: a })).toEqual(
      expect.arrayContaining(['after-edit', 'before-edit', 'svc-keep']),
    );
    expect(names({ namespace: a })).not.toContain('after-delete');
    await cp.kubectl(['delete', 'hp', witness]);
  });

  it('records Secrets only as digests when a policy names them; its rules cannot probe their values', async () => {
    const ns = await namespace('secrets');
    const name = uniqueName('secrets');
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'hindsight-watch-secrets-test',
        labels: { 'hindsight.dev/aggregate-to-watch': 'true' },
      },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] }],
    });
    const guess = (value: string) => ({ '==': [{ var: 'data.password' }, value] });
    await applyPolicy(name, {
      resources: [{ group: '', kinds: ['Secret'] }],
      events: false,
      namespaces: { include: [ns] },
      // A policy author guessing the password: right in clear (base64) and right as its digest.
      // Were either seen, the Secret would be excluded and the count in status would say so.
      exclusionRules: [
        { name: 'clear', rule: guess(Buffer.from('hunter2-very-secret').toString('base64')) },
        {
          name: 'digest',
          rule: guess(digest(Buffer.from('hunter2-very-secret').toString('base64'))),
        },
        { name: 'other', rule: { '==': [{ var: 'metadata.name' }, 'not-recorded'] } },
      ],
    });
    await waitFor('Ready', 30_000, async () => (await condition(name, 'Ready'))?.status === 'True');
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'db' }, stringData: { password: 'hunter2-very-secret' } },
    });
    await core.patchNamespacedSecret({
      namespace: ns,
      name: 'db',
      body: [
        {
          op: 'replace',
          path: '/data/password',
          value: Buffer.from('rotated-secret-value').toString('base64'),
        },
      ],
    });
    await untilRecorded('two versions of the Secret', () => {
      const o = reader().objects({ kind: 'Secret', namespace: ns })[0];
      return o !== undefined && reader().versions(o.id).length >= 2;
    });
    const o = reader().objects({ kind: 'Secret', namespace: ns })[0]!;
    const versions = reader().versions(o.id);
    const bodies = versions.map((v) => JSON.stringify(reader().bodyAt(o.id, v.seq)));
    for (const b of bodies) {
      for (const secret of ['hunter2-very-secret', 'rotated-secret-value']) {
        expect(b).not.toContain(secret);
        expect(b).not.toContain(Buffer.from(secret).toString('base64'));
      }
      expect(b).toMatch(/"password":"sha256:[0-9a-f]{64}"/);
    }
    // The change is visible: the digest differs between the versions.
    expect(bodies[0]).not.toEqual(bodies[1]);
    expect(JSON.parse(versions[1]!.paths!)).toContain('data.password');
    // The rules work on what they may see: the Secret excluded by name is counted, and only it.
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'not-recorded' }, stringData: { password: 'x' } },
    });
    await waitFor(
      'the exclusion to be counted in status',
      30_000,
      async () => ((await getPolicy(name)).status?.recorded?.excluded ?? 0) > 0,
    );
    expect((await getPolicy(name)).status?.recorded).toMatchObject({ changes: 2, excluded: 1 });
    expect(names({ kind: 'Secret', namespace: ns })).toEqual(['db']);
    await cp.kubectl(['delete', 'clusterrole', 'hindsight-watch-secrets-test']);
  });
});
