// The few fields of Kubernetes objects the tracker reads. Declared here, not imported from the
// client library, so the pure rules stay free of it (only src/kube/ imports the client).

export interface OwnerReference {
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface Metadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** Any object: what the generic rule and the tree need. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Condition[] } & Record<string, unknown>;
}

export interface Probe {
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ContainerSpec {
  name: string;
  image?: string;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    reason?: string;
    message?: string;
    exitCode?: number;
    signal?: number;
    startedAt?: string;
    finishedAt?: string;
  };
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  started?: boolean;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface Pod {
  metadata: Metadata;
  spec?: {
    nodeName?: string;
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    restartPolicy?: string;
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface KubeEvent {
  metadata: Metadata;
  involvedObject: { kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  source?: { component?: string };
  reportingComponent?: string;
}

export function condition(
  o: { status?: { conditions?: Condition[] } },
  type: string,
): Condition | undefined {
  return o.status?.conditions?.find((c) => c.type === type);
}

/** The uid of the object's controller (the owner reference with `controller: true`). */
export function controllerUid(m: Metadata): string | undefined {
  return m.ownerReferences?.find((r) => r.controller)?.uid;
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Milliseconds since the epoch of an RFC 3339 time, or undefined. */
export function timeOf(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** When an Event last happened: its series, else lastTimestamp, eventTime, firstTimestamp. */
export function eventTime(e: KubeEvent): number | undefined {
  return (
    timeOf(e.series?.lastObservedTime) ??
    timeOf(e.lastTimestamp) ??
    timeOf(e.eventTime) ??
    timeOf(e.firstTimestamp) ??
    timeOf(e.metadata.creationTimestamp)
  );
}

/** How many times an Event happened. */
export function eventCount(e: KubeEvent): number {
  return e.series?.count ?? e.count ?? 1;
}
