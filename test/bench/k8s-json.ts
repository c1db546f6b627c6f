// Shared pieces of the synthetic Kubernetes objects: JSON types, timestamps as the API server
// writes them, and managedFields entries derived from the fields a manager owns.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Simulated wall clock of every workload: 2026-11-22T00:00:00Z. */
export const EPOCH_MS = Date.UTC(2026, 10, 22);

/** RFC 3339 at second precision, as metadata timestamps are serialized. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/**
 * The FieldsV1 set of `value`: `f:` per key, `k:{"name":…}` per named list element, `.` for a
 * nested map or element owned as a whole. A list without keys and a null are atomic (`{}`), as
 * the API server treats them. Real managedFields are this shape, so deriving them from the
 * fields keeps their size proportional to the object, as on a live cluster.
 */
const MAX_DEPTH = 3;

export function fieldsV1(value: Json, depth = 0): JsonObject {
  // Deeper levels are left atomic to keep a synthetic Pod near the size of a real one.
  if (depth > MAX_DEPTH) return {};
  const own: JsonObject = depth === 0 ? {} : { '.': {} };
  if (Array.isArray(value)) {
    const out: JsonObject = {};
    for (const v of value) {
      const key = keyOf(v);
      if (key === null) return {};
      out[`k:${JSON.stringify(key)}`] = fieldsV1(v, depth + 1);
    }
    return out;
  }
  if (value === null || typeof value !== 'object') return {};
  const out: JsonObject = own;
  for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsV1(v, depth + 1);
  return out;
}

function keyOf(v: Json): JsonObject | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  for (const k of ['name', 'type', 'containerPort', 'ip', 'mountPath', 'key'])
    if (typeof v[k] === 'string' || typeof v[k] === 'number') return { [k]: v[k] };
  return null;
}

/** One metadata.managedFields entry owning `fields`. */
export function managed(
  manager: string,
  apiVersion: string,
  time: number,
  fields: JsonObject,
  subresource?: string,
): JsonObject {
  const entry: JsonObject = {
    apiVersion,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsV1(fields),
    manager,
    operation: 'Update',
  };
  if (subresource !== undefined) entry.subresource = subresource;
  entry.time = iso(time);
  return entry;
}
