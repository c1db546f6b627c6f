// Checking query input and the cursors of paginated queries. A cursor is the sort key of the last
// row a page looked at, tagged with the query it belongs to, as base64url JSON: opaque to callers,
// and a seek position for the next page (no OFFSET, so a page costs the same wherever it starts).
import { QueryError, type Access, type Scope, type Window } from './types.ts';

export const MAX_LIMIT = 1000;

/**
 * Rows one page may examine (hidden from the caller or filtered out) before it ends early with a
 * cursor after the last row examined, so that no request runs unbounded.
 */
export const SCAN_BUDGET = 50_000;

export function checkLimit(limit: number, max = MAX_LIMIT): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new QueryError('limit', `must be an integer from 1 to ${max}, not ${String(limit)}`);
  }
  return limit;
}

export function checkWindow(w: Window, field = 'window'): Window {
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to)) {
    throw new QueryError(field, 'needs finite from and to times (ms since the epoch)');
  }
  if (w.from > w.to) {
    throw new QueryError(field, `starts after it ends (from ${w.from} > to ${w.to})`);
  }
  return { from: Math.trunc(w.from), to: Math.trunc(w.to) };
}

export function checkTime(t: number, field: string): number {
  if (!Number.isFinite(t)) throw new QueryError(field, 'must be a time in ms since the epoch');
  return Math.trunc(t);
}

export function checkSeq(seq: number, field = 'seq'): number {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new QueryError(field, `must be a non-negative integer, not ${String(seq)}`);
  }
  return seq;
}

type KeyPart = 'string' | 'number';

export function encodeCursor(tag: string, key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([tag, ...key]), 'utf8').toString('base64url');
}

/** The sort key in `cursor`; throws QueryError('cursor') unless it is one this query made. */
export function decodeCursor<T extends (string | number)[]>(
  cursor: string,
  tag: string,
  shape: readonly KeyPart[],
): T {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new QueryError('cursor', 'is malformed: pass back the `next` of the previous page', {
      cause: err,
    });
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== shape.length + 1 ||
    parsed[0] !== tag ||
    !shape.every((type, i) =>
      type === 'number' ? Number.isSafeInteger(parsed[i + 1]) : typeof parsed[i + 1] === 'string',
    )
  ) {
    throw new QueryError(
      'cursor',
      'is malformed or belongs to another query: pass back the `next` of the previous page',
    );
  }
  return parsed.slice(1) as T;
}

/** `allows` remembered for the duration of one query: the same scope is asked about per row. */
export function memoAccess(access: Access): (s: Scope) => boolean {
  const seen = new Map<string, boolean>();
  return (s) => {
    const key = `${s.group}\u0000${s.resource}\u0000${s.namespace}`;
    let ok = seen.get(key);
    if (ok === undefined) {
      ok = access.allows(s);
      seen.set(key, ok);
    }
    return ok;
  };
}

/** The smallest string greater than every string that starts with `prefix`, or null if none. */
export function prefixEnd(prefix: string): string | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return null;
}

/**
 * The resources `access` allows in `namespace` as the JSON a query binds (see AliveFilter), or
 * null when it cannot say (ask per row). '[]' means none: the query has nothing to read.
 */
export function readableResources(access: Access, namespace: string): string | null {
  const resources = access.resourcesIn?.(namespace);
  return resources ? JSON.stringify(resources) : null;
}
