// Synthetic Nodes (kubelet heartbeats) and core/v1 Events (kubelet and scheduler reports).
import { iso, managed, type JsonObject } from './k8s-json.ts';
import type { Prng } from './prng.ts';

const NODE_CONDITIONS: [type: string, status: string, reason: string, message: string][] = [
  [
    'MemoryPressure',
    'False',
    'KubeletHasSufficientMemory',
    'kubelet has sufficient memory available',
  ],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
];

export interface NodeState {
  name: string;
  uid: string;
  created: number;
  /** Cached images: what makes a real Node's status exceed 15 KB. */
  images: JsonObject[];
  heartbeat: number;
}

export function newNode(rng: Prng, index: number, created: number): NodeState {
  const images: JsonObject[] = [];
  for (let i = 0; i < 50; i++) {
    const repo = `registry.example.com/team-${i % 12}/service-${rng.suffix(6)}`;
    images.push({
      names: [`${repo}@sha256:${rng.hex(64)}`, `${repo}:1.${rng.int(0, 40)}.${rng.int(0, 9)}`],
      sizeBytes: rng.int(5_000_000, 900_000_000),
    });
  }
  return { name: `worker-${index}`, uid: rng.uid(), created, images, heartbeat: created };
}

/** The Node's JSON; between heartbeats only lastHeartbeatTime and resourceVersion differ. */
export function nodeObject(n: NodeState, rv: string): JsonObject {
  const status: JsonObject = {
    addresses: [
      { address: `10.0.${n.name.length}.${n.uid.charCodeAt(0)}`, type: 'InternalIP' },
      { address: n.name, type: 'Hostname' },
    ],
    allocatable: {
      cpu: '7910m',
      'ephemeral-storage': '95551679124',
      memory: '31147944Ki',
      pods: '110',
    },
    capacity: { cpu: '8', 'ephemeral-storage': '103675828Ki', memory: '32780584Ki', pods: '110' },
    conditions: NODE_CONDITIONS.map(([type, status, reason, message]) => ({
      lastHeartbeatTime: iso(n.heartbeat),
      lastTransitionTime: iso(n.created + 20_000),
      message,
      reason,
      status,
      type,
    })),
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    images: n.images,
    nodeInfo: {
      architecture: 'amd64',
      bootID: n.uid,
      containerRuntimeVersion: 'containerd://2.1.4',
      kernelVersion: '6.8.0-1024-aws',
      kubeProxyVersion: 'v1.37.0',
      kubeletVersion: 'v1.37.0',
      machineID: n.uid.replaceAll('-', ''),
      operatingSystem: 'linux',
      osImage: 'Ubuntu 24.04.3 LTS',
      systemUUID: n.uid,
    },
  };
  const labels: JsonObject = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'm6i.2xlarge',
    'topology.kubernetes.io/region': 'eu-west-1',
    'topology.kubernetes.io/zone': `eu-west-1${'abc'[n.name.length % 3]}`,
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      creationTimestamp: iso(n.created),
      labels,
      managedFields: [
        managed('kubelet', 'v1', n.created, { metadata: { labels } }),
        managed('kubelet', 'v1', n.created + 20_000, { status }, 'status'),
      ],
      name: n.name,
      resourceVersion: rv,
      uid: n.uid,
    },
    spec: { podCIDR: '10.64.0.0/24', providerID: `aws:///eu-west-1a/i-${n.uid.slice(0, 17)}` },
    status,
  };
}

/** One core/v1 Event about a Pod, which repeats (count, lastTimestamp) while it recurs. */
export interface EventState {
  name: string;
  uid: string;
  namespace: string;
  pod: { name: string; uid: string; rv: string; node: string };
  reason: string;
  type: 'Normal' | 'Warning';
  message: string;
  first: number;
  last: number;
  count: number;
}

export function eventObject(e: EventState, rv: string): JsonObject {
  const body: JsonObject = {
    count: e.count,
    firstTimestamp: iso(e.first),
    involvedObject: {
      apiVersion: 'v1',
      fieldPath: 'spec.containers{app}',
      kind: 'Pod',
      name: e.pod.name,
      namespace: e.namespace,
      resourceVersion: e.pod.rv,
      uid: e.pod.uid,
    },
    lastTimestamp: iso(e.last),
    message: e.message,
    reason: e.reason,
    reportingComponent: 'kubelet',
    reportingInstance: e.pod.node,
    source: { component: 'kubelet', host: e.pod.node },
    type: e.type,
  };
  return {
    apiVersion: 'v1',
    kind: 'Event',
    eventTime: null,
    ...body,
    metadata: {
      creationTimestamp: iso(e.first),
      managedFields: [managed('kubelet', 'v1', e.last, body)],
      name: e.name,
      namespace: e.namespace,
      resourceVersion: rv,
      uid: e.uid,
    },
  };
}
