// Searching recorded objects, deleted ones included, in the order namespace, kind, name, id.
//
// Two ways through the indexes, chosen by the query, both yielding that order so one cursor
// format serves both:
// - by name (objects_by_name): when a name or name prefix is given, or deleted objects are
//   wanted without a window. A missing namespace or kind is skipped over block by block (one
//   seek per distinct namespace, and per kind when a name is given) instead of scanning.
// - by lifespan (objects_by_lifespan): when only objects alive in a window, or alive now, are
//   wanted. Per namespace the candidates are bounded by what lived in the window, not by the
//   namespace's whole history; they are sorted here.
// Access is checked per row, so hidden rows are skipped and pages still fill up. A page examines
// at most SCAN_BUDGET rows: past that it ends early, with a cursor after the last row examined.
import type { Db } from '../db.ts';
import type { AliveObjects } from './lifespan.ts';
import type { Lookups } from './lookups.ts';
import {
  checkLimit,
  checkWindow,
  decodeCursor,
  encodeCursor,
  memoAccess,
  prefixEnd,
  SCAN_BUDGET,
} from './params.ts';
import {
  compareKeys,
  labelsOf,
  OBJECT_COLUMNS,
  objectKey,
  scopeOf,
  type ObjectKey,
  type ObjectRow,
  type SlimRow,
} from './rows.ts';
import {
  QueryError,
  type Access,
  type LabelRequirement,
  type ObjectSummary,
  type Page,
  type ResourceSearch,
  type Scope,
} from './types.ts';

const CURSOR_TAG = 'r';
const START: ObjectKey = ['', '', '', -1];
const MAX_TIME = Number.MAX_SAFE_INTEGER;

const OPERATORS = new Set(['=', '!=', 'in', 'notin', 'exists', '!exists']);

function checkSelector(sel: LabelRequirement[]): LabelRequirement[] {
  for (const r of sel) {
    if (typeof r.key !== 'string' || r.key === '' || !OPERATORS.has(r.operator)) {
      throw new QueryError('labelSelector', `has an invalid requirement ${JSON.stringify(r)}`);
    }
    const values = r.values ?? [];
    const n = r.operator === '=' || r.operator === '!=' ? 1 : r.operator.endsWith('in') ? -1 : 0;
    if (
      !Array.isArray(values) ||
      !values.every((v) => typeof v === 'string') ||
      (n === 1 && values.length !== 1) ||
      (n === -1 && values.length === 0)
    ) {
      throw new QueryError(
        'labelSelector',
        `requirement on '${r.key}' needs ${n === 1 ? 'exactly one value' : n === -1 ? 'at least one value' : 'no values'}`,
      );
    }
  }
  return sel;
}

/** Kubernetes label selector semantics: `!=` and `notin` also match objects without the key. */
export function selectorMatches(sel: readonly LabelRequirement[], labels: Record<string, string>) {
  return sel.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.operator) {
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v as string);
      case 'notin':
        return !has || !r.values.includes(v as string);
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
  });
}

interface Scan {
  items: (SlimRow | ObjectRow)[];
  /** Key of the last row examined, the resume point when the budget ends a page. */
  last: ObjectKey | null;
  examined: number;
  /** Stop: the page (and one more, to know whether there is a next page) is full or over budget. */
  done: boolean;
}

export class Search {
  private readonly l: Lookups;
  private readonly alive: AliveObjects;
  private readonly s;

