// Read queries over recorded history. Readers use their own connection: WAL lets them read a
// consistent snapshot while the recorder writes.
import { applyPatch, type PatchOp } from '../recorder/diff.ts';
import { decodeJson } from '../recorder/codec.ts';
import type { Db } from './db.ts';
import { OBJECT_COLUMNS, type ObjectRow } from './queries/rows.ts';
import { BODY_SNAPSHOT, type PolicyCounts, type VersionType } from './writer.ts';

export type { ObjectRow };

export interface VersionRow {
  seq: number;
  object_id: number;
  rv: string;
  time: number;
  type: VersionType;
  inferred: number;
  actor: string | null;
  paths: string | null;
  body_kind: number;
}

export interface EventWithOccurrences {
  uid: string;
  namespace: string;
  name: string;
  involved_kind: string | null;
  involved_name: string | null;
  involved_uid: string | null;
  reason: string | null;
  type: string | null;
  message: string | null;
  count: number;
  occurrences: { seq: number; time: number; count: number }[];
}

export interface GapRow {
  watch: string;
  api_group: string;
  resource: string;
  namespace: string;
  start: number;
  end: number;
  reason: string;
}

/** `column = ?` conditions for the filter values that are set. */
function equalities(filter: Record<string, string | undefined>): {
  where: string[];
  args: string[];
} {
  const set = Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined);
  return { where: set.map(([column]) => `${column} = ?`), args: set.map(([, value]) => value) };
}

export class HistoryReader {
  readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  policyCounts(policy: string): PolicyCounts {
    const r = this.db
      .prepare<
        [string],
        {
          changes: number;
          events: number;
          excluded: number;
          rule_errors: number;
          last_recorded: number | null;
        }
      >(
        'SELECT changes, events, excluded, rule_errors, last_recorded FROM policy_stats WHERE policy = ?',
      )
      .get(policy);
    return r
      ? {
          changes: r.changes,
          events: r.events,
          excluded: r.excluded,
          ruleErrors: r.rule_errors,
          lastRecorded: r.last_recorded,
        }
      : { changes: 0, events: 0, excluded: 0, ruleErrors: 0, lastRecorded: null };
  }

  /** Alive recorded objects of a resource, in the given namespaces or everywhere. */
  countAlive(group: string, resource: string, namespaces: ReadonlySet<string> | null): number {
    if (namespaces === null) {
      return (
        this.db
          .prepare<[string, string], { n: number }>(
            'SELECT count(*) AS n FROM objects WHERE api_group = ? AND resource = ? AND deleted_at IS NULL',
          )
          .get(group, resource)?.n ?? 0
      );
    }
    const stmt = this.db.prepare<[string, string, string], { n: number }>(
      'SELECT count(*) AS n FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND deleted_at IS NULL',
    );
    let n = 0;
    for (const ns of namespaces) n += stmt.get(group, resource, ns)?.n ?? 0;
    return n;
  }

  /** Objects by kind, namespace and name (every lifetime, deleted ones included), oldest first. */
  objects(filter: { kind?: string; namespace?: string; name?: string }): ObjectRow[] {
    const { where, args } = equalities({
      kind: filter.kind,
      namespace: filter.namespace,
      name: filter.name,
    });
    const sql = `SELECT ${OBJECT_COLUMNS} FROM objects ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return this.db.prepare<string[], ObjectRow>(sql).all(...args);
  }

  object(uid: string): ObjectRow | undefined {
    return this.db
      .prepare<[string], ObjectRow>(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE uid = ?`)
      .get(uid);
  }

  versions(objectId: number): VersionRow[] {
    return this.db
      .prepare<[number], VersionRow>(
        'SELECT seq, object_id, rv, time, type, inferred, actor, paths, body_kind FROM versions WHERE object_id = ? ORDER BY seq',
      )
      .all(objectId);
  }

  /** The object's body as recorded at version `seq`, rebuilt from the last snapshot and patches. */
  bodyAt(objectId: number, seq: number): unknown {
    const rows = this.db
      .prepare<[number, number, number, number], { seq: number; body_kind: number; body: Buffer }>(
        `SELECT seq, body_kind, body FROM versions
         WHERE object_id = ? AND seq <= ? AND seq >= coalesce(
           (SELECT max(seq) FROM versions WHERE object_id = ? AND seq <= ? AND body_kind = 0), 0)
         ORDER BY seq`,
      )
      .all(objectId, seq, objectId, seq);
    const first = rows[0];
    if (!first || first.body_kind !== BODY_SNAPSHOT) {
      throw new Error(`version ${seq} of object ${objectId} has no snapshot to rebuild from`);
    }
    let doc = decodeJson(first.body);
    for (const r of rows.slice(1)) doc = applyPatch(doc, decodeJson(r.body) as PatchOp[]);
    return doc;
  }

  events(filter: { namespace?: string; involvedUid?: string } = {}): EventWithOccurrences[] {
    const { where, args } = equalities({
      namespace: filter.namespace,
      involved_uid: filter.involvedUid,
    });
    const events = this.db
      .prepare<string[], Omit<EventWithOccurrences, 'occurrences'> & { id: number }>(
        `SELECT id, uid, namespace, name, involved_kind, involved_name, involved_uid, reason, type, message, count
         FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY first_time, id`,
      )
      .all(...args);
    const occ = this.db.prepare<[number], { seq: number; time: number; count: number }>(
      'SELECT seq, time, count FROM event_occurrences WHERE event_id = ? ORDER BY seq',
    );
    return events.map(({ id, ...e }) => ({ ...e, occurrences: occ.all(id) }));
  }

  gaps(): GapRow[] {
    return this.db
      .prepare<[], GapRow>(
        'SELECT watch, api_group, resource, namespace, start, end, reason FROM gaps ORDER BY id',
      )
      .all();
  }

  checkpoints(): { watch: string; rv: string; time: number }[] {
    return this.db
      .prepare<[], { watch: string; rv: string; time: number }>(
        'SELECT watch, rv, time FROM checkpoints',
      )
      .all();
  }

  counts(): { objects: number; versions: number; events: number; occurrences: number } {
    const n = (table: string) =>
      this.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? 0;
    return {
      objects: n('objects'),
      versions: n('versions'),
      events: n('events'),
      occurrences: n('event_occurrences'),
    };
  }
}
