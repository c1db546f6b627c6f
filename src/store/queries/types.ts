// The shapes the read queries answer with, and the error they throw on bad input. Times are
// milliseconds since the epoch; cursors are opaque strings.
import type { PatchOp } from '../../recorder/diff.ts';
import type { VersionType } from '../writer.ts';

export type { PatchOp };

/** A closed interval of time, ms since the epoch, both ends included. */
export interface Window {
  from: number;
  to: number;
}

/** A resource in a namespace ('' for cluster-scoped resources), as RBAC names it. */
export interface Scope {
  group: string;
  resource: string;
  namespace: string;
}

/** What the caller may read (their Kubernetes RBAC). Events are checked as `events` in group ''. */
export interface Access {
  allows(r: Scope): boolean;
  /** Who asks (a user name): the query pool queues each caller apart, so none can crowd out others. */
  readonly caller?: string;
  /**
   * The resources ([group, resource]) it allows in `namespace`, for a query to select only those
   * rows in SQL: rows the caller may not read are then never read, nor counted against a page.
   * Absent or null: every resource there may be allowed, ask `allows`.
   */
  resourcesIn?(namespace: string): readonly (readonly [string, string])[] | null;
  /** True when it allows nothing at all: a query answers empty at once, without reading. */
  readonly readsNothing?: boolean;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null when there is none. */
  next: string | null;
}

export interface OwnerRef {
  kind: string;
  name: string;
  uid: string;
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
  owner: OwnerRef | null;
  node: string | null;
  labels: Record<string, string>;
  services: string[];
  /** Versions recorded (and not yet removed by retention). */
  versions: number;
  /** Time of the last recorded version. */
  lastChange: number;
}

export interface VersionSummary {
  /** Global sequence number: orders every version and Event occurrence. */
  seq: number;
  rv: string;
  time: number;
  type: VersionType;
  /** A deletion inferred at a relist rather than seen in a watch. */
  inferred: boolean;
  /** Field managers that made the change, e.g. `kubectl-client-side-apply (Update)`. */
  actor: string | null;
  /** Changed paths (dotted); empty for a creation. */
  paths: string[];
}

export interface EventSummary {
  uid: string;
  namespace: string;
  name: string;
  involved: {
    group: string | null;
    kind: string | null;
    namespace: string | null;
    name: string | null;
    uid: string | null;
  };
  reason: string | null;
  type: string | null;
  message: string | null;
  source: string | null;
  firstTime: number;
  lastTime: number;
  count: number;
  /** The occurrences in the asked window (or the one being streamed), oldest first. */
  occurrences: { seq: number; time: number; count: number }[];
}

export interface LabelRequirement {
  key: string;
  operator: '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

export interface ResourceSearch {
  kind?: string;
  group?: string;
  namespace?: string;
  name?: string;
  namePrefix?: string;
  labelSelector?: LabelRequirement[];
  /** Only objects alive at some point in it. */
  window?: Window;
  includeDeleted: boolean;
  limit: number;
  cursor?: string;
}

export interface VersionsQuery {
  limit: number;
  cursor?: string;
  window?: Window;
  /** Default 'desc': newest first. */
  order?: 'asc' | 'desc';
}

export interface EventsQuery {
  namespace?: string;
  involvedUid?: string;
  reason?: string;
  type?: string;
  window: Window;
  limit: number;
  cursor?: string;
}

export interface TimelineQuery {
  namespace: string;
  kinds?: string[];
  window: Window;
  buckets: number;
  /** At most this many rows (default 2,000, at most 50,000); `truncated` says when more were alive. */
  limit?: number;
}

export interface TimelineRow {
  uid: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** Nearest owner first, e.g. ReplicaSet then Deployment. */
  ownerChain: OwnerRef[];
  lifespan: { start: number | null; end: number | null; deletion: 'observed' | 'inferred' | null };
  /** Versions in the window, oldest first. */
  changes: { seq: number; time: number; type: VersionType }[];
  /** Non-empty buckets only; counts are occurrences (an Event seen 3 times counts 3). */
  events: { bucket: number; normal: number; warning: number }[];
}

export interface TimelineGap {
  watch: string;
  group: string;
  resource: string;
  namespace: string;
  start: number;
  end: number;
  reason: string;
}

export interface Timeline {
  window: Window;
  bucketMs: number;
  rows: TimelineRow[];
  gaps: TimelineGap[];
  /** True when more objects were alive in the window than `limit` rows. */
  truncated: boolean;
}

export interface StateEntry {
  object: ObjectSummary;
  version: VersionSummary;
  body: unknown;
}

export interface ChangesQuery {
  namespace?: string;
  window: Window;
  limit: number;
  cursor?: string;
}

export interface ObjectChanges {
  object: ObjectSummary;
  /** Versions in the window, oldest first. */
  versions: VersionSummary[];
  /** From the state before the window (or nothing: one `add` of the root) to the last state in it. */
  patch: PatchOp[];
}

export interface SinceQuery {
  namespace?: string;
  /** Kinds of objects; 'Event' selects Event occurrences. All when omitted. */
  kinds?: string[];
  limit: number;
}

export interface SinceItem {
  kind: 'version' | 'occurrence';
  seq: number;
  time: number;
  object?: ObjectSummary;
  version?: VersionSummary;
  event?: EventSummary;
}

/**
 * The records after a sequence number, in sequence order. `next` is where to resume: past the
 * last item, or past records the caller may not see that were skipped (resuming from the last
 * item's seq instead would scan those again, and never get past a long hidden stretch).
 */
export type SinceResult = SinceItem[] & { next: number };

/** A version and the object as recorded at it. */
export interface VersionBody {
  version: VersionSummary;
  object: unknown;
}

export interface DiffResult {
  from: VersionSummary;
  to: VersionSummary;
  patch: PatchOp[];
  /** Readable lines: `~ spec.replicas: 3 → 5`, `+ metadata.labels.tier: "front"`, `- spec.paused`. */
  text: string[];
}

/** A query parameter that is not acceptable; `field` names it (the HTTP layer answers 400). */
export class QueryError extends Error {
  override name = 'QueryError';
  readonly field: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field} ${message}`, options);
    this.field = field;
  }
}
