// Retention: removes history past each change's keep-until time, and the oldest history while the
// volume is over its byte budget. It works in small transactions and yields between them, so
// recording never waits for more than one chunk. The latest version of an object that still
// exists is always kept (it is the object's state throughout the window), and the first version
// left of an object is turned into a full snapshot so every remaining version can be rebuilt.
import { encodeJson } from '../recorder/codec.ts';
import { usedBytes, type Db } from './db.ts';
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
  /** Bytes on the volume the budget also covers besides the database: a backup being sent. */
  reservedBytes?: () => number;
  /** Gaps older than this are removed. */
  gapMaxAgeMs: number;
  /**
   * How long past its retention a record a Sink has not delivered is kept for it; null keeps it
   * until the byte budget needs the room. Records removed before delivery are noted per Sink.
   */
  sinkMaxHoldMs?: number | null;
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
    this.o = {
      chunk: 500,
      yieldFn: () => new Promise((r) => setImmediate(r)),
      sinkMaxHoldMs: null,
      reservedBytes: () => 0,
      ...opts,
    };
    const keepHead = 'NOT (o.deleted_at IS NULL AND v.seq = o.last_seq)';
    this.s = {
      // Past its keep-until time, unless a Sink has yet to deliver it and the hold has not
      // run out (@held is the lowest Sink cursor, @cap the keep-until time the hold ends at).
      expiredVersions: db.prepare<Record<string, number>, Victims[number]>(
        `SELECT v.seq, v.object_id FROM versions v JOIN objects o ON o.id = v.object_id
         WHERE v.keep_until < @now AND (v.seq <= @held OR v.keep_until < @cap) AND ${keepHead}
         ORDER BY v.seq LIMIT @n`,
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
      expiredOccurrences: db.prepare<Record<string, number>, { seq: number; event_id: number }>(
        `SELECT seq, event_id FROM event_occurrences
         WHERE keep_until < @now AND (seq <= @held OR keep_until < @cap) ORDER BY seq LIMIT @n`,
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
      expiredGaps: db.prepare<Record<string, number>, { seq: number | null }>(
        `SELECT seq FROM gaps WHERE end < @now AND (seq IS NULL OR seq <= @held OR end < @cap)`,
      ),
      deleteGaps: db.prepare(
        'DELETE FROM gaps WHERE end < @now AND (seq IS NULL OR seq <= @held OR end < @cap)',
      ),
      deleteRollouts: db.prepare(
        `DELETE FROM rollouts WHERE ended IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM objects o JOIN versions v ON v.object_id = o.id
           WHERE o.uid = rollouts.uid AND v.seq >= rollouts.start_seq AND v.seq <= rollouts.end_seq)`,
      ),
      held: db.prepare<[], { seq: number | null }>(
        'SELECT min(acked_seq) AS seq FROM sink_cursors',
      ),
      behind: db.prepare<[number], { sink_uid: string; acked_seq: number }>(
        'SELECT sink_uid, acked_seq FROM sink_cursors WHERE acked_seq < ?',
      ),
      lastLoss: db.prepare<[string], { id: number; reason: string; time: number }>(
        'SELECT id, reason, time FROM sink_losses WHERE sink_uid = ? ORDER BY id DESC LIMIT 1',
      ),
      extendLoss: db.prepare(
        `UPDATE sink_losses SET from_seq = min(from_seq, @from), to_seq = max(to_seq, @to),
           records = records + @records WHERE id = @id`,
      ),
      insertLoss: db.prepare(
        `INSERT INTO sink_losses (sink_uid, from_seq, to_seq, records, reason, time)
         VALUES (@uid, @from, @to, @records, @reason, @time)`,
      ),
    };
  }

  /** Bytes of the database in use (pages not on the free list). */
  usedBytes(): number {
    return usedBytes(this.db);
  }

  /**
   * Notes, for each Sink whose cursor is behind them, the records about to be removed that it
   * has not delivered: one range per Sink, reason and run (`time`). Inside the transaction that
   * removes them.
   */
  private noteLosses(seqs: readonly number[], reason: string, time: number): void {
    if (seqs.length === 0) return;
    const max = Math.max(...seqs);
    for (const c of this.s.behind.all(max)) {
      const lost = seqs.filter((s) => s > c.acked_seq);
      if (lost.length === 0) continue;
      const range = {
        from: Math.min(...lost),
        to: Math.max(...lost),
        records: lost.length,
      };
      const last = this.s.lastLoss.get(c.sink_uid);
      if (last && last.reason === reason && last.time === time)
        this.s.extendLoss.run({ id: last.id, ...range });
      else this.s.insertLoss.run({ uid: c.sink_uid, reason, time, ...range });
    }
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

    // By age, holding what Sinks have not delivered.
    const hold = this.o.sinkMaxHoldMs;
    const age = () => ({
      now,
      held: this.s.held.get()?.seq ?? Number.MAX_SAFE_INTEGER,
      cap: hold === null ? -Number.MAX_SAFE_INTEGER : now - hold,
      n: this.o.chunk,
    });
    for (;;) {
      const n = tx(() => {
        const p = age();
        const versions = this.s.expiredVersions.all(p);
        const occurrences = this.s.expiredOccurrences.all(p);
        this.noteLosses(
          [...versions.map((v) => v.seq), ...occurrences.map((o) => o.seq)],
          'retention',
          now,
        );
        const v = this.removeVersions(versions);
        const o = this.removeOccurrences(occurrences);
        add(v, o);
        return v[0] + o[0];
      });
      if (n === 0) break;
      await this.o.yieldFn();
    }
    r.gaps = tx(() => {
      const p = { ...age(), now: now - this.o.gapMaxAgeMs };
      delete (p as { n?: number }).n;
      const seqs = this.s.expiredGaps.all(p).flatMap((g) => (g.seq === null ? [] : [g.seq]));
      this.noteLosses(seqs, 'retention', now);
      return this.s.deleteGaps.run(p).changes;
    });
    this.vacuum();

    // By bytes, oldest first, versions and occurrences interleaved by time.
    const budget = this.o.maxBytes;
    if (budget !== null) {
      const target = Math.floor(budget * 0.9) - this.o.reservedBytes();
      while (this.usedBytes() > target) {
        const n = tx(() => {
          const tv = this.s.oldestVersionTime.get()?.t ?? null;
          const to = this.s.oldestOccurrenceTime.get()?.t ?? null;
          if (tv === null && to === null) return 0;
          if (to === null || (tv !== null && tv <= to)) {
            const victims = this.s.oldestVersions.all(this.o.chunk);
            this.noteLosses(
              victims.map((x) => x.seq),
              'disk-budget',
              now,
            );
            const v = this.removeVersions(victims);
            add(v, [0, 0]);
            return v[0];
          }
          const occurrences = this.s.oldestOccurrences.all(this.o.chunk);
          this.noteLosses(
            occurrences.map((x) => x.seq),
            'disk-budget',
            now,
          );
          const o = this.removeOccurrences(occurrences);
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
    // A rollout lives as long as some version of its window does (the workload's latest version
    // is always kept, so the rollout that made its current state stays).
    tx(() => this.s.deleteRollouts.run());
    r.usedBytes = this.usedBytes();
    return r;
  }

  /** Gives free pages back to the file system. */
  private vacuum(): void {
    this.db.pragma('incremental_vacuum');
  }
}
