// One object's history: its versions page by page, one version, the version as of an instant,
// and the difference between two versions or instants.
import { diff as diffJson } from '../../recorder/diff.ts';
import type { Db } from '../db.ts';
import { describePatch } from '../text-diff.ts';
import type { Lookups } from './lookups.ts';
import {
  checkLimit,
  checkSeq,
  checkTime,
  checkWindow,
  decodeCursor,
  encodeCursor,
} from './params.ts';
import {
  scopeOf,
  toVersionSummary,
  VERSION_COLUMNS,
  type ObjectRow,
  type VersionRow,
} from './rows.ts';
import {
  QueryError,
  type Access,
  type DiffResult,
  type Page,
  type VersionBody,
  type VersionSummary,
  type VersionsQuery,
} from './types.ts';

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

export type VersionRef = { seq: number } | { time: number };

export class History {
  private readonly l: Lookups;
  private readonly s;

  constructor(db: Db, lookups: Lookups) {
    this.l = lookups;
    const page = (dir: 'ASC' | 'DESC') =>
      db.prepare<[number, number, number, number, number], VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM versions
         WHERE object_id = ? AND seq ${dir === 'ASC' ? '>' : '<'} ? AND time >= ? AND time <= ?
         ORDER BY seq ${dir} LIMIT ?`,
      );
    this.s = { asc: page('ASC'), desc: page('DESC') };
  }

  /** The object if the caller may read it. */
  readable(uid: string, access: Access): ObjectRow | undefined {
    const o = this.l.objectByUid(uid);
    return o && access.allows(scopeOf(o)) ? o : undefined;
  }

  versions(uid: string, q: VersionsQuery, access: Access): Page<VersionSummary> | undefined {
    const limit = checkLimit(q.limit);
    const w = q.window ? checkWindow(q.window) : { from: MIN_TIME, to: MAX_TIME };
    if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') {
      throw new QueryError('order', "must be 'asc' or 'desc'");
    }
    const desc = q.order !== 'asc';
    const after = q.cursor
      ? decodeCursor<[number]>(q.cursor, desc ? 'v-' : 'v+', ['number'])[0]
      : desc
        ? MAX_TIME
        : -1;
    const o = this.readable(uid, access);
    if (!o) return undefined;
    const rows = (desc ? this.s.desc : this.s.asc).all(o.id, after, w.from, w.to, limit + 1);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows.at(-1);
    return {
      items: rows.map(toVersionSummary),
      next: more && last ? encodeCursor(desc ? 'v-' : 'v+', [last.seq]) : null,
    };
  }

  version(uid: string, seq: number, access: Access): VersionBody | undefined {
    checkSeq(seq);
    const o = this.readable(uid, access);
    const v = o && this.l.versionBySeq(o.id, seq);
    if (!o || !v) return undefined;
    return { version: toVersionSummary(v), object: this.l.bodyAt(o.id, v.seq) };
  }

  at(uid: string, time: number, access: Access): VersionBody | undefined {
    const t = checkTime(time, 'time');
    const o = this.readable(uid, access);
    const v = o && this.l.versionAt(o.id, t);
    if (!o || !v) return undefined;
    return { version: toVersionSummary(v), object: this.l.bodyAt(o.id, v.seq) };
  }

  private resolve(o: ObjectRow, ref: VersionRef, field: string): VersionRow | undefined {
    if ('seq' in ref) return this.l.versionBySeq(o.id, checkSeq(ref.seq, field));
    return this.l.versionAt(o.id, checkTime(ref.time, field));
  }

  diff(uid: string, from: VersionRef, to: VersionRef, access: Access): DiffResult | undefined {
    const o = this.readable(uid, access);
    if (!o) return undefined;
    const a = this.resolve(o, from, 'from');
    const b = this.resolve(o, to, 'to');
    if (!a || !b) return undefined;
    const before = this.l.bodyAt(o.id, a.seq);
    const after = this.l.bodyAt(o.id, b.seq);
    const patch = diffJson(before, after);
    return {
      from: toVersionSummary(a),
      to: toVersionSummary(b),
      patch,
      text: describePatch(before, patch),
    };
  }
}
