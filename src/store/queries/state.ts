// A namespace as it was at an instant, and everything that changed between two instants.
import { diff as diffJson } from '../../recorder/diff.ts';
import type { Db } from '../db.ts';
import type { AliveObjects } from './lifespan.ts';
import type { Lookups } from './lookups.ts';
import {
  checkLimit,
  checkTime,
  checkWindow,
  decodeCursor,
  encodeCursor,
  memoAccess,
  readableResources,
  SCAN_BUDGET,
} from './params.ts';
import {
  compareKeys,
  objectKey,
  scopeOf,
  toVersionSummary,
  VERSION_COLUMNS,
  type ObjectKey,
  type SlimRow,
  type VersionRow,
} from './rows.ts';
import {
  QueryError,
  type Access,
  type ChangesQuery,
  type ObjectChanges,
  type Page,
  type PatchOp,
  type StateEntry,
} from './types.ts';

export const DEFAULT_STATE_LIMIT = 500;
export const MAX_STATE_LIMIT = 1_000;
/** Bodies one page of a namespace's state carries at most (as JSON), whatever its limit. */
export const STATE_PAGE_BYTES = 8 * 1024 * 1024;
const CURSOR_TAG = 'c';
const STATE_CURSOR_TAG = 's';
const START: ObjectKey = ['', '', '', -1];
/** Candidates checked for changes at once (one statement for all of them). */
const CHUNK = 500;

function checkKinds(kinds: readonly string[] | undefined): void {
  if (
    kinds !== undefined &&
    (!Array.isArray(kinds) || !kinds.every((k) => typeof k === 'string'))
  ) {
    throw new QueryError('kinds', 'must be a list of kind names');
  }
}

export class States {
  private readonly l: Lookups;
  private readonly alive: AliveObjects;
  private readonly s;

