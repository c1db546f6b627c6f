// JSON diff as an RFC 6902 JSON Patch (add, remove, replace), its application, and the readable
// list of changed paths stored with each version. Inputs are JSON values (what JSON.parse gives).
//
// Arrays are compared element by element. When their lengths differ, the common suffix is
// matched first, so inserting or removing elements anywhere (a finalizer, an owner reference, a
// condition) becomes adds/removes of those elements instead of a replace of every later one.
// That is a cheap special case of an LCS: one changed run per array.

export type PatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown };

/** A patch that does not apply to the document it was given. */
export class PatchError extends Error {
  override name = 'PatchError';
}

type Json = unknown;
type JsonMap = Record<string, unknown>;

function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Escapes a key as a JSON Pointer reference token (RFC 6901). */
export function escapePointerToken(key: string): string {
  if (!key.includes('~') && !key.includes('/')) return key;
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapePointerToken(token: string): string {
  if (!token.includes('~')) return token;
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * The patch that turns `prev` into `next`; `[]` when they are equal, which is how no-op updates
 * are detected. Values in the ops are `next`'s own subtrees, shared, not copied.
 */
export function diff(prev: Json, next: Json): PatchOp[] {
  const ops: PatchOp[] = [];
  // Path segments, joined into a pointer only when an op is emitted: unchanged subtrees cost
  // no string building.
  const path: (string | number)[] = [];
  diffValue(prev, next, path, ops);
  return ops;
}

function pointer(path: readonly (string | number)[], last?: string | number): string {
  let s = '';
  for (const seg of path) s += '/' + pointerToken(seg);
  if (last !== undefined) s += '/' + pointerToken(last);
  return s;
}

function pointerToken(seg: string | number): string {
  return typeof seg === 'number' ? String(seg) : escapePointerToken(seg);
}

function diffValue(a: Json, b: Json, path: (string | number)[], ops: PatchOp[]): void {
  if (a === b) return;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    ops.push({ op: 'replace', path: pointer(path), value: b });
    return;
  }
  const aArray = Array.isArray(a);
  if (aArray !== Array.isArray(b)) {
    ops.push({ op: 'replace', path: pointer(path), value: b });
  } else if (aArray) {
    diffArray(a as Json[], b as Json[], path, ops);
  } else {
    diffMap(a as JsonMap, b as JsonMap, path, ops);
  }
}

function diffMap(a: JsonMap, b: JsonMap, path: (string | number)[], ops: PatchOp[]): void {
  for (const key in a) {
    if (!Object.hasOwn(b, key)) {
      ops.push({ op: 'remove', path: pointer(path, key) });
      continue;
    }
    const av = a[key];
    const bv = b[key];
    if (av === bv) continue;
    path.push(key);
    diffValue(av, bv, path, ops);
    path.pop();
  }
  for (const key in b) {
    if (!Object.hasOwn(a, key)) ops.push({ op: 'add', path: pointer(path, key), value: b[key] });
  }
}

function diffArray(a: Json[], b: Json[], path: (string | number)[], ops: PatchOp[]): void {
  // When the lengths differ, match the common suffix first: what is left, a[0, aEnd) and
  // b[0, bEnd), is compared element by element and its extra elements added or removed at its
  // end. A common prefix needs no matching: equal elements yield no ops anyway.
  let suffix = 0;
  if (a.length !== b.length) {
    const shorter = Math.min(a.length, b.length);
    while (suffix < shorter && jsonEqual(a[a.length - 1 - suffix], b[b.length - 1 - suffix])) {
      suffix++;
    }
  }
  const aEnd = a.length - suffix;
  const bEnd = b.length - suffix;
  const common = Math.min(aEnd, bEnd);
  for (let i = 0; i < common; i++) {
    if (a[i] === b[i]) continue;
    path.push(i);
    diffValue(a[i], b[i], path, ops);
    path.pop();
  }
  // Adds in increasing order each land at their final index; removes from the highest index
  // down so that earlier indices stay valid while the patch is applied.
  for (let i = common; i < bEnd; i++) ops.push({ op: 'add', path: pointer(path, i), value: b[i] });
  for (let i = aEnd - 1; i >= common; i--) ops.push({ op: 'remove', path: pointer(path, i) });
}

/** Deep equality of JSON values (key order is ignored, as JSON objects are unordered). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const am = a as JsonMap;
  const bm = b as JsonMap;
  let count = 0;
  for (const key in am) {
    if (!Object.hasOwn(bm, key) || !jsonEqual(am[key], bm[key])) return false;
    count++;
  }
  for (const key in bm) if (Object.hasOwn(bm, key)) count--;
  return count === 0;
}

/**
 * Applies a patch and returns the result. Mutates `doc` IN PLACE (only the root can be replaced,
 * hence the return value) and inserts the ops' values by reference: rebuilding a version from a
 * decoded snapshot and decoded patches owns all of them, and copying would only cost. Clone
 * first to keep `doc`. Throws PatchError when a path does not exist in `doc`.
 */
export function applyPatch(doc: Json, ops: readonly PatchOp[]): Json {
  let root = doc;
  for (let n = 0; n < ops.length; n++) {
    const op = ops[n] as PatchOp;
    if (op.path === '') {
      if (op.op === 'remove') throw new PatchError(`Patch op ${n} removes the whole document`);
      root = op.value;
      continue;
    }
    if (op.path[0] !== '/') {
      throw new PatchError(`Patch op ${n} has path '${op.path}', which does not start with '/'`);
    }
    const tokens = op.path.split('/');
    let parent: unknown = root;
    for (let t = 1; t < tokens.length - 1; t++) {
      parent = child(parent, unescapePointerToken(tokens[t] as string), op, n);
    }
    applyAt(parent, unescapePointerToken(tokens[tokens.length - 1] as string), op, n);
  }
  return root;
}

function child(parent: unknown, token: string, op: PatchOp, n: number): unknown {
  if (Array.isArray(parent)) {
    const i = arrayIndex(token, parent.length - 1, op, n);
    return parent[i];
  }
  if (isMap(parent) && Object.hasOwn(parent, token)) return parent[token];
  throw new PatchError(`Patch op ${n} (${op.op} ${op.path}): '${token}' does not exist`);
}

function arrayIndex(token: string, max: number, op: PatchOp, n: number): number {
  // RFC 6901: decimal digits, no leading zeros.
  if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) > max) {
    throw new PatchError(`Patch op ${n} (${op.op} ${op.path}): index '${token}' is out of range`);
  }
  return Number(token);
}

