// Point lookups every query shares: an object by uid, its version count, one version, the
// version as of an instant, and the body at a version (rebuilt from the last snapshot).
import { decodeJson } from '../../recorder/codec.ts';
import { applyPatch, type PatchOp } from '../../recorder/diff.ts';
import type { Db } from '../db.ts';
import { BODY_SNAPSHOT } from '../writer.ts';
import {
  OBJECT_COLUMNS,
  toObjectSummary,
  VERSION_COLUMNS,
  type ObjectRow,
  type SlimRow,
  type VersionRow,
} from './rows.ts';
import type { ObjectSummary } from './types.ts';

/** A stored version that cannot be rebuilt (a broken chain of patches). */
export class HistoryDataError extends Error {
  override name = 'HistoryDataError';
}

export class Lookups {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      objectByUid: db.prepare<[string], ObjectRow>(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE uid = ?`,
      ),
      objectById: db.prepare<[number], ObjectRow>(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE id = ?`,
      ),
      versionCount: db.prepare<[number], { n: number }>(
        'SELECT count(*) AS n FROM versions WHERE object_id = ?',
      ),
      versionBySeq: db.prepare<[number, number], VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM versions WHERE seq = ? AND object_id = ?`,
      ),
      // Walks the object's versions back from the newest; the time test is answered by the
      // index (versions_by_object_seq), the table is read once, for the row found.
      versionAt: db.prepare<[number, number], VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM versions WHERE object_id = ? AND time <= ?
         ORDER BY seq DESC LIMIT 1`,
      ),
      head: db.prepare<[number], { last_seq: number; last_body: Buffer }>(
        // The last state of an alive object is kept in heads; others rebuild from versions.
        "SELECT last_seq, coalesce((SELECT body FROM heads WHERE object_id = objects.id), x'') AS last_body FROM objects WHERE id = ?",
      ),
      firstNamespace: db.prepare<[string], { namespace: string }>(
        'SELECT namespace FROM objects WHERE namespace >= ? ORDER BY namespace LIMIT 1',
      ),
      nextNamespace: db.prepare<[string], { namespace: string }>(
        'SELECT namespace FROM objects WHERE namespace > ? ORDER BY namespace LIMIT 1',
      ),
      chainBack: db.prepare<[number, number], { seq: number; body_kind: number; body: Buffer }>(
        `SELECT seq, body_kind, body FROM versions WHERE object_id = ? AND seq <= ?
         ORDER BY seq DESC`,
      ),
    };
  }

  /**
   * Namespaces that have objects, in order from `start` on (only `only`, if given): one index
   * seek each, however many objects each has.
   */
  *namespaces(only: string | undefined, start: string): Generator<string> {
    if (only !== undefined) {
      if (only >= start) yield only;
      return;
    }
    let ns = this.s.firstNamespace.get(start)?.namespace;
    while (ns !== undefined) {
      yield ns;
      ns = this.s.nextNamespace.get(ns)?.namespace;
    }
  }

  objectByUid(uid: string): ObjectRow | undefined {
    return this.s.objectByUid.get(uid);
  }

  /** The whole row of an object listed from an index (`o` itself when it is whole already). */
  full(o: SlimRow | ObjectRow): ObjectRow {
    if ('labels' in o) return o;
    const row = this.s.objectById.get(o.id);
    if (!row) throw new HistoryDataError(`object ${o.id} vanished during a read transaction`);
    return row;
  }

  versionCount(objectId: number): number {
    return this.s.versionCount.get(objectId)?.n ?? 0;
  }

  summary(o: SlimRow | ObjectRow): ObjectSummary {
    return toObjectSummary(this.full(o), this.versionCount(o.id));
  }

  versionBySeq(objectId: number, seq: number): VersionRow | undefined {
    return this.s.versionBySeq.get(seq, objectId);
  }

  /** The latest version recorded at or before `time`. */
  versionAt(objectId: number, time: number): VersionRow | undefined {
    return this.s.versionAt.get(objectId, time);
  }

  /**
   * The object as recorded at version `seq`: the head row when it is the latest, else the last
   * snapshot at or before it with the patches up to it applied.
   */
  bodyAt(objectId: number, seq: number): unknown {
    const head = this.s.head.get(objectId);
    // A deleted object keeps no last state (an empty body): rebuild it from its versions.
    if (head?.last_seq === seq && head.last_body.length > 0) return decodeJson(head.last_body);
    const chain: { body_kind: number; body: Buffer }[] = [];
    for (const row of this.s.chainBack.iterate(objectId, seq)) {
      chain.push(row);
      if (row.body_kind === BODY_SNAPSHOT) break;
    }
    const base = chain.pop();
    if (!base || base.body_kind !== BODY_SNAPSHOT) {
      throw new HistoryDataError(
        `version ${seq} of object ${objectId} cannot be rebuilt: no snapshot at or before it`,
      );
    }
    let doc = decodeJson(base.body);
    for (let i = chain.length - 1; i >= 0; i--) {
      doc = applyPatch(doc, decodeJson((chain[i] as { body: Buffer }).body) as PatchOp[]);
    }
    return doc;
  }
}
