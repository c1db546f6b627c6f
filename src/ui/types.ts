// The REST API's answers as the UI reads them (the contract is /api/v1/openapi.json; the
// operator's own types live with the store and are not imported here to keep the UI apart).

export interface Owner {
  kind: string;
  name: string;
  uid: string;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface ObjectSummary {
  uid: string;
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespace: string;
  name: string;
  createdAt: number | null;
  deletedAt: number | null;
  deletion: 'observed' | 'inferred' | null;
  owner: Owner | null;
  node: string | null;
  labels: Record<string, string>;
  services: string[];
  versions: number;
  lastChange: number;
}

export type VersionType = 'added' | 'modified' | 'deleted';

export interface VersionSummary {
  seq: number;
  rv: string;
  time: number;
  type: VersionType;
  inferred: boolean;
  actor: string | null;
  paths: string[];
}

export interface VersionBody {
  version: VersionSummary;
  object: unknown;
}

export interface Diff {
  from: VersionSummary;
  to: VersionSummary;
  text: string[];
}

export interface EventSummary {
  uid: string;
  name: string;
  reason: string | null;
  type: string | null;
  message: string | null;
  source: string | null;
  firstTime: number;
  lastTime: number;
  count: number;
}

export interface TimelineRow {
  uid: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** Nearest owner first. */
  ownerChain: Owner[];
  lifespan: { start: number | null; end: number | null; deletion: 'observed' | 'inferred' | null };
  changes: { seq: number; time: number; type: VersionType }[];
  /** Non-empty buckets only. */
  events: { bucket: number; normal: number; warning: number }[];
}

export interface Gap {
  watch: string;
  group: string;
  resource: string;
  namespace: string;
  start: number;
  end: number;
  reason: string;
}

export interface Timeline {
  window: { from: number; to: number };
  bucketMs: number;
  rows: TimelineRow[];
  gaps: Gap[];
  truncated: boolean;
}

export type RolloutOutcome = 'in-progress' | 'complete' | 'failed' | 'superseded' | 'deleted';

/** A workload's rollout as /rollouts lists it (its Events and Pods are not read here). */
export interface Rollout {
  id: number;
  kind: string;
  namespace: string;
  name: string;
  /** The workload's uid. */
  uid: string;
  generation: number;
  started: number;
  /** null while in progress. */
  ended: number | null;
  outcome: RolloutOutcome;
  reason: string | null;
  message: string | null;
  oldRevision: string | null;
  newRevision: string | null;
  imagesBefore: string[];
  imagesAfter: string[];
  /** Field managers of the spec change that started it. */
  actor: string | null;
  /** The last counted problem seen (image pulls, crash loops…). */
  problem: string | null;
}

export interface Problem {
  title: string;
  status: number;
  detail: string;
}
