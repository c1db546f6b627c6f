// Retention: removes history past each change's keep-until time, and the oldest history while the
// volume is over its byte budget. It works in small transactions and yields between them, so
// recording never waits for more than one chunk. The latest version of an object that still
// exists is always kept (it is the object's state throughout the window), and the first version
// left of an object is turned into a full snapshot so every remaining version can be rebuilt.
import { encodeJson } from '../recorder/codec.ts';
import type { Db } from './db.ts';
import { HistoryReader } from './reader.ts';
import { BODY_PATCH, BODY_SNAPSHOT } from './writer.ts';

export interface RetentionResult {
  versions: number;
  occurrences: number;
  objects: number;
  events: number;
  gaps: number;
  /** Bytes in use after the run. */
  usedBytes: number;
  /** True when the byte budget could not be met without deleting what must stay. */
  budgetUnmet: boolean;
}

export interface RetentionOptions {
  /** Byte budget of the database file; null for none. */
  maxBytes: number | null;
  /** Gaps older than this are removed. */
  gapMaxAgeMs: number;
  chunk?: number;
  /** Yields between chunks so the recorder can commit. */
  yieldFn?: () => Promise<void>;
}

type Victims = { seq: number; object_id: number }[];

export class Retention {
  private readonly db: Db;
  private readonly reader: HistoryReader;
  private readonly o: Required<RetentionOptions>;
  private readonly s;

  constructor(db: Db, opts: RetentionOptions) {
    this.db = db;
    this.reader = new HistoryReader(db);
    this.o = { chunk: 500, yieldFn: () => new Promise((r) => setImmediate(r)), ...opts };
    const keepHead = 'NOT (o.deleted_at IS NULL AND v.seq = o.last_seq)';
    this.s = {
      expiredVersions: db.prepare<[number, number], Victims[number]>(
        `SELECT v.seq, v.object_id FROM versions v JOIN objects o ON o.id = v.object_id
         WHERE v.keep_until < ? AND ${keepHead} ORDER BY v.seq LIMIT ?`,
      ),
      oldestVersions: db.prepare<[number], Victims[number]>(
        `SELECT v.seq, v.object_id FROM versions v JOIN objects o ON o.id = v.object_id
         WHERE ${keepHead} ORDER BY v.seq LIMIT ?`,
      ),
      nextVersion: db.prepare<[number, number], { seq: number; body_kind: number }>(
        'SELECT seq, body_kind FROM versions WHERE object_id = ? AND seq > ? ORDER BY seq LIMIT 1',
      ),
      toSnapshot: db.prepare('UPDATE versions SET body_kind = ?, body = ? WHERE seq = ?'),
      deleteVersion: db.prepare('DELETE FROM versions WHERE seq = ?'),
      deleteEmptyObject: db.prepare(
        'DELETE FROM objects WHERE id = ? AND deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM versions WHERE object_id = ?)',
      ),
      expiredOccurrences: db.prepare<[number, number], { seq: number; event_id: number }>(
        'SELECT seq, event_id FROM event_occurrences WHERE keep_until < ? ORDER BY seq LIMIT ?',
      ),
      oldestOccurrences: db.prepare<[number], { seq: number; event_id: number }>(
        'SELECT seq, event_id FROM event_occurrences ORDER BY time, seq LIMIT ?',
      ),
      deleteOccurrence: db.prepare('DELETE FROM event_occurrences WHERE seq = ?'),
      deleteEmptyEvent: db.prepare(
        'DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM event_occurrences WHERE event_id = ?)',
      ),
      oldestVersionTime: db.prepare<[], { t: number | null }>(
        `SELECT min(v.time) AS t FROM versions v JOIN objects o ON o.id = v.object_id WHERE ${keepHead}`,
      ),
      oldestOccurrenceTime: db.prepare<[], { t: number | null }>(
        'SELECT min(time) AS t FROM event_occurrences',
      ),
      deleteGaps: db.prepare('DELETE FROM gaps WHERE end < ?'),
    };
  }

  /** Bytes of the database in use (pages not on the free list). */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Removes versions; returns [versions, objects] removed. Runs inside a transaction. */
  private removeVersions(victims: Victims): [number, number] {
    const lastByObject = new Map<number, number>();
    for (const v of victims)
      lastByObject.set(v.object_id, Math.max(lastByObject.get(v.object_id) ?? 0, v.seq));
    // Rebuild the first surviving version of each object as a snapshot before its base goes.
    for (const [objectId, last] of lastByObject) {
      const next = this.s.nextVersion.get(objectId, last);
      if (next && next.body_kind === BODY_PATCH) {
        this.s.toSnapshot.run(
          BODY_SNAPSHOT,
          encodeJson(this.reader.bodyAt(objectId, next.seq)),
          next.seq,
        );
      }
    }
    for (const v of victims) this.s.deleteVersion.run(v.seq);
    let objects = 0;
    for (const objectId of lastByObject.keys())
      objects += this.s.deleteEmptyObject.run(objectId, objectId).changes;
    return [victims.length, objects];
  }

  private removeOccurrences(victims: { seq: number; event_id: number }[]): [number, number] {
    for (const o of victims) this.s.deleteOccurrence.run(o.seq);
    let events = 0;
    for (const id of new Set(victims.map((o) => o.event_id)))
      events += this.s.deleteEmptyEvent.run(id, id).changes;
    return [victims.length, events];
  }

  async run(now: number): Promise<RetentionResult> {
    const r: RetentionResult = {
      versions: 0,
      occurrences: 0,
      objects: 0,
      events: 0,
      gaps: 0,
      usedBytes: 0,
      budgetUnmet: false,
    };
    const tx = <T>(fn: () => T): T => this.db.transaction(fn).immediate();
    const add = (v: [number, number], o: [number, number]) => {
      r.versions += v[0];
      r.objects += v[1];
      r.occurrences += o[0];
      r.events += o[1];
    };

    // By age.
    for (;;) {
      const n = tx(() => {
        const v = this.removeVersions(this.s.expiredVersions.all(now, this.o.chunk));
        const o = this.removeOccurrences(this.s.expiredOccurrences.all(now, this.o.chunk));
        add(v, o);
        return v[0] + o[0];
      });
      if (n === 0) break;
      await this.o.yieldFn();
    }
    r.gaps = tx(() => this.s.deleteGaps.run(now - this.o.gapMaxAgeMs).changes);
    this.vacuum();

    // By bytes, oldest first, versions and occurrences interleaved by time.
    const budget = this.o.maxBytes;
    if (budget !== null) {
      const target = Math.floor(budget * 0.9);
      while (this.usedBytes() > target) {
        const n = tx(() => {
          const tv = this.s.oldestVersionTime.get()?.t ?? null;
          const to = this.s.oldestOccurrenceTime.get()?.t ?? null;
          if (tv === null && to === null) return 0;
          if (to === null || (tv !== null && tv <= to)) {
            const v = this.removeVersions(this.s.oldestVersions.all(this.o.chunk));
            add(v, [0, 0]);
            return v[0];
          }
          const o = this.removeOccurrences(this.s.oldestOccurrences.all(this.o.chunk));
          add([0, 0], o);
          return o[0];
        });
        this.vacuum();
        if (n === 0) {
          r.budgetUnmet = true;
          break;
        }
        await this.o.yieldFn();
      }
    }
    r.usedBytes = this.usedBytes();
    return r;
  }

  /** Gives free pages back to the file system. */
  private vacuum(): void {
    this.db.pragma('incremental_vacuum');
  }
}
