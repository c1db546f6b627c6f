// Synthetic Pods modelled on what a 1.37 API server returns for a Deployment's Pod: each Pod's
// JSON at every stage of its life, from a template (pod-template.ts) shared by its ReplicaSet.
import { iso, managed, type Json, type JsonObject } from './k8s-json.ts';
import type { PodTemplate } from './pod-template.ts';
import type { Prng } from './prng.ts';

export { podTemplate, type PodSize, type PodTemplate } from './pod-template.ts';

/** One Pod: identity, placement and the times of its life so far. */
export interface PodInstance {
  tpl: PodTemplate;
  rs: { name: string; uid: string };
  name: string;
  uid: string;
  node: string;
  hostIP: string;
  podIP: string;
  containerIds: string[];
  imageIds: string[];
  created: number;
  scheduled: number;
  started: number;
  /** Set when the Pod is being deleted. */
  deleting?: number;
}

export type PodStage = 'pending' | 'scheduled' | 'running' | 'terminating' | 'deleted';

/** A new Pod of `tpl`, created at `created` and placed on one of `nodes`. */
export function newPod(
  rng: Prng,
  tpl: PodTemplate,
  rs: { name: string; uid: string },
  nodes: readonly string[],
  created: number,
): PodInstance {
  return {
    tpl,
    rs,
    name: `${rs.name}-${rng.suffix(5)}`,
    uid: rng.uid(),
    node: rng.pick(nodes),
    hostIP: `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}`,
    podIP: `10.${rng.int(64, 127)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
    containerIds: tpl.containers.map(() => `containerd://${rng.hex(64)}`),
    imageIds: tpl.containers.map((c) => `${c.image.split(':')[0]}@sha256:${rng.hex(64)}`),
    created,
    scheduled: created + 1000,
    started: created + rng.int(2, 8) * 1000,
  };
}

function condition(type: string, status: string, at: number): JsonObject {
  return { lastProbeTime: null, lastTransitionTime: iso(at), status, type };
}

function containerStatus(p: PodInstance, i: number, stage: PodStage): JsonObject {
  const c = p.tpl.containers[i] ?? { name: '?', image: '?' };
  const running = stage === 'running' || stage === 'terminating';
  const state: JsonObject = running
    ? { running: { startedAt: iso(p.started) } }
    : {
        terminated: {
          containerID: p.containerIds[i] ?? '',
          exitCode: 0,
          finishedAt: iso((p.deleting ?? p.started) + 2000),
          reason: 'Completed',
          startedAt: iso(p.started),
        },
      };
  return {
    containerID: p.containerIds[i] ?? '',
    image: c.image,
    imageID: p.imageIds[i] ?? '',
    lastState: {},
    name: c.name,
    ready: running,
    restartCount: 0,
    started: running,
    state,
  };
}

function status(p: PodInstance, stage: PodStage): JsonObject {
  const qosClass = 'Burstable';
  if (stage === 'pending') return { phase: 'Pending', qosClass };
  const scheduled = condition('PodScheduled', 'True', p.scheduled);
  if (stage === 'scheduled') return { conditions: [scheduled], phase: 'Pending', qosClass };
  const up = stage === 'running' || stage === 'terminating';
  const ready = up ? 'True' : 'False';
  const readyAt = up ? p.started : (p.deleting ?? p.started) + 2000;
  const s: JsonObject = {
    conditions: [
      condition('PodReadyToStartContainers', ready, readyAt),
      condition('Initialized', 'True', p.scheduled + 500),
      condition('Ready', ready, readyAt),
      condition('ContainersReady', ready, readyAt),
      scheduled,
    ],
    containerStatuses: p.tpl.containers.map((_, i) => containerStatus(p, i, stage)),
    hostIP: p.hostIP,
    hostIPs: [{ ip: p.hostIP }],
    phase: up ? 'Running' : 'Succeeded',
    podIP: p.podIP,
    podIPs: [{ ip: p.podIP }],
    qosClass,
    startTime: iso(p.scheduled),
  };
  if (p.tpl.size === 'large') {
    s.initContainerStatuses = [
      {
        containerID: `containerd://${p.uid.replaceAll('-', '')}${p.uid.replaceAll('-', '')}`,
        image: p.tpl.containers[1]?.image ?? '',
        imageID: p.imageIds[1] ?? '',
        lastState: {},
        name: 'istio-init',
        ready: true,
        restartCount: 0,
        started: false,
        state: {
          terminated: {
            exitCode: 0,
            finishedAt: iso(p.scheduled + 1500),
            reason: 'Completed',
            startedAt: iso(p.scheduled + 600),
          },
        },
      },
    ];
  }
  return s;
}

/** The Pod's JSON at `stage`, as a watch event carries it, with resourceVersion `rv`. */
export function podObject(p: PodInstance, stage: PodStage, rv: string): JsonObject {
  const { tpl } = p;
  const labels: JsonObject = { ...tpl.labels, 'pod-template-hash': tpl.hash };
  const metaFields: JsonObject = {
    generateName: '',
    labels,
    ownerReferences: [{ uid: p.rs.uid }],
  };
  if (Object.keys(tpl.annotations).length) metaFields.annotations = tpl.annotations;
  const managedFields: Json[] = [
    managed('kube-controller-manager', 'v1', p.created, {
      metadata: metaFields,
      spec: tpl.spec,
    }),
  ];
  const st = status(p, stage);
  if (stage !== 'pending') {
    managedFields.push(
      managed('kube-scheduler', 'v1', p.scheduled, { status: { conditions: [] } }, 'status'),
    );
  }
  if (stage !== 'pending' && stage !== 'scheduled') {
    const at = stage === 'deleted' ? (p.deleting ?? p.started) + 2000 : p.started;
    // The kubelet owns status lists such as containerStatuses atomically: `{}` in FieldsV1.
    const owned: JsonObject = {};
    for (const [key, value] of Object.entries(st)) owned[key] = key === 'conditions' ? value : null;
    managedFields.push(managed('kubelet', 'v1', at, { status: owned }, 'status'));
  }
  const metadata: JsonObject = {};
  if (Object.keys(tpl.annotations).length) metadata.annotations = tpl.annotations;
  metadata.creationTimestamp = iso(p.created);
  if (stage === 'terminating' || stage === 'deleted') {
    metadata.deletionGracePeriodSeconds = 30;
    metadata.deletionTimestamp = iso((p.deleting ?? p.started) + 30_000);
  }
  Object.assign(metadata, {
    generateName: `${p.rs.name}-`,
    generation: 1,
    labels,
    managedFields,
    name: p.name,
    namespace: tpl.namespace,
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        blockOwnerDeletion: true,
        controller: true,
        kind: 'ReplicaSet',
        name: p.rs.name,
        uid: p.rs.uid,
      },
    ],
    resourceVersion: rv,
    uid: p.uid,
  });
  const spec = stage === 'pending' ? tpl.spec : { ...tpl.spec, nodeName: p.node };
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status: st };
}
