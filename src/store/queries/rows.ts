// Rows as SQLite returns them, and how they become the summaries queries answer with.
import type { VersionType } from '../writer.ts';
import type { EventSummary, ObjectSummary, Scope, VersionSummary } from './types.ts';

export const OBJECT_COLUMNS = `id, uid, api_group, api_version, kind, resource, namespace, name,
  created_at, deleted_at, deletion, owner_uid, owner_kind, owner_name, node_name, labels, services,
  last_seq, last_time`;

export interface ObjectRow {
  id: number;
  uid: string;
  api_group: string;
  api_version: string;
  kind: string;
  resource: string;
  namespace: string;
  name: string;
  created_at: number | null;
  deleted_at: number | null;
  deletion: 'observed' | 'inferred' | null;
  owner_uid: string | null;
  owner_kind: string | null;
  owner_name: string | null;
  node_name: string | null;
  labels: string | null;
  services: string | null;
  last_seq: number;
  last_time: number;
}

/** What objects_by_lifespan carries: enough to list, order and authorize without the table. */
export const SLIM_COLUMNS = `id, uid, api_group, kind, resource, namespace, name, created_at,
  deleted_at, deletion, owner_uid, owner_kind, owner_name`;

export type SlimRow = Pick<
  ObjectRow,
  | 'id'
  | 'uid'
  | 'api_group'
  | 'kind'
  | 'resource'
  | 'namespace'
  | 'name'
  | 'created_at'
  | 'deleted_at'
  | 'deletion'
  | 'owner_uid'
  | 'owner_kind'
  | 'owner_name'
>;

export const VERSION_COLUMNS = 'seq, rv, time, type, inferred, actor, paths';

export interface VersionRow {
  seq: number;
  rv: string;
  time: number;
  type: VersionType;
  inferred: number;
  actor: string | null;
  paths: string | null;
}

export const EVENT_COLUMNS = `id, uid, namespace, name, involved_group, involved_kind,
  involved_namespace, involved_name, involved_uid, reason, type, message, source, first_time,
  last_time, count`;

export interface EventRow {
  id: number;
  uid: string;
  namespace: string;
  name: string;
  involved_group: string | null;
  involved_kind: string | null;
  involved_namespace: string | null;
  involved_name: string | null;
  involved_uid: string | null;
  reason: string | null;
  type: string | null;
  message: string | null;
  source: string | null;
  first_time: number;
  last_time: number;
  count: number;
}

export function scopeOf(o: Pick<ObjectRow, 'api_group' | 'resource' | 'namespace'>): Scope {
  return { group: o.api_group, resource: o.resource, namespace: o.namespace };
}

/** Events are read with the permission to read Events of their namespace. */
export function eventScope(namespace: string): Scope {
  return { group: '', resource: 'events', namespace };
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function labelsOf(o: Pick<ObjectRow, 'labels'>): Record<string, string> {
  return parseJson<Record<string, string>>(o.labels, {});
}

export function toObjectSummary(o: ObjectRow, versions: number): ObjectSummary {
  return {
    uid: o.uid,
    group: o.api_group,
    version: o.api_version,
    kind: o.kind,
    resource: o.resource,
    namespace: o.namespace,
    name: o.name,
    createdAt: o.created_at,
    deletedAt: o.deleted_at,
    deletion: o.deletion,
    owner:
      o.owner_uid === null
        ? null
        : { kind: o.owner_kind ?? '', name: o.owner_name ?? '', uid: o.owner_uid },
    node: o.node_name,
    labels: labelsOf(o),
    services: parseJson<string[]>(o.services, []),
    versions,
    lastChange: o.last_time,
  };
}

export function toVersionSummary(v: VersionRow): VersionSummary {
  return {
    seq: v.seq,
    rv: v.rv,
    time: v.time,
    type: v.type,
    inferred: v.inferred !== 0,
    actor: v.actor,
    paths: parseJson<string[]>(v.paths, []),
  };
}

export function toEventSummary(
  e: EventRow,
  occurrences: EventSummary['occurrences'],
): EventSummary {
  return {
    uid: e.uid,
    namespace: e.namespace,
    name: e.name,
    involved: {
      group: e.involved_group,
      kind: e.involved_kind,
      namespace: e.involved_namespace,
      name: e.involved_name,
      uid: e.involved_uid,
    },
    reason: e.reason,
    type: e.type,
    message: e.message,
    source: e.source,
    firstTime: e.first_time,
    lastTime: e.last_time,
    count: e.count,
    occurrences,
  };
}

/** Sort key of objects in listings: namespace, kind, name, then id (a name can be reused). */
export type ObjectKey = [namespace: string, kind: string, name: string, id: number];

export function objectKey(o: Pick<ObjectRow, 'namespace' | 'kind' | 'name' | 'id'>): ObjectKey {
  return [o.namespace, o.kind, o.name, o.id];
}

/** Compares two object keys in the order of the objects_by_name index (ASCII names). */
export function compareKeys(a: ObjectKey, b: ObjectKey): number {
  for (let i = 0; i < 3; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a[3] - b[3];
}