  constructor(db: Db, lookups: Lookups, alive: AliveObjects) {
    this.l = lookups;
    this.alive = alive;
    this.s = {
      changed: db
        .prepare<[string, number, number], [number]>(
          `SELECT DISTINCT v.object_id FROM json_each(?) j
           CROSS JOIN versions v ON v.object_id = j.value WHERE v.time >= ? AND v.time <= ?`,
        )
        .raw(true),
      inWindow: db.prepare<[number, number, number], VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM versions WHERE object_id = ? AND time >= ? AND time <= ?
         ORDER BY seq`,
      ),
    };
  }

  /**
   * A page of the objects of `namespace` alive at `at`, with their bodies as of then, by kind
   * and name. A page ends at `limit` objects or once its bodies pass STATE_PAGE_BYTES, with a
   * cursor after its last object.
   */
  namespaceState(
    namespace: string,
    at: number,
    q: { kinds?: string[]; limit?: number; cursor?: string },
    access: Access,
  ): Page<StateEntry> {
    if (typeof namespace !== 'string') throw new QueryError('namespace', 'must be a string');
    checkKinds(q.kinds);
    const limit =
      q.limit === undefined ? DEFAULT_STATE_LIMIT : checkLimit(q.limit, MAX_STATE_LIMIT);
    // A cursor carries the instant of the first page, which later pages keep: all pages are the
    // state of one instant, also when `at` was relative (now, -1h) and time has moved on.
    const [ns0, kind0, name0, id0, t] = q.cursor
      ? decodeCursor<[...ObjectKey, number]>(q.cursor, STATE_CURSOR_TAG, [
          'string',
          'string',
          'string',
          'number',
          'number',
        ])
      : [...START, checkTime(at, 'at')];
    const cursor: ObjectKey = [ns0, kind0, name0, id0];
    const can = memoAccess(access);
    const resources = readableResources(access, namespace);
    if (resources === '[]') return { items: [], next: null };
    // Created by t and deleted after it.
    const objects = this.alive
      .list(namespace, t + 1, t, { kinds: q.kinds, resources: resources ?? undefined })
      .filter((o) => can(scopeOf(o)))
      .map((o) => ({ o, key: objectKey(o) }))
      .filter((c) => compareKeys(c.key, cursor) > 0)
      .sort((a, b) => compareKeys(a.key, b.key));
    const items: StateEntry[] = [];
    let bytes = 0;
    for (const [i, { o, key }] of objects.entries()) {
      const v = this.l.versionAt(o.id, t);
      // No version yet (it existed before recording began) or deleted then, and revived later.
      if (v && v.type !== 'deleted') {
        const body = this.l.bodyAt(o.id, v.seq);
        items.push({ object: this.l.summary(o), version: toVersionSummary(v), body });
        bytes += JSON.stringify(body).length;
      }
      const full = items.length >= limit || bytes >= STATE_PAGE_BYTES;
      if (full && i < objects.length - 1) {
        return { items, next: encodeCursor(STATE_CURSOR_TAG, [...key, t]) };
      }
    }
    return { items, next: null };
  }

  changes(q: ChangesQuery, access: Access): Page<ObjectChanges> {
    const limit = checkLimit(q.limit);
    const w = checkWindow(q.window);
    if (q.namespace !== undefined && typeof q.namespace !== 'string') {
      throw new QueryError('namespace', 'must be a string');
    }
    const cursor = q.cursor
      ? decodeCursor<ObjectKey>(q.cursor, CURSOR_TAG, ['string', 'string', 'string', 'number'])
      : START;
    const can = memoAccess(access);
    if (access.readsNothing) return { items: [], next: null };
    const found: SlimRow[] = [];
    let examined = 0;
    let last: ObjectKey | null = null;
    let stopped = false;
    scan: for (const ns of this.l.namespaces(q.namespace, cursor[0])) {
      // Nothing the caller may read here ('[]'): the namespace is skipped without reading it.
      const resources = readableResources(access, ns);
      const listed =
        resources === '[]'
          ? []
          : this.alive.list(ns, w.from, w.to, { resources: resources ?? undefined });
      const ahead = listed
        .map((o) => ({ o, key: objectKey(o) }))
        .filter((c) => compareKeys(c.key, cursor) > 0);
      const candidates = ahead
        .filter((c) => can(scopeOf(c.o)))
        .sort((a, b) => compareKeys(a.key, b.key));
      // Hidden rows cost a page as much as shown ones (rows before the cursor are not counted:
      // every later page of the namespace reads them again).
      examined += ahead.length - candidates.length;
      for (let i = 0; i < candidates.length; i += CHUNK) {
        const chunk = candidates.slice(i, i + CHUNK);
        const ids = JSON.stringify(chunk.map((c) => c.o.id));
        const changed = new Set(this.s.changed.all(ids, w.from, w.to).map((r) => r[0]));
        for (const { o, key } of chunk) {
          examined++;
          last = key;
          if (changed.has(o.id)) found.push(o);
          if (found.length > limit || examined >= SCAN_BUDGET) {
            stopped = true;
            break scan;
          }
        }
      }
      examined++;
      if (examined >= SCAN_BUDGET) {
        // Resumed at the next namespace: all of this one was examined. (\u0000 sorts a name
        // right after ns and before any longer one.)
        last = [`${ns}\u0000`, '', '', -1];
        stopped = true;
        break;
      }
    }
    const more = found.length > limit;
    const page = found.slice(0, limit);
    const lastItem = page.at(-1);
    let next: string | null = null;
    if (more && lastItem) next = encodeCursor(CURSOR_TAG, objectKey(lastItem));
    else if (stopped && last) next = encodeCursor(CURSOR_TAG, last);
    return { items: page.map((o) => this.objectChanges(o, w)), next };
  }

  private objectChanges(o: SlimRow, w: { from: number; to: number }): ObjectChanges {
    const versions = this.s.inWindow.all(o.id, w.from, w.to);
    const lastVersion = versions.at(-1) as VersionRow;
    const after = this.l.bodyAt(o.id, lastVersion.seq);
    const prior = this.l.versionAt(o.id, w.from - 1);
    let patch: PatchOp[];
    if (prior && prior.type !== 'deleted') patch = diffJson(this.l.bodyAt(o.id, prior.seq), after);
    else patch = [{ op: 'add', path: '', value: after }];
    return { object: this.l.summary(o), versions: versions.map(toVersionSummary), patch };
  }
}
