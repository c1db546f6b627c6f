// Kubernetes Events with at least one occurrence in a window, most recently occurring first (by
// the time they last occurred, then id), each with its occurrences in the window.
//
// An Event occurred in [from, to] only if it first occurred by `to` and last occurred at or
// after `from`; the second alone is unbounded for a window in the past. As for objects'
// lifespans, the events_by_span indexes (migration 2) group Events by span (last occurrence
// minus first): within a class of spans shorter than L, the Events that occurred in the window
// last occurred in [from, to + L). A page reads each class in index order, newest first, and
// merges them: its cost depends on the page size, not on where the window lies.
import type { Db } from '../db.ts';
import {
  checkLimit,
  checkWindow,
  decodeCursor,
  encodeCursor,
  memoAccess,
  SCAN_BUDGET,
} from './params.ts';
import { EVENT_COLUMNS, eventScope, toEventSummary, type EventRow } from './rows.ts';
import {
  QueryError,
  type Access,
  type EventsQuery,
  type EventSummary,
  type Page,
  type Window,
} from './types.ts';

/** Upper bounds (exclusive, ms) of the span classes 1..6; class 98 is longer. */
export const EVENT_SPAN_BOUNDS: readonly number[] = [
  60_000, // 1 min
  600_000, // 10 min
  3_600_000, // 1 h
  21_600_000, // 6 h
  86_400_000, // 1 d
  345_600_000, // 4 d
];

/** The indexed expression, exactly as migration 2 declares it. */
export const EVENT_SPAN_CLASS = `(CASE ${EVENT_SPAN_BOUNDS.map(
  (b, i) => `WHEN last_time - first_time < ${b} THEN ${i + 1}`,
).join(' ')} ELSE 98 END)`;

const CURSOR_TAG = 'e';
const MAX = Number.MAX_SAFE_INTEGER;
/** Events of one involved object read at once (they are few; this only bounds a pathology). */
const MAX_INVOLVED = 10_000;

type Occurrence = EventSummary['occurrences'][number];

/** One page of candidates, newest first, merged from every span class (exported for tests). */
export function eventPageSql(namespaced: boolean): string {
  const ns = namespaced ? 'namespace = @ns AND ' : '';
  // Without statistics the planner would rather walk events_by_namespace, whose range is
  // unbounded here; INDEXED BY also fails loudly should the index ever not apply.
  const index = namespaced ? 'events_by_span' : 'events_by_span_time';
  const arm = (cls: number, upper: string) =>
    `SELECT * FROM (SELECT ${EVENT_COLUMNS} FROM events INDEXED BY ${index}
      WHERE ${ns}${EVENT_SPAN_CLASS} = ${cls}
      AND last_time >= @from${upper} AND first_time <= @to AND (last_time, id) < (@beforeTime, @beforeId)
      ORDER BY last_time DESC, id DESC LIMIT @n)`;
  const arms = EVENT_SPAN_BOUNDS.map((b, i) => arm(i + 1, ` AND last_time < @to + ${b}`));
  arms.push(arm(98, ''));
  return `${arms.join('\nUNION ALL\n')}\nORDER BY last_time DESC, id DESC LIMIT @n`;
}

/**
 * Every occurrence in [@from, @to] of the Events of namespace @ns, with the Event's involved
 * object and type: contiguous ranges of events_by_span, so the cost follows the window's
 * activity wherever the window lies (the timeline's heatmap). Most Events happen once (first
 * and last occurrence the same): their time and count are on the Event row, no join needed.
 */
export function namespaceOccurrencesSql(): string {
  const where = (cls: number, upper: string) =>
    `e.namespace = @ns AND ${EVENT_SPAN_CLASS} = ${cls} AND e.last_time >= @from${upper}`;
  const joined = (cls: number, upper: string) =>
    `SELECT e.involved_uid, e.type, o.time, o.count FROM events e INDEXED BY events_by_span
      CROSS JOIN event_occurrences o ON o.event_id = e.id
      WHERE ${where(cls, upper)} AND e.first_time <= @to AND e.first_time < e.last_time
        AND o.time >= @from AND o.time <= @to`;
  const once = `SELECT e.involved_uid, e.type, e.last_time, e.count FROM events e INDEXED BY events_by_span
      WHERE ${where(1, ` AND e.last_time <= @to`)} AND e.first_time = e.last_time`;
  const arms = EVENT_SPAN_BOUNDS.map((b, i) => joined(i + 1, ` AND e.last_time < @to + ${b}`));
  arms.push(joined(98, ''), once);
  return arms.join('\nUNION ALL\n');
}

