// What crosses between QueryPool and its query threads: requests, answers, errors, and a
// caller's Access as data (a function cannot be posted to another thread).
import type { HistoryQueries } from './queries.ts';
import type { Access, Scope } from './queries/types.ts';

export type QueryMethod = keyof HistoryQueries;

/**
 * A caller's Access, evaluated over the scopes history exists for: every scope allowed, and the
 * resources allowed in all namespaces (asked as namespace ''), which decide for scopes outside
 * the list, as KubeAuth's access does.
 */
export type AccessGrant = { all: true } | { all: false; scopes: string[]; everywhere: string[] };

export interface QueryRequest {
  id: number;
  method: QueryMethod;
  /** The method's arguments without the trailing Access. */
  args: unknown[];
  grant: AccessGrant;
  /** Answer with the result as JSON text (serialized on the query thread). */
  json: boolean;
}

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** QueryError's field. */
  field?: string;
}

/** A query thread's first message: its database is open, it takes queries. */
export interface WorkerReady {
  ready: true;
}

/** `cpuMs`: CPU time the query thread spent on it, serialization included. */
export type QueryResponse =
  | { id: number; ok: true; value: unknown; cpuMs: number }
  | { id: number; ok: false; error: WireError; cpuMs: number };

const scopeKey = (s: Scope) => `${s.group}\u0000${s.resource}\u0000${s.namespace}`;
const resourceKey = (s: Pick<Scope, 'group' | 'resource'>) => `${s.group}\u0000${s.resource}`;

/** A scope no store holds: an Access that allows it allows whatever it is not told to refuse. */
const UNKNOWN: Scope = { group: '\u0000', resource: '\u0000', namespace: '\u0000' };

/** `access` as data, asked once per scope (the store's scopes) and per resource. */
export function toGrant(access: Access, scopes: readonly Scope[]): AccessGrant {
  const allowed: string[] = [];
  const everywhere = new Map<string, boolean>();
  for (const s of scopes) {
    const r = resourceKey(s);
    if (!everywhere.has(r)) {
      everywhere.set(r, access.allows({ group: s.group, resource: s.resource, namespace: '' }));
    }
    if (access.allows(s)) allowed.push(scopeKey(s));
  }
  if (access.allows(UNKNOWN) && allowed.length === scopes.length && everywhereAll(everywhere)) {
    return { all: true };
  }
  return {
    all: false,
    scopes: allowed,
    everywhere: [...everywhere].filter(([, ok]) => ok).map(([r]) => r),
  };
}

/** True for a grant that allows nothing: its queries answer empty without reading. */
export function grantsNothing(g: AccessGrant): boolean {
  return !g.all && g.scopes.length === 0 && g.everywhere.length === 0;
}

export function grantAccess(g: AccessGrant): Access {
  if (g.all) return { allows: () => true };
  const scopes = new Set(g.scopes);
  const everywhere = new Set(g.everywhere);
  const pair = (key: string) => key.split('\u0000', 2) as [string, string];
  const inNamespace = new Map<string, Set<string>>();
  for (const key of scopes) {
    const [group, resource, namespace] = key.split('\u0000') as [string, string, string];
    let set = inNamespace.get(namespace);
    if (!set) inNamespace.set(namespace, (set = new Set()));
    set.add(resourceKey({ group, resource }));
  }
  return {
    allows: (s) => everywhere.has(resourceKey(s)) || scopes.has(scopeKey(s)),
    resourcesIn: (ns) => [...new Set([...everywhere, ...(inNamespace.get(ns) ?? [])])].map(pair),
    readsNothing: scopes.size === 0 && everywhere.size === 0,
  };
}

function everywhereAll(m: Map<string, boolean>): boolean {
  for (const ok of m.values()) if (!ok) return false;
  return true;
}