function applyAt(parent: unknown, token: string, op: PatchOp, n: number): void {
  if (Array.isArray(parent)) {
    if (op.op === 'add') {
      if (token === '-') parent.push(op.value);
      else parent.splice(arrayIndex(token, parent.length, op, n), 0, op.value);
    } else if (op.op === 'remove') {
      parent.splice(arrayIndex(token, parent.length - 1, op, n), 1);
    } else {
      parent[arrayIndex(token, parent.length - 1, op, n)] = op.value;
    }
    return;
  }
  if (!isMap(parent)) {
    throw new PatchError(
      `Patch op ${n} (${op.op} ${op.path}): the parent is not an object or array`,
    );
  }
  if (op.op !== 'add' && !Object.hasOwn(parent, token)) {
    throw new PatchError(`Patch op ${n} (${op.op} ${op.path}): '${token}' does not exist`);
  }
  if (op.op === 'remove') delete parent[token];
  else if (token === '__proto__') {
    // A plain assignment would set the prototype instead of an own key.
    Object.defineProperty(parent, token, {
      value: op.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else parent[token] = op.value;
}

/** At most this many paths are listed per version; the rest are counted in a marker. */
export const CHANGED_PATHS_LIMIT = 64;

/**
 * The paths a patch touches, readable and in the ignore-fields syntax: dotted keys, array
 * indices in brackets, `\` before dots, brackets and backslashes inside keys
 * (`metadata.labels.app\.kubernetes\.io/name`, `spec.template.spec.containers[0].image`).
 * Deduplicated in patch order; past `limit`, a last entry `…and N more` replaces the rest.
 * A pointer carries no types, so an all-digit segment is read as an array index.
 */
export function changedPaths(ops: readonly PatchOp[], limit = CHANGED_PATHS_LIMIT): string[] {
  const seen = new Set<string>();
  for (const op of ops) seen.add(dottedPath(op.path));
  if (seen.size <= limit) return [...seen];
  const paths = [...seen].slice(0, limit);
  paths.push(`…and ${seen.size - limit} more`);
  return paths;
}

/** RFC 6901 array index: digits without a leading zero, or `-` (past the end). */
const INDEX = /^(0|[1-9][0-9]*|-)$/;
/** Characters that need a backslash in a dotted path (and `~`, which needs unescaping first). */
const SPECIAL = /[~.[\]\\*]/;

/** A JSON Pointer as a dotted path; the whole document is `(root)`. */
export function dottedPath(ptr: string): string {
  if (ptr === '') return '(root)';
  const tokens = ptr.split('/');
  let s = '';
  for (let t = 1; t < tokens.length; t++) {
    const token = tokens[t] as string;
    if (t > 1 && INDEX.test(token)) s += '[' + token + ']';
    else {
      const key = SPECIAL.test(token) ? escapeKey(unescapePointerToken(token)) : token;
      s += t === 1 ? key : '.' + key;
    }
  }
  return s;
}

function escapeKey(key: string): string {
  // A lone `*` would read as the every-key wildcard; inside a longer key it is literal.
  if (key === '*') return '\\*';
  return key.replace(/[.[\]\\]/g, (c) => '\\' + c);
}