export class Events {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      all: db.prepare<Record<string, unknown>, EventRow>(eventPageSql(false)),
      inNamespace: db.prepare<Record<string, unknown>, EventRow>(eventPageSql(true)),
      involving: db.prepare<[string, number, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE involved_uid = ? AND last_time >= ? AND first_time <= ?
         LIMIT ?`,
      ),
      occurrences: db.prepare<[number, number, number], Occurrence>(
        `SELECT seq, time, count FROM event_occurrences WHERE event_id = ? AND time >= ? AND time <= ?
         ORDER BY seq`,
      ),
    };
  }

  /** Occurrences of an Event in a window, oldest first. */
  occurrencesIn(eventId: number, w: Window): Occurrence[] {
    return this.s.occurrences.all(eventId, w.from, w.to);
  }

  events(q: EventsQuery, access: Access): Page<EventSummary> {
    const limit = checkLimit(q.limit);
    const w = checkWindow(q.window);
    for (const field of ['namespace', 'involvedUid', 'reason', 'type'] as const) {
      const v = q[field];
      if (v !== undefined && typeof v !== 'string') throw new QueryError(field, 'must be a string');
    }
    let [beforeTime, beforeId] = q.cursor
      ? decodeCursor<[number, number]>(q.cursor, CURSOR_TAG, ['number', 'number'])
      : [MAX, MAX];
    const can = memoAccess(access);
    if (access.readsNothing) return { items: [], next: null };
    const items: { e: EventRow; occ: Occurrence[] }[] = [];
    let examined = 0;
    let last: EventRow | null = null;
    /** Takes a candidate; true when the page is full or over budget. */
    const consider = (e: EventRow): boolean => {
      examined++;
      last = e;
      if (
        (q.namespace === undefined || e.namespace === q.namespace) &&
        (q.reason === undefined || e.reason === q.reason) &&
        (q.type === undefined || e.type === q.type) &&
        can(eventScope(e.namespace))
      ) {
        const occ = this.occurrencesIn(e.id, w);
        if (occ.length) items.push({ e, occ });
      }
      return items.length > limit || examined >= SCAN_BUDGET;
    };

    let stopped = false;
    if (q.involvedUid !== undefined) {
      const rows = this.s.involving.all(q.involvedUid, w.from, w.to, MAX_INVOLVED);
      rows.sort((a, b) => b.last_time - a.last_time || b.id - a.id);
      for (const e of rows) {
        if (e.last_time > beforeTime || (e.last_time === beforeTime && e.id >= beforeId)) continue;
        if ((stopped = consider(e))) break;
      }
    } else {
      const n = Math.min(limit + 1, 200);
      for (;;) {
        const params = { ns: q.namespace, from: w.from, to: w.to, beforeTime, beforeId, n };
        if (q.namespace === undefined) delete params.ns;
        const rows = (q.namespace === undefined ? this.s.all : this.s.inNamespace).all(params);
        for (const e of rows) if ((stopped = consider(e))) break;
        const end = rows.at(-1);
        if (stopped || !end || rows.length < n) break;
        [beforeTime, beforeId] = [end.last_time, end.id];
      }
    }
    const more = items.length > limit;
    const page = items.slice(0, limit);
    const lastItem = page.at(-1);
    let next: string | null = null;
    if (more && lastItem) next = encodeCursor(CURSOR_TAG, [lastItem.e.last_time, lastItem.e.id]);
    else if (stopped && last) {
      const { last_time, id } = last as EventRow;
      next = encodeCursor(CURSOR_TAG, [last_time, id]);
    }
    return { items: page.map(({ e, occ }) => toEventSummary(e, occ)), next };
  }
}
