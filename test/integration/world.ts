// The pieces of a recorded world that integration tests build again and again: callers with
// ServiceAccount tokens and RBAC, a HistoryPolicy that the operator has made Ready, and a
// Deployment rolled out from one image to the next.
import { AppsV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { kubeConfig, waitFor } from './cluster.ts';

/** A ServiceAccount by name and namespace: a caller of the API and the operator. */
export interface Account {
  name: string;
  namespace: string;
}

/** The ServiceAccount itself, as `apply` takes it. */
export function serviceAccount(account: Account) {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: account.name, namespace: account.namespace },
  };
}

/** A RoleBinding `name` in `namespace` of the ClusterRole (or Role) `role` to `account`. */
export function roleBinding(
  name: string,
  namespace: string,
  role: string,
  account: Account,
  roleKind: 'ClusterRole' | 'Role' = 'ClusterRole',
) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
    subjects: [{ kind: 'ServiceAccount', name: account.name, namespace: account.namespace }],
  };
}

/** A ClusterRoleBinding `name` of the ClusterRole `role` to `account`. */
export function clusterRoleBinding(name: string, role: string, account: Account) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account.name, namespace: account.namespace }],
  };
}

/** A bearer token for a ServiceAccount (`kubectl create token`). */
export async function serviceAccountToken(cp: ControlPlane, account: Account): Promise<string> {
  return (await cp.kubectl(['create', 'token', account.name, '-n', account.namespace])).trim();
}

/** Waits up to a minute for the HistoryPolicy `name` to report the condition Ready=True. */
export async function waitForPolicyReady(cp: ControlPlane, name: string): Promise<void> {
  await waitFor(
    'the policy to be Ready',
    60_000,
    async () =>
      (await cp.kubectl([
        'get',
        'hp',
        name,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ])) === 'True',
  );
}

export interface DeploymentOptions {
  namespace: string;
  name: string;
  replicas: number;
  /** The image of its one container, `app`. */
  image: string;
  /** Labels of the Deployment itself; its Pods are always labelled `app: <name>`. */
  labels?: Record<string, string>;
}

/** Creates a Deployment and waits up to a minute for its first rollout to make every replica available. */
export async function createDeployment(d: DeploymentOptions): Promise<void> {
  const apps = kubeConfig().makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: d.namespace,
    body: {
      metadata: { name: d.name, ...(d.labels ? { labels: d.labels } : {}) },
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: { app: d.name } },
        template: {
          metadata: { labels: { app: d.name } },
          spec: { containers: [{ name: 'app', image: d.image }] },
        },
      },
    },
  });
  await waitFor(
    'the first rollout',
    60_000,
    async () =>
      (await apps.readNamespacedDeployment({ name: d.name, namespace: d.namespace })).status
        ?.availableReplicas === d.replicas,
  );
}

/**
 * Changes the image of a Deployment made by `createDeployment` and waits up to a minute for the
 * rollout to replace every replica.
 */
export async function rollOutImage(
  d: Pick<DeploymentOptions, 'namespace' | 'name' | 'replicas' | 'image'>,
): Promise<void> {
  const apps = kubeConfig().makeApiClient(AppsV1Api);
  await apps.patchNamespacedDeployment({
    name: d.name,
    namespace: d.namespace,
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: d.image }],
  });
  await waitFor('the second rollout', 60_000, async () => {
    const got = await apps.readNamespacedDeployment({ name: d.name, namespace: d.namespace });
    return (
      got.status?.updatedReplicas === d.replicas &&
      got.status.availableReplicas === d.replicas &&
      got.status.replicas === d.replicas
    );
  });
}

/** A HistoryPolicy `name` with `spec`, as `apply` takes it. */
export function historyPolicy(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'hindsight.dev/v1alpha1', kind: 'HistoryPolicy', metadata: { name }, spec };
}

/** The resources a Deployment's rollout touches: it, its ReplicaSets and their Pods. */
export const ROLLOUT_RESOURCES = [
  { group: '', kinds: ['Pod'] },
  { group: 'apps', kinds: ['Deployment', 'ReplicaSet'] },
];

/**
 * Writes the status of a Pod's container `app` as the kubelet reports it (kwok leaves Running
 * Pods alone): not ready, in `state` (e.g. waiting in CrashLoopBackOff), after `restartCount`
 * restarts.
 */
export async function reportContainer(
  cp: ControlPlane,
  namespace: string,
  pod: string,
  state: Record<string, unknown>,
  { image, restartCount = 0 }: { image: string; restartCount?: number },
): Promise<void> {
  await cp.kubectl([
    'patch',
    'pod',
    pod,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
        containerStatuses: [
          { name: 'app', image, imageID: '', ready: false, restartCount, started: false, state },
        ],
      },
    }),
  ]);
}
