// The Sinks' durable state in the history store: each Sink's cursor over the global sequence, the
// batch it is sending (planned and committed before it is sent), and the records retention
// removed before the Sink delivered them. Written on the writer's connection, in transactions
// small enough that the recorder never waits for long.
import type { Db } from './db.ts';

export interface SinkCursor {
  sinkUid: string;
  name: string;
  startFrom: string;
  ackedSeq: number;
  delivered: number;
  lastTime: number | null;
}

export interface PlannedBatch {
  afterSeq: number;
  endSeq: number;
  firstSeq: number;
  lastSeq: number;
  records: number;
  firstTime: number;
  /** The exact bytes to send again, for destinations that need them (webhook). */
  payload: Buffer | null;
  attempts: number;
  plannedAt: number;
}

export interface SinkLoss {
  id: number;
  fromSeq: number;
  toSeq: number;
  records: number;
  reason: string;
  time: number;
}

interface CursorRow {
  sink_uid: string;
  name: string;
  start_from: string;
  acked_seq: number;
  delivered: number;
  last_time: number | null;
}

interface BatchRow {
  after_seq: number;
  end_seq: number;
  first_seq: number;
  last_seq: number;
  records: number;
  first_time: number;
  payload: Buffer | null;
  attempts: number;
  planned_at: number;
}

function toCursor(r: CursorRow): SinkCursor {
  return {
    sinkUid: r.sink_uid,
    name: r.name,
    startFrom: r.start_from,
    ackedSeq: r.acked_seq,
    delivered: r.delivered,
    lastTime: r.last_time,
  };
}

export class SinkStore {
  private readonly db: Db;
  private readonly s;

  constructor(db: Db) {
    this.db = db;
    this.s = {
      cursor: db.prepare<[string], CursorRow>('SELECT * FROM sink_cursors WHERE sink_uid = ?'),
      cursors: db.prepare<[], CursorRow>('SELECT * FROM sink_cursors ORDER BY name'),
      upsertCursor: db.prepare(
        `INSERT INTO sink_cursors (sink_uid, name, start_from, acked_seq, delivered, last_time)
         VALUES (@uid, @name, @startFrom, @seq, 0, NULL)
         ON CONFLICT (sink_uid) DO UPDATE SET name = excluded.name, start_from = excluded.start_from,
           acked_seq = excluded.acked_seq, delivered = 0, last_time = NULL`,
      ),
      ack: db.prepare(
        `UPDATE sink_cursors SET acked_seq = max(acked_seq, @seq), delivered = delivered + @records,
           last_time = coalesce(@time, last_time) WHERE sink_uid = @uid`,
      ),
      batch: db.prepare<[string], BatchRow>('SELECT * FROM sink_batches WHERE sink_uid = ?'),
      plan: db.prepare(
        `INSERT INTO sink_batches (sink_uid, after_seq, end_seq, first_seq, last_seq, records,
           first_time, payload, attempts, planned_at)
         VALUES (@uid, @afterSeq, @endSeq, @firstSeq, @lastSeq, @records, @firstTime, @payload, 0, @plannedAt)`,
      ),
      attempt: db.prepare('UPDATE sink_batches SET attempts = attempts + 1 WHERE sink_uid = ?'),
      dropBatch: db.prepare('DELETE FROM sink_batches WHERE sink_uid = ?'),
      dropCursor: db.prepare('DELETE FROM sink_cursors WHERE sink_uid = ?'),
      dropLosses: db.prepare('DELETE FROM sink_losses WHERE sink_uid = ?'),
      losses: db.prepare<[string, number], SinkLoss>(
        `SELECT id, from_seq AS fromSeq, to_seq AS toSeq, records, reason, time FROM sink_losses
         WHERE sink_uid = ? AND id > ? ORDER BY id`,
      ),
      firstSeqFrom: db.prepare<[number, number, number], { seq: number | null }>(
        `SELECT min(coalesce((SELECT min(seq) FROM versions WHERE time >= ?), 9e18),
           coalesce((SELECT min(seq) FROM event_occurrences WHERE time >= ?), 9e18),
           coalesce((SELECT min(seq) FROM gaps WHERE seq IS NOT NULL AND end >= ?), 9e18)) AS seq`,
      ),
    };
  }

  cursor(uid: string): SinkCursor | undefined {
    const r = this.s.cursor.get(uid);
    return r ? toCursor(r) : undefined;
  }

  cursors(): SinkCursor[] {
    return this.s.cursors.all().map(toCursor);
  }

  /**
   * Positions a Sink at `seq` (records after it are exported), as its startFrom says; forgets
   * its batch, counts and losses. Creating and repositioning are the same.
   */
  position(uid: string, name: string, startFrom: string, seq: number): SinkCursor {
    this.db
      .transaction(() => {
        this.s.dropBatch.run(uid);
        this.s.dropLosses.run(uid);
        this.s.upsertCursor.run({ uid, name, startFrom, seq });
      })
      .immediate();
    return this.cursor(uid) as SinkCursor;
  }

  /** The position before the first record at or after `time` (ms), or `head` if none. */
  seqBefore(time: number, head: number): number {
    const first = this.s.firstSeqFrom.get(time, time, time)?.seq ?? null;
    return first === null || first >= 9e18 ? head : first - 1;
  }

  planned(uid: string): PlannedBatch | undefined {
    const r = this.s.batch.get(uid);
    if (!r) return undefined;
    return {
      afterSeq: r.after_seq,
      endSeq: r.end_seq,
      firstSeq: r.first_seq,
      lastSeq: r.last_seq,
      records: r.records,
      firstTime: r.first_time,
      payload: r.payload,
      attempts: r.attempts,
      plannedAt: r.planned_at,
    };
  }

  /** Commits a batch's plan before it is sent. */
  plan(uid: string, b: Omit<PlannedBatch, 'attempts'>): void {
    this.s.plan.run({ uid, ...b });
  }

  /** At most once: commits the plan and moves the cursor past it, before it is sent. */
  planAndAck(uid: string, b: Omit<PlannedBatch, 'attempts'>): void {
    this.db
      .transaction(() => {
        this.s.plan.run({ uid, ...b });
        this.s.ack.run({ uid, seq: b.endSeq, records: 0, time: null });
      })
      .immediate();
  }

  /** Counts an attempt to send the planned batch. */
  attempt(uid: string): void {
    this.s.attempt.run(uid);
  }

  /**
   * The planned batch is acknowledged (or, at most once, handed over): the cursor moves to its
   * end and the plan goes, in one transaction.
   */
  ack(uid: string, endSeq: number, records: number, time: number | null): void {
    this.db
      .transaction(() => {
        this.s.dropBatch.run(uid);
        this.s.ack.run({ uid, seq: endSeq, records, time });
      })
      .immediate();
  }

  /** Moves the cursor over a range with no record for this Sink. */
  skip(uid: string, endSeq: number): void {
    this.s.ack.run({ uid, seq: endSeq, records: 0, time: null });
  }

  /** Forgets a deleted Sink. */
  remove(uid: string): void {
    this.db
      .transaction(() => {
        this.s.dropBatch.run(uid);
        this.s.dropLosses.run(uid);
        this.s.dropCursor.run(uid);
      })
      .immediate();
  }

  /** Losses recorded after loss `afterId`, oldest first. */
  losses(uid: string, afterId = 0): SinkLoss[] {
    return this.s.losses.all(uid, afterId);
  }
}
