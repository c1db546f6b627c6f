// Proves that the local control plane is a real cluster: controllers, scheduler, kwok Nodes,
// Events, CRDs and watches behave as they do in production clusters.
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Watch,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfig, uniqueName, waitFor } from './cluster.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);

function deployment(name: string, replicas: number, image: string): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

describe('the local control plane', () => {
  const namespace = uniqueName('smoke');

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // Pods are admitted only once the namespace's default ServiceAccount exists.
    await waitFor('the default ServiceAccount', 30_000, async () => {
      const sas = await core.listNamespacedServiceAccount({ namespace });
      return sas.items.some((sa) => sa.metadata?.name === 'default');
    });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace });
  });

  it('rolls out a Deployment to Running Pods on kwok Nodes, scales it and rolls it again', async () => {
    const name = 'web';
    await apps.createNamespacedDeployment({ namespace, body: deployment(name, 3, 'nginx:1.27') });

    const runningPods = async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: `app=${name}` })).items.filter(
        (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
      );
    await waitFor('3 Running Pods', 60_000, async () => (await runningPods()).length === 3);
    const pods = await runningPods();
    const nodes = new Set(pods.map((p) => p.spec?.nodeName));
    for (const node of nodes) expect(node).toMatch(/^kwok-node-\d+$/);
    // Every Pod is owned by the ReplicaSet the Deployment controller created.
    const first = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
    expect(first.items).toHaveLength(1);
    const rsName = first.items[0]?.metadata?.name;
    for (const p of pods)
      expect(p.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: rsName });

    await apps.patchNamespacedDeployment({
      name,
      namespace,
      body: [{ op: 'replace', path: '/spec/replicas', value: 5 }],
    });
    await waitFor('5 Running Pods', 60_000, async () => (await runningPods()).length === 5);

    await apps.patchNamespacedDeployment({
      name,
      namespace,
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.28' },
      ],
    });
    await waitFor('the rollout to complete', 90_000, async () => {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      const s = d.status;
      return (
        s?.observedGeneration === d.metadata?.generation &&
        s?.updatedReplicas === 5 &&
        s?.availableReplicas === 5 &&
        s?.replicas === 5
      );
    });
    const after = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
    expect(after.items).toHaveLength(2);
    const images = after.items.map((rs) => rs.spec?.template?.spec?.containers[0]?.image).sort();
    expect(images).toEqual(['nginx:1.27', 'nginx:1.28']);
    const newRs = after.items.find(
      (rs) => rs.spec?.template?.spec?.containers[0]?.image === 'nginx:1.28',
    );
    expect(newRs?.status?.readyReplicas).toBe(5);

    // The controllers and the scheduler report what they did as Events.
    await waitFor('ScalingReplicaSet and Scheduled Events', 30_000, async () => {
      const events = await core.listNamespacedEvent({ namespace });
      const reasons = new Set(events.items.map((e) => e.reason));
      return (
        reasons.has('ScalingReplicaSet') &&
        reasons.has('Scheduled') &&
        reasons.has('SuccessfulCreate')
      );
    });
    const events = await core.listNamespacedEvent({ namespace });
    const scheduled = events.items.filter((e) => e.reason === 'Scheduled');
    expect(scheduled.length).toBeGreaterThanOrEqual(5);
    expect(scheduled[0]?.message).toMatch(/assigned .* to kwok-node-\d+/);
    const scaling = events.items.filter((e) => e.reason === 'ScalingReplicaSet');
    expect(
      scaling.every(
        (e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === name,
      ),
    ).toBe(true);
  });

  it('serves a CustomResourceDefinition and objects of it', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const group = 'smoke.hindsight.dev';
    const plural = `widgets${Date.now().toString(36)}`;
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: {
            plural,
            singular: plural.slice(0, -1),
            kind: `Widget${Date.now().toString(36)}`,
          },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      required: ['size'],
                      properties: { size: { type: 'integer', minimum: 1 } },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await waitFor('the CRD to be Established', 30_000, async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
      return (
        crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ??
        false
      );
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const kind = (await ext.readCustomResourceDefinition({ name: `${plural}.${group}` })).spec.names
      .kind;
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace,
      plural,
      body: { apiVersion: `${group}/v1`, kind, metadata: { name: 'one' }, spec: { size: 3 } },
    });
    const got = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace,
      plural,
      name: 'one',
    })) as {
      spec: { size: number };
    };
    expect(got.spec.size).toBe(3);
    // The structural schema is enforced by the real API server.
    await expect(
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        body: { apiVersion: `${group}/v1`, kind, metadata: { name: 'bad' }, spec: { size: 0 } },
      }),
    ).rejects.toMatchObject({ code: 422 });
    await ext.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
  });

  it('resumes a watch from a resourceVersion and sees only the later changes', async () => {
    const cm = (n: string) => ({ metadata: { name: n }, data: { v: n } });
    await core.createNamespacedConfigMap({ namespace, body: cm('before') });
    const list = await core.listNamespacedConfigMap({ namespace });
    const rv = list.metadata?.resourceVersion;
    expect(rv).toBeTruthy();
    await core.createNamespacedConfigMap({ namespace, body: cm('after-1') });
    await core.createNamespacedConfigMap({ namespace, body: cm('after-2') });

    const seen: string[] = [];
    // The root-CA publisher may add its ConfigMap to the namespace at any time.
    const ours = () => seen.filter((s) => !s.endsWith(' kube-root-ca.crt'));
    const watch = new Watch(kc);
    const controller = await watch.watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { resourceVersion: rv },
      (type, obj: { metadata: { name: string } }) => {
        seen.push(`${type} ${obj.metadata.name}`);
      },
      () => {},
    );
    try {
      await waitFor('two watch events', 15_000, () => Promise.resolve(ours().length >= 2));
      await core.deleteNamespacedConfigMap({ namespace, name: 'after-1' });
      await waitFor('the delete event', 15_000, () => Promise.resolve(ours().length >= 3));
    } finally {
      controller.abort();
    }
    expect(ours()).toEqual(['ADDED after-1', 'ADDED after-2', 'DELETED after-1']);
  });
});
