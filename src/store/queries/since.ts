// The change log after a sequence number, versions and Event occurrences merged in sequence
// order: what a live stream sends, resumable from the last number it sent.
import type { Db } from '../db.ts';
import type { Lookups } from './lookups.ts';
import { checkLimit, checkSeq, memoAccess } from './params.ts';
import {
  EVENT_COLUMNS,
  OBJECT_COLUMNS,
  toEventSummary,
  toVersionSummary,
  VERSION_COLUMNS,
  type EventRow,
  type ObjectRow,
  type VersionRow,
} from './rows.ts';
import {
  QueryError,
  type Access,
  type SinceItem,
  type SinceQuery,
  type SinceResult,
} from './types.ts';
import { HEAD_SEQ_SQL } from '../head.ts';

/**
 * Sequence numbers one call looks through at most. Records the caller may not see cost a look
 * each; past this span the call returns what it found and a `next` past them.
 */
export const SINCE_SPAN = 20_000;

type LogRow = [
  kind: 0 | 1,
  seq: number,
  ref: number,
  group: string,
  resource: string,
  namespace: string,
];

export class Since {
  private readonly l: Lookups;
  private readonly s;

  constructor(db: Db, lookups: Lookups) {
    this.l = lookups;
    const versions = `SELECT 0, v.seq, v.object_id, o.api_group, o.resource, o.namespace
      FROM versions v JOIN objects o ON o.id = v.object_id
      WHERE v.seq > @lo AND v.seq <= @hi AND (@ns IS NULL OR o.namespace = @ns)
        AND (@kinds IS NULL OR o.kind IN (SELECT value FROM json_each(@kinds)))`;
    const occurrences = `SELECT 1, x.seq, x.event_id, '', 'events', e.namespace
      FROM event_occurrences x JOIN events e ON e.id = x.event_id
      WHERE x.seq > @lo AND x.seq <= @hi AND (@ns IS NULL OR e.namespace = @ns)`;
    this.s = {
      log: db
        .prepare<Record<string, unknown>, LogRow>(
          `${versions} UNION ALL ${occurrences} ORDER BY 2 LIMIT @n`,
        )
        .raw(true),
      versionsOnly: db
        .prepare<Record<string, unknown>, LogRow>(`${versions} ORDER BY 2 LIMIT @n`)
        .raw(true),
      head: db.prepare<[], { seq: number }>(HEAD_SEQ_SQL),
      version: db.prepare<[number], VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM versions WHERE seq = ?`,
      ),
      object: db.prepare<[number], ObjectRow>(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE id = ?`),
      occurrence: db.prepare<[number], { seq: number; time: number; count: number }>(
        'SELECT seq, time, count FROM event_occurrences WHERE seq = ?',
      ),
      event: db.prepare<[number], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
    };
  }

  /** The sequence number of the newest record: a stream that starts now resumes from it. */
  head(): number {
    return this.s.head.get()?.seq ?? 0;
  }

  since(seq: number, q: SinceQuery, access: Access): SinceResult {
    const from = checkSeq(seq);
    const limit = checkLimit(q.limit);
    if (
      q.kinds !== undefined &&
      !(Array.isArray(q.kinds) && q.kinds.every((k) => typeof k === 'string'))
    ) {
      throw new QueryError('kinds', 'must be a list of kind names');
    }
    if (q.namespace !== undefined && typeof q.namespace !== 'string') {
      throw new QueryError('namespace', 'must be a string');
    }
    const can = memoAccess(access);
    const withEvents = q.kinds === undefined || q.kinds.includes('Event');
    const stmt = withEvents ? this.s.log : this.s.versionsOnly;
    const hi = Math.min(from + SINCE_SPAN, this.s.head.get()?.seq ?? 0);
    const items: SinceItem[] = [];
    const objects = new Map<number, ObjectRow | undefined>();
    const events = new Map<number, EventRow | undefined>();
    let lo = from;
    while (items.length < limit && lo < hi) {
      const want = limit - items.length;
      const rows = stmt.all({
        lo,
        hi,
        ns: q.namespace ?? null,
        kinds: q.kinds ? JSON.stringify(q.kinds) : null,
        n: want,
      });
      for (const [kind, seq, ref, group, resource, namespace] of rows) {
        if (!can({ group, resource, namespace })) continue;
        const item =
          kind === 0 ? this.versionItem(seq, ref, objects) : this.occurrenceItem(seq, ref, events);
        if (item) items.push(item);
      }
      const end = rows.at(-1);
      if (!end || rows.length < want) {
        lo = hi;
        break;
      }
      lo = end[1];
    }
    const result = items as SinceResult;
    result.next = items.length >= limit ? (items.at(-1) as SinceItem).seq : Math.max(from, lo);
    return result;
  }

  private versionItem(
    seq: number,
    objectId: number,
    cache: Map<number, ObjectRow | undefined>,
  ): SinceItem | null {
    const v = this.s.version.get(seq);
    if (!cache.has(objectId)) cache.set(objectId, this.s.object.get(objectId));
    const o = cache.get(objectId);
    if (!v || !o) return null;
    return {
      kind: 'version',
      seq,
      time: v.time,
      object: this.l.summary(o),
      version: toVersionSummary(v),
    };
  }

  private occurrenceItem(
    seq: number,
    eventId: number,
    cache: Map<number, EventRow | undefined>,
  ): SinceItem | null {
    const x = this.s.occurrence.get(seq);
    if (!cache.has(eventId)) cache.set(eventId, this.s.event.get(eventId));
    const e = cache.get(eventId);
    if (!x || !e) return null;
    return { kind: 'occurrence', seq, time: x.time, event: toEventSummary(e, [x]) };
  }
}