  constructor(db: Db, lookups: Lookups, alive: AliveObjects) {
    this.l = lookups;
    this.alive = alive;
    const sel = `SELECT ${OBJECT_COLUMNS} FROM objects`;
    const order = 'ORDER BY namespace, kind, name, id LIMIT ?';
    this.s = {
      firstKind: db.prepare<[string, string], { kind: string }>(
        'SELECT kind FROM objects WHERE namespace = ? AND kind >= ? ORDER BY kind LIMIT 1',
      ),
      nextKind: db.prepare<[string, string], { kind: string }>(
        'SELECT kind FROM objects WHERE namespace = ? AND kind > ? ORDER BY kind LIMIT 1',
      ),
      all: db.prepare<[string, string, string, number, number], ObjectRow>(
        `${sel} WHERE (namespace, kind, name, id) > (?, ?, ?, ?) ${order}`,
      ),
      inNamespace: db.prepare<[string, string, string, number, number], ObjectRow>(
        `${sel} WHERE namespace = ? AND (kind, name, id) > (?, ?, ?) ${order}`,
      ),
      named: db.prepare<[string, string, string, string, number, number], ObjectRow>(
        `${sel} WHERE namespace = ? AND kind = ? AND name = ? AND (name, id) > (?, ?) ${order}`,
      ),
      prefixed: db.prepare<[string, string, string, string, string, number, number], ObjectRow>(
        `${sel} WHERE namespace = ? AND kind = ? AND name >= ? AND name < ? AND (name, id) > (?, ?) ${order}`,
      ),
      prefixedOpen: db.prepare<[string, string, string, string, number, number], ObjectRow>(
        `${sel} WHERE namespace = ? AND kind = ? AND name >= ? AND (name, id) > (?, ?) ${order}`,
      ),
      ofKind: db.prepare<[string, string, string, number, number], ObjectRow>(
        `${sel} WHERE namespace = ? AND kind = ? AND (name, id) > (?, ?) ${order}`,
      ),
    };
  }

  private *kinds(namespace: string, only: string | undefined, start: string): Generator<string> {
    if (only !== undefined) {
      if (only >= start) yield only;
      return;
    }
    let kind = this.s.firstKind.get(namespace, start)?.kind;
    while (kind !== undefined) {
      yield kind;
      kind = this.s.nextKind.get(namespace, kind)?.kind;
    }
  }

  search(q: ResourceSearch, access: Access): Page<ObjectSummary> {
    const limit = checkLimit(q.limit);
    const window = q.window ? checkWindow(q.window) : undefined;
    const selector = checkSelector(q.labelSelector ?? []);
    for (const field of ['kind', 'group', 'namespace', 'name', 'namePrefix'] as const) {
      const v = q[field];
      if (v !== undefined && typeof v !== 'string') throw new QueryError(field, 'must be a string');
    }
    const cursor = q.cursor
      ? decodeCursor<ObjectKey>(q.cursor, CURSOR_TAG, ['string', 'string', 'string', 'number'])
      : START;
    const can = memoAccess(access);
    if (access.readsNothing) return { items: [], next: null };
    const scan: Scan = { items: [], last: null, examined: 0, done: false };
    const accept = (o: SlimRow | ObjectRow): void => {
      scan.examined++;
      scan.last = objectKey(o);
      if (
        (q.group === undefined || o.api_group === q.group) &&
        (q.includeDeleted || o.deleted_at === null) &&
        (!window ||
          ((o.created_at === null || o.created_at <= window.to) &&
            (o.deleted_at === null || o.deleted_at >= window.from))) &&
        (q.namePrefix === undefined || o.name.startsWith(q.namePrefix)) &&
        can(scopeOf(o)) &&
        (selector.length === 0 || selectorMatches(selector, labelsOf(this.l.full(o))))
      ) {
        scan.items.push(o);
      }
      if (scan.items.length > limit || scan.examined >= SCAN_BUDGET) scan.done = true;
    };
    const byName = q.name !== undefined || q.namePrefix !== undefined;
    if (!byName && (window || !q.includeDeleted)) {
      this.byLifespan(q, window, cursor, accept, scan);
    } else {
      this.byName(q, cursor, accept, scan, can);
    }
    const more = scan.items.length > limit;
    const page = scan.items.slice(0, limit);
    const lastItem = page.at(-1);
    let next: string | null = null;
    if (more && lastItem) next = encodeCursor(CURSOR_TAG, objectKey(lastItem));
    else if (scan.done && scan.last) next = encodeCursor(CURSOR_TAG, scan.last);
    return { items: page.map((o) => this.l.summary(o)), next };
  }

