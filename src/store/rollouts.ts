// The rollouts table and what the derivation keeps beside it (migration 6): written by the
// rollout recorder on the writer's connection, read by the API's queries.
import type { Db } from './db.ts';

export type RolloutOutcome = 'in-progress' | 'complete' | 'failed' | 'superseded' | 'deleted';

export interface RolloutEvent {
  time: number;
  type: string;
  reason: string;
  object: string;
  message: string;
}

export interface Rollout {
  id: number;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  started: number;
  ended: number | null;
  outcome: RolloutOutcome;
  reason: string | null;
  message: string | null;
  oldRevision: string | null;
  newRevision: string | null;
  imagesBefore: string[];
  imagesAfter: string[];
  actor: string | null;
  startSeq: number;
  endSeq: number | null;
  problem: string | null;
  events: RolloutEvent[];
  pods: string[];
}

interface Row {
  id: number;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  started: number;
  ended: number | null;
  outcome: RolloutOutcome;
  reason: string | null;
  message: string | null;
  old_revision: string | null;
  new_revision: string | null;
  images_before: string;
  images_after: string;
  actor: string | null;
  start_seq: number;
  end_seq: number | null;
  problem: string | null;
  events: string;
  pods: string;
}

export function fromRow(r: Row): Rollout {
  return {
    id: r.id,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    uid: r.uid,
    generation: r.generation,
    started: r.started,
    ended: r.ended,
    outcome: r.outcome,
    reason: r.reason,
    message: r.message,
    oldRevision: r.old_revision,
    newRevision: r.new_revision,
    imagesBefore: JSON.parse(r.images_before) as string[],
    imagesAfter: JSON.parse(r.images_after) as string[],
    actor: r.actor,
    startSeq: r.start_seq,
    endSeq: r.end_seq,
    problem: r.problem,
    events: JSON.parse(r.events) as RolloutEvent[],
    pods: JSON.parse(r.pods) as string[],
  };
}

export interface TrackedObject {
  uid: string;
  workloadUid: string;
  generation: number | null;
  revision: string | null;
  images: string[] | null;
  created: number | null;
}

export class RolloutStore {
  private readonly db: Db;
  private readonly s;

  constructor(db: Db) {
    this.db = db;
    this.s = {
      cursor: db.prepare<[], { seq: number }>('SELECT seq FROM rollout_cursor WHERE id = 1'),
      setCursor: db.prepare('UPDATE rollout_cursor SET seq = ? WHERE id = 1'),
      open: db.prepare<[string], Row>(
        'SELECT * FROM rollouts WHERE uid = ? AND ended IS NULL ORDER BY id DESC LIMIT 1',
      ),
      byId: db.prepare<[number], Row>('SELECT * FROM rollouts WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO rollouts (kind, namespace, name, uid, generation, started, outcome,
           old_revision, new_revision, images_before, images_after, actor, start_seq)
         VALUES (@kind, @namespace, @name, @uid, @generation, @started, 'in-progress',
           @oldRevision, @newRevision, @imagesBefore, @imagesAfter, @actor, @startSeq)`,
      ),
      update: db.prepare(
        `UPDATE rollouts SET ended = @ended, outcome = @outcome, reason = @reason,
           message = @message, new_revision = @newRevision, images_after = @imagesAfter,
           end_seq = @endSeq, problem = @problem, events = @events, pods = @pods
         WHERE id = @id`,
      ),
      object: db.prepare<
        [string],
        {
          uid: string;
          workload_uid: string;
          generation: number | null;
          revision: string | null;
          images: string | null;
          created: number | null;
        }
      >('SELECT * FROM rollout_objects WHERE uid = ?'),
      putObject: db.prepare(
        `INSERT INTO rollout_objects (uid, workload_uid, generation, revision, images, created)
         VALUES (@uid, @workloadUid, @generation, @revision, @images, @created)
         ON CONFLICT (uid) DO UPDATE SET workload_uid = excluded.workload_uid,
           generation = excluded.generation, revision = excluded.revision,
           images = excluded.images, created = coalesce(rollout_objects.created, excluded.created)`,
      ),
      deleteObject: db.prepare('DELETE FROM rollout_objects WHERE uid = ?'),
    };
  }

  cursor(): number {
    return this.s.cursor.get()?.seq ?? 0;
  }

  /** Runs `f` and moves the cursor to `seq` in one transaction. */
  advance(seq: number, f: () => void): void {
    this.db.transaction(() => {
      f();
      this.s.setCursor.run(seq);
    })();
  }

  open(uid: string): Rollout | undefined {
    const r = this.s.open.get(uid);
    return r ? fromRow(r) : undefined;
  }

  byId(id: number): Rollout | undefined {
    const r = this.s.byId.get(id);
    return r ? fromRow(r) : undefined;
  }

  insert(
    r: Omit<
      Rollout,
      'id' | 'ended' | 'outcome' | 'reason' | 'message' | 'endSeq' | 'problem' | 'events' | 'pods'
    >,
  ): void {
    this.s.insert.run({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      uid: r.uid,
      generation: r.generation,
      started: r.started,
      oldRevision: r.oldRevision,
      newRevision: r.newRevision,
      imagesBefore: JSON.stringify(r.imagesBefore),
      imagesAfter: JSON.stringify(r.imagesAfter),
      actor: r.actor,
      startSeq: r.startSeq,
    });
  }

  update(r: Rollout): void {
    this.s.update.run({
      id: r.id,
      ended: r.ended,
      outcome: r.outcome,
      reason: r.reason,
      message: r.message,
      newRevision: r.newRevision,
      imagesAfter: JSON.stringify(r.imagesAfter),
      endSeq: r.endSeq,
      problem: r.problem,
      events: JSON.stringify(r.events),
      pods: JSON.stringify(r.pods),
    });
  }

  object(uid: string): TrackedObject | undefined {
    const r = this.s.object.get(uid);
    if (!r) return undefined;
    return {
      uid: r.uid,
      workloadUid: r.workload_uid,
      generation: r.generation,
      revision: r.revision,
      images: r.images === null ? null : (JSON.parse(r.images) as string[]),
      created: r.created,
    };
  }

  putObject(o: TrackedObject): void {
    this.s.putObject.run({ ...o, images: o.images === null ? null : JSON.stringify(o.images) });
  }

  deleteObject(uid: string): void {
    this.s.deleteObject.run(uid);
  }
}
