// Synthetic Deployments and ReplicaSets (apps/v1), applied with kubectl and driven by the
// deployment controller, as a rollout shows them in a watch.
import { iso, managed, type JsonObject } from './k8s-json.ts';
import type { PodTemplate } from './pod.ts';

export interface DeploymentState {
  name: string;
  uid: string;
  created: number;
  replicas: number;
  generation: number;
  revision: number;
  tpl: PodTemplate;
  /** Replicas of the current template that are ready. */
  updated: number;
  /** Last time the controller wrote the status. */
  statusAt: number;
}

export interface ReplicaSetState {
  name: string;
  uid: string;
  created: number;
  revision: number;
  tpl: PodTemplate;
  owner: { name: string; uid: string };
  /** spec.replicas */
  replicas: number;
  ready: number;
  statusAt: number;
}

function template(tpl: PodTemplate, withHash: boolean): JsonObject {
  const labels: JsonObject = withHash
    ? { ...tpl.labels, 'pod-template-hash': tpl.hash }
    : { ...tpl.labels };
  const metadata: JsonObject = { creationTimestamp: null, labels };
  if (Object.keys(tpl.annotations).length) metadata.annotations = tpl.annotations;
  return { metadata, spec: tpl.spec };
}

function selector(tpl: PodTemplate, withHash: boolean): JsonObject {
  return {
    matchLabels: withHash ? { app: tpl.app, 'pod-template-hash': tpl.hash } : { app: tpl.app },
  };
}

/** The Deployment's JSON with resourceVersion `rv`. */
export function deploymentObject(d: DeploymentState, rv: string): JsonObject {
  const { tpl } = d;
  const spec: JsonObject = {
    progressDeadlineSeconds: 600,
    replicas: d.replicas,
    revisionHistoryLimit: 10,
    selector: selector(tpl, false),
    strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
    template: template(tpl, false),
  };
  const labels: JsonObject = { app: tpl.app, team: tpl.namespace };
  const applied = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { annotations: {}, labels, name: d.name, namespace: tpl.namespace },
    spec: {
      replicas: d.replicas,
      selector: spec.selector,
      template: { metadata: { labels: tpl.labels }, spec: tpl.spec },
    },
  };
  const complete = d.updated >= d.replicas;
  const status: JsonObject = {
    availableReplicas: d.replicas,
    conditions: [
      {
        lastTransitionTime: iso(d.created + 5000),
        lastUpdateTime: iso(d.created + 5000),
        message: 'Deployment has minimum availability.',
        reason: 'MinimumReplicasAvailable',
        status: 'True',
        type: 'Available',
      },
      {
        lastTransitionTime: iso(d.created + 1000),
        lastUpdateTime: iso(d.statusAt),
        message: complete
          ? `ReplicaSet "${d.name}-${tpl.hash}" has successfully progressed.`
          : `ReplicaSet "${d.name}-${tpl.hash}" is progressing.`,
        reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        status: 'True',
        type: 'Progressing',
      },
    ],
    observedGeneration: d.generation,
    readyReplicas: d.replicas,
    replicas: d.replicas + (complete ? 0 : 1),
    updatedReplicas: d.updated,
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      annotations: {
        'deployment.kubernetes.io/revision': String(d.revision),
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(applied) + '\n',
      },
      creationTimestamp: iso(d.created),
      generation: d.generation,
      labels,
      managedFields: [
        managed('kubectl-client-side-apply', 'apps/v1', d.statusAt - 2000, {
          metadata: { labels, annotations: {} },
          spec,
        }),
        managed('kube-controller-manager', 'apps/v1', d.statusAt, { status }, 'status'),
      ],
      name: d.name,
      namespace: tpl.namespace,
      resourceVersion: rv,
      uid: d.uid,
    },
    spec,
    status,
  };
}

/** The ReplicaSet's JSON with resourceVersion `rv`. */
export function replicaSetObject(rs: ReplicaSetState, rv: string): JsonObject {
  const { tpl } = rs;
  const labels: JsonObject = { ...tpl.labels, 'pod-template-hash': tpl.hash };
  const spec: JsonObject = {
    replicas: rs.replicas,
    selector: selector(tpl, true),
    template: template(tpl, true),
  };
  const status: JsonObject = {
    availableReplicas: rs.ready,
    fullyLabeledReplicas: rs.replicas,
    observedGeneration: 1,
    readyReplicas: rs.ready,
    replicas: rs.replicas,
  };
  const annotations: JsonObject = {
    'deployment.kubernetes.io/desired-replicas': String(Math.max(rs.replicas, 1)),
    'deployment.kubernetes.io/max-replicas': String(Math.max(rs.replicas, 1) + 1),
    'deployment.kubernetes.io/revision': String(rs.revision),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      annotations,
      creationTimestamp: iso(rs.created),
      generation: 1,
      labels,
      managedFields: [
        managed('kube-controller-manager', 'apps/v1', rs.created, {
          metadata: { annotations, labels, ownerReferences: [{ uid: rs.owner.uid }] },
          spec,
        }),
        managed('kube-controller-manager', 'apps/v1', rs.statusAt, { status }, 'status'),
      ],
      name: rs.name,
      namespace: tpl.namespace,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'Deployment',
          name: rs.owner.name,
          uid: rs.owner.uid,
        },
      ],
      resourceVersion: rv,
      uid: rs.uid,
    },
    spec,
    status,
  };
}
