// Ignore-fields: paths whose values the recorder drops before diffing, so that a change touching
// only them (a heartbeat, a lease renewal, a resourceVersion bump) is a no-op and is not stored.
//
// Pattern syntax (`changedPaths` in diff.ts prints paths the same way, with [0] where this has [*]):
//   segments separated by `.`: `metadata.managedFields`, `spec.renewTime`
//   `[*]` after a segment: every element of that array: `status.conditions[*].lastHeartbeatTime`
//   a segment that is exactly `*`: every key of that map: `metadata.annotations.*`
//   `\` escapes the next character, for keys holding dots, brackets, colons or a lone star:
//   `metadata.annotations.foo\.bar/baz`
//   an optional `Kind:` prefix (CamelCase kind) limits a pattern to one kind, of any group:
//   `Node:status.conditions[*].lastHeartbeatTime`
// Patterns compile into one trie per kind, walked once per object, visiting only the keys the
// trie names (and every key only under a `*`).

/** A pattern that cannot be compiled, with a message naming it and saying how to fix it. */
export interface IgnoreFieldProblem {
  pattern: string;
  message: string;
}

interface TrieNode {
  /** The value reached here is dropped entirely (children are then irrelevant). */
  drop: boolean;
  keys: Map<string, TrieNode> | undefined;
  /** `*`: applies to every key of a map. */
  anyKey: TrieNode | undefined;
  /** `[*]`: applies to every element of an array. */
  anyIndex: TrieNode | undefined;
}

const ANY_KEY = Symbol('*');
const ANY_INDEX = Symbol('[*]');
type Segment = string | typeof ANY_KEY | typeof ANY_INDEX;

interface ParsedPattern {
  kind: string | undefined;
  segments: Segment[];
}

/** Compiled ignore-field patterns. Immutable: compile once, share between objects and calls. */
export class IgnoreMatcher {
  /** The patterns that compiled (invalid ones are left out). */
  readonly patterns: readonly string[];
  readonly #all: TrieNode;
  readonly #byKind: ReadonlyMap<string, TrieNode>;

  /** @internal use compileIgnoreFields */
  constructor(patterns: readonly string[], all: TrieNode, byKind: ReadonlyMap<string, TrieNode>) {
    this.patterns = patterns;
    this.#all = all;
    this.#byKind = byKind;
  }

  /** @internal the trie for a kind: the unscoped patterns plus that kind's own. */
  trieFor(kind: string): TrieNode {
    return this.#byKind.get(kind) ?? this.#all;
  }
}

/**
 * Fields that change without anything worth recording having happened. Checked on a live 1.37
 * control plane: a Node heartbeat (kubelet or kwok) changes only every condition's
 * lastHeartbeatTime (besides managedFields time and resourceVersion); a Lease renewal changes
 * only renewTime, while holder changes and transitions are still recorded.
 */
export const DEFAULT_IGNORE_FIELDS: readonly string[] = [
  'metadata.managedFields',
  'metadata.resourceVersion',
  'Node:status.conditions[*].lastHeartbeatTime',
  'Lease:spec.renewTime',
];

const EXAMPLE = 'e.g. status.conditions[*].lastProbeTime';
const KIND_PREFIX = /^([A-Z][A-Za-z0-9]*):/;

/** Parses one pattern, or returns why it is invalid (a phrase that follows the pattern). */
function parsePattern(pattern: string): ParsedPattern | string {
  if (pattern.trim() !== pattern) return 'has leading or trailing whitespace; remove it';
  const scope = KIND_PREFIX.exec(pattern);
  const kind = scope?.[1];
  const path = scope === null ? pattern : pattern.slice(scope[0].length);
  if (path.length === 0) {
    return kind === undefined
      ? `is empty; write a dotted field path, ${EXAMPLE}`
      : `has no path after '${kind}:'; write one, e.g. ${kind}:status.conditions[*].lastProbeTime`;
  }
  const segments: Segment[] = [];
  // What the previous token was decides what may follow.
  let prev: 'start' | 'dot' | 'key' | 'index' = 'start';
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      if (prev === 'start') return `starts with '.'; remove it (${EXAMPLE})`;
      if (prev === 'dot') return `has an empty field name at '..'; use a single '.'`;
      prev = 'dot';
      i++;
    } else if (c === '[') {
      if (prev === 'start' || prev === 'dot') {
        return `has '[' without a field before it; attach [*] to a field, ${EXAMPLE}`;
      }
      if (!path.startsWith('[*]', i)) {
        return `has '${path.slice(i, i + 4)}', but only [*] (every element) is supported; write a literal '[' in a key as '\\['`;
      }
      segments.push(ANY_INDEX);
      prev = 'index';
      i += 3;
    } else {
      if (prev === 'index') return `has '${c}' right after '[*]'; separate fields with '.'`;
      let key = '';
      let escaped = false;
      while (i < path.length && path[i] !== '.' && path[i] !== '[') {
        if (path[i] === '\\') {
          if (i + 1 === path.length) return `ends with a lone '\\'; write a backslash as '\\\\'`;
          key += path[i + 1];
          escaped = true;
          i += 2;
        } else {
          key += path[i];
          i++;
        }
      }
      segments.push(key === '*' && !escaped ? ANY_KEY : key);
      prev = 'key';
    }
  }
  if (prev === 'dot') return `ends with '.'; remove it (${EXAMPLE})`;
  return { kind, segments };
}