  private byLifespan(
    q: ResourceSearch,
    window: { from: number; to: number } | undefined,
    cursor: ObjectKey,
    accept: (o: SlimRow) => void,
    scan: Scan,
  ): void {
    for (const ns of this.l.namespaces(q.namespace, cursor[0])) {
      const rows = this.alive.list(ns, window?.from ?? 0, window?.to ?? MAX_TIME, {
        kinds: q.kind === undefined ? undefined : [q.kind],
        group: q.group,
        aliveOnly: !q.includeDeleted,
      });
      const keyed = rows.map((o) => ({ o, key: objectKey(o) }));
      keyed.sort((a, b) => compareKeys(a.key, b.key));
      for (const { o, key } of keyed) {
        if (compareKeys(key, cursor) <= 0) continue;
        accept(o);
        if (scan.done) return;
      }
      // An empty namespace still costs a look.
      scan.examined++;
      if (scan.examined >= SCAN_BUDGET) {
        scan.done = true;
        scan.last = [ns, '\uffff', '', 0];
        return;
      }
    }
  }

  private byName(
    q: ResourceSearch,
    cursor: ObjectKey,
    accept: (o: ObjectRow) => void,
    scan: Scan,
    can: (s: Scope) => boolean,
  ): void {
    const chunk = 200;
    // Neither namespace, kind nor name: one walk over the whole index.
    if (
      q.namespace === undefined &&
      q.kind === undefined &&
      q.name === undefined &&
      q.namePrefix === undefined
    ) {
      let from = cursor;
      for (;;) {
        const rows = this.s.all.all(...from, chunk);
        for (const o of rows) {
          accept(o);
          if (scan.done) return;
        }
        const last = rows.at(-1);
        if (!last || rows.length < chunk) return;
        from = objectKey(last);
      }
    }
    for (const ns of this.l.namespaces(q.namespace, cursor[0])) {
      const inCursorNs = ns === cursor[0];
      // A namespace without kind or name given: one walk over its part of the index.
      if (q.kind === undefined && q.name === undefined && q.namePrefix === undefined) {
        let from: [string, string, number] = inCursorNs
          ? [cursor[1], cursor[2], cursor[3]]
          : ['', '', -1];
        for (;;) {
          const rows = this.s.inNamespace.all(ns, ...from, chunk);
          for (const o of rows) {
            accept(o);
            if (scan.done) return;
          }
          const last = rows.at(-1);
          if (!last || rows.length < chunk) break;
          from = [last.kind, last.name, last.id];
        }
        continue;
      }
      for (const kind of this.kinds(ns, q.kind, inCursorNs ? cursor[1] : '')) {
        let from: [string, number] =
          inCursorNs && kind === cursor[1] ? [cursor[2], cursor[3]] : ['', -1];
        block: for (;;) {
          const rows = this.block(ns, kind, q, from, chunk);
          scan.examined++;
          for (const o of rows) {
            // With the group given, one row of it tells the resource of the whole block (its
            // other groups are filtered out): a hidden block is skipped in one step.
            if (q.group !== undefined && o.api_group === q.group && !can(scopeOf(o))) {
              scan.last = [ns, kind, '\uffff', 0];
              break block;
            }
            accept(o);
            if (scan.done) return;
          }
          const last = rows.at(-1);
          if (!last || rows.length < chunk) break;
          from = [last.name, last.id];
        }
        if (scan.examined >= SCAN_BUDGET) {
          scan.done = true;
          return;
        }
      }
    }
  }

  private block(
    ns: string,
    kind: string,
    q: ResourceSearch,
    from: [string, number],
    chunk: number,
  ): ObjectRow[] {
    if (q.name !== undefined) return this.s.named.all(ns, kind, q.name, ...from, chunk);
    if (q.namePrefix !== undefined) {
      const end = prefixEnd(q.namePrefix);
      return end === null
        ? this.s.prefixedOpen.all(ns, kind, q.namePrefix, ...from, chunk)
        : this.s.prefixed.all(ns, kind, q.namePrefix, end, ...from, chunk);
    }
    return this.s.ofKind.all(ns, kind, ...from, chunk);
  }
}
