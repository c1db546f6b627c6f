// The exported record: one line of NDJSON per change, Event occurrence or gap, in a versioned
// envelope (docs/sink-record.schema.json), and the filter that decides what a Sink exports.
// Pure: no I/O, so the encoder thread and the tests share it.

/** Envelope version; a breaking change of the record format is a new one. */
export const RECORD_SCHEMA = 'hindsight.dev/record/v1';

export interface OwnerRef {
  kind: string;
  name: string;
  uid: string;
}

interface Envelope {
  schema: typeof RECORD_SCHEMA;
  /** Position in the cluster's global sequence: the export order. */
  seq: number;
  /** Stable across retries and restarts: consumers de-duplicate by it. */
  id: string;
  cluster: string;
  /** When it happened (RFC 3339, UTC, milliseconds). */
  time: string;
}

export interface ChangeRecord extends Envelope {
  type: 'change';
  change: 'added' | 'modified' | 'deleted';
  /** True when the deletion was inferred from a relist rather than observed. */
  inferred: boolean;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** Field managers that made the change, e.g. `kubectl-client-side-apply (Update)`. */
  actor: string | null;
  changedPaths: string[];
  /** The object's full state after the change (Secret values are digests). */
  object: unknown;
  enrichment: {
    /** Controller owner first, then its owner, and so on. */
    owners: OwnerRef[];
    node: string | null;
    services: string[];
    labels: Record<string, string>;
  };
}

export interface EventRecord extends Envelope {
  type: 'event';
  kind: 'Event';
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  reason: string | null;
  eventType: string | null;
  message: string | null;
  /** How many times it occurred in this record: the increase of the Event's count. */
  count: number;
  firstTime: string;
  source: string | null;
  involvedObject: {
    apiGroup: string | null;
    kind: string | null;
    namespace: string | null;
    name: string | null;
    uid: string | null;
  };
}

export interface GapRecord extends Envelope {
  type: 'gap';
  /** The watch whose history may be incomplete in [start, end]. */
  watch: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  start: string;
  end: string;
  reason: string;
}

export type ExportRecord = ChangeRecord | EventRecord | GapRecord;

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** One policy's scope, as a Sink naming it narrows to. */
export interface PolicyScope {
  /** `group/Kind`. */
  kinds: string[];
  events: boolean;
  /** Namespaces it selects; null for all (cluster-scoped objects only then). */
  namespaces: string[] | null;
  exclude: string[];
}

/** What a Sink exports, in a form that crosses to the encoder thread. */
export interface RecordFilter {
  changes: boolean;
  events: boolean;
  gaps: boolean;
  /** Namespaces exported; null for all. Cluster-scoped records pass only when null. */
  namespaces: string[] | null;
  exclude: string[];
  /** Kinds exported; `Event` names Event occurrences; null for all. */
  kinds: string[] | null;
  /** When set, a record must also be in one of these policies' scopes. */
  policies: PolicyScope[] | null;
}

export const EXPORT_ALL: RecordFilter = {
  changes: true,
  events: true,
  gaps: true,
  namespaces: null,
  exclude: [],
  kinds: null,
  policies: null,
};

/** What a log row tells before its record is built, enough to filter it. */
export interface LogFacts {
  type: 'change' | 'event' | 'gap';
  group: string;
  kind: string;
  namespace: string;
}

interface CompiledScope {
  kinds: Set<string>;
  events: boolean;
  namespaces: Set<string> | null;
  exclude: Set<string>;
}

function namespaceOk(ns: string, include: Set<string> | null, exclude: Set<string>): boolean {
  if (ns === '') return include === null;
  return (include === null || include.has(ns)) && !exclude.has(ns);
}

/** Compiles a filter into a predicate over log rows. */
export function compileFilter(f: RecordFilter): (r: LogFacts) => boolean {
  const include = f.namespaces ? new Set(f.namespaces) : null;
  const exclude = new Set(f.exclude);
  const kinds = f.kinds ? new Set(f.kinds) : null;
  const scopes: CompiledScope[] | null =
    f.policies?.map((p) => ({
      kinds: new Set(p.kinds),
      events: p.events,
      namespaces: p.namespaces ? new Set(p.namespaces) : null,
      exclude: new Set(p.exclude),
    })) ?? null;
  return (r) => {
    if (r.type === 'change' ? !f.changes : r.type === 'event' ? !f.events : !f.gaps) return false;
    // A gap of a watch over every namespace ('') concerns each of them.
    const everywhere = r.type === 'gap' && r.namespace === '';
    if (!everywhere && !namespaceOk(r.namespace, include, exclude)) return false;
    if (r.type !== 'gap' && kinds && !kinds.has(r.kind)) return false;
    if (scopes) {
      return scopes.some((s) => {
        if (!everywhere && !namespaceOk(r.namespace, s.namespaces, s.exclude)) return false;
        if (r.type === 'change') return s.kinds.has(`${r.group}/${r.kind}`);
        if (r.type === 'event') return s.events;
        return true;
      });
    }
    return true;
  };
}