function newNode(): TrieNode {
  return { drop: false, keys: undefined, anyKey: undefined, anyIndex: undefined };
}

function insert(root: TrieNode, segments: readonly Segment[]): void {
  let node = root;
  for (const segment of segments) {
    if (node.drop) return; // a shorter pattern already drops everything below
    let next: TrieNode | undefined;
    if (segment === ANY_KEY) next = node.anyKey ??= newNode();
    else if (segment === ANY_INDEX) next = node.anyIndex ??= newNode();
    else {
      node.keys ??= new Map();
      next = node.keys.get(segment);
      if (next === undefined) node.keys.set(segment, (next = newNode()));
    }
    node = next;
  }
  node.drop = true;
  node.keys = node.anyKey = node.anyIndex = undefined;
}

/**
 * Compiles ignore-field patterns (typically `[...DEFAULT_IGNORE_FIELDS, ...policy.ignoreFields]`).
 * Invalid patterns are left out of the matcher and reported in `problems`, one each; the valid
 * ones still apply.
 */
export function compileIgnoreFields(patterns: readonly string[]): {
  matcher: IgnoreMatcher;
  problems: IgnoreFieldProblem[];
} {
  const problems: IgnoreFieldProblem[] = [];
  const valid: string[] = [];
  const unscoped: Segment[][] = [];
  const scoped = new Map<string, Segment[][]>();
  for (const pattern of patterns) {
    const parsed = parsePattern(pattern);
    if (typeof parsed === 'string') {
      problems.push({ pattern, message: `Ignore-field pattern '${pattern}' ${parsed}.` });
      continue;
    }
    valid.push(pattern);
    if (parsed.kind === undefined) unscoped.push(parsed.segments);
    else {
      const list = scoped.get(parsed.kind);
      if (list === undefined) scoped.set(parsed.kind, [parsed.segments]);
      else list.push(parsed.segments);
    }
  }
  const all = newNode();
  for (const segments of unscoped) insert(all, segments);
  // One complete trie per scoped kind, so that stripping walks one trie whatever the kind.
  const byKind = new Map<string, TrieNode>();
  for (const [kind, list] of scoped) {
    const root = newNode();
    for (const segments of unscoped) insert(root, segments);
    for (const segments of list) insert(root, segments);
    byKind.set(kind, root);
  }
  return { matcher: new IgnoreMatcher(valid, all, byKind), problems };
}

/**
 * Returns `obj` without the fields `matcher` ignores for `kind` (the object's kind, e.g. `Node`).
 * Does not mutate `obj`: only the objects and arrays on the way to a dropped field are copied,
 * everything else is shared with `obj` (so treat both as read-only afterwards). When nothing is
 * dropped, `obj` itself is returned. The caller keeps what was dropped, e.g. the managedFields
 * that `managersOf` reads, and no object is left with deleted keys, which V8 handles slowly.
 */
export function stripIgnored<T>(obj: T, matcher: IgnoreMatcher, kind: string): T {
  return strip(obj, matcher.trieFor(kind)) as T;
}

/** Marks a key to leave out of a copy. */
const DROP = Symbol('drop');

function strip(value: unknown, node: TrieNode): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return stripArray(value, node);
  const map = value as Record<string, unknown>;
  // Changes to make, as [key, new value or DROP]; allocated only when something changes.
  let changes: [string, unknown][] | undefined;
  const any = node.anyKey;
  if (any !== undefined) {
    for (const key in map) {
      const named = node.keys?.get(key);
      const old = map[key];
      let next: unknown;
      if (any.drop || named?.drop === true) next = DROP;
      else {
        next = strip(old, any);
        if (named !== undefined) next = strip(next, named);
      }
      if (next !== old) (changes ??= []).push([key, next]);
    }
  } else if (node.keys !== undefined) {
    for (const [key, child] of node.keys) {
      if (!Object.hasOwn(map, key)) continue;
      const old = map[key];
      const next = child.drop ? DROP : strip(old, child);
      if (next !== old) (changes ??= []).push([key, next]);
    }
  }
  if (changes === undefined) return value;
  const out: Record<string, unknown> = {};
  // Rebuild in the original key order; `changes` is tiny, a linear scan beats a Map.
  for (const key in map) {
    let next = map[key];
    for (const change of changes) {
      if (change[0] === key) {
        next = change[1];
        break;
      }
    }
    if (next === DROP) continue;
    if (key === '__proto__') {
      // Plain assignment would set the prototype instead of an own key.
      Object.defineProperty(out, key, {
        value: next,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = next;
  }
  return out;
}

function stripArray(value: unknown[], node: TrieNode): unknown[] {
  const child = node.anyIndex;
  if (child === undefined) return value;
  if (child.drop) return value.length === 0 ? value : [];
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const old = value[i];
    const next = strip(old, child);
    if (next !== old) (out ??= value.slice())[i] = next;
  }
  return out ?? value;
}
