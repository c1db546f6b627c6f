// Which objects of a namespace were alive at some point in a window, without visiting every
// object the namespace ever had. Alive in [from, to] means created at or before `to` and not
// deleted before `from`. "Deleted at or after `from`" alone is unbounded for a window in the
// past (every later deletion matches), so the objects_by_lifespan index (migration 2) groups
// objects by how long they lived: a class whose lifespans are all shorter than L can only
// contribute objects deleted in [from, to + L), a bounded range of its index. Alive objects have
// a class of their own; objects whose start is unknown are scanned from `from` on (there are
// few: every Kubernetes object has a creationTimestamp).
import type { Db } from '../db.ts';
import { SLIM_COLUMNS, type SlimRow } from './rows.ts';

/** Upper bounds (exclusive, ms) of the lifespan classes 1..8; class 98 is longer, 99 unknown. */
export const LIFESPAN_BOUNDS: readonly number[] = [
  60_000, // 1 min
  300_000, // 5 min
  1_800_000, // 30 min
  7_200_000, // 2 h
  28_800_000, // 8 h
  86_400_000, // 1 d
  345_600_000, // 4 d
  1_382_400_000, // 16 d
];

/**
 * The indexed expression, exactly as migration 2 declares it: SQLite uses an expression index
 * only for the same expression (a unit test checks the query plans).
 */
export const LIFESPAN_CLASS = `(CASE WHEN deleted_at IS NULL THEN 0 WHEN created_at IS NULL THEN 99
  ${LIFESPAN_BOUNDS.map((b, i) => `WHEN deleted_at - created_at < ${b} THEN ${i + 1}`).join(' ')}
  ELSE 98 END)`;

export interface AliveFilter {
  /** Only these kinds (all when undefined). */
  kinds?: readonly string[];
  group?: string;
  /** Only objects not deleted now. */
  aliveOnly?: boolean;
  /**
   * Only these resources, as a JSON array of [group, resource] (readableResources): the
   * caller's access applied while reading the index, so hidden rows never leave SQLite.
   */
  resources?: string;
}

function sqlFor(f: AliveFilter): string {
  const extra: string[] = [];
  if (f.kinds) extra.push('kind IN (SELECT value FROM json_each(@kinds))');
  if (f.group !== undefined) extra.push('api_group = @group');
  if (f.resources !== undefined) {
    extra.push(
      '(api_group, resource) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@resources))',
    );
  }
  const and = extra.map((e) => ` AND ${e}`).join('');
  // INDEXED BY: the plan must not depend on the planner's guesses (and fails loudly otherwise).
  const select = `SELECT ${SLIM_COLUMNS} FROM objects INDEXED BY objects_by_lifespan WHERE namespace = @ns`;
  const parts = [
    `${select} AND ${LIFESPAN_CLASS} = 0 AND (created_at IS NULL OR created_at <= @to)${and}`,
  ];
  if (!f.aliveOnly) {
    LIFESPAN_BOUNDS.forEach((bound, i) => {
      parts.push(
        `${select} AND ${LIFESPAN_CLASS} = ${i + 1} AND deleted_at >= @from AND deleted_at < @to + ${bound} AND created_at <= @to${and}`,
      );
    });
    parts.push(
      `${select} AND ${LIFESPAN_CLASS} = 98 AND deleted_at >= @from AND created_at <= @to${and}`,
    );
    parts.push(`${select} AND ${LIFESPAN_CLASS} = 99 AND deleted_at >= @from${and}`);
  }
  return parts.join('\nUNION ALL\n');
}

export class AliveObjects {
  private readonly db: Db;
  private readonly cache = new Map<string, ReturnType<Db['prepare']>>();

  constructor(db: Db) {
    this.db = db;
  }

  /** The SQL for a filter (exported for the query-plan test). */
  static sql(f: AliveFilter): string {
    return sqlFor(f);
  }

  /**
   * Objects of `namespace` alive at some point in [from, to], unordered, read from the index
   * alone. For the state at an instant t, pass from = t + 1 and to = t (created by t, deleted
   * after it).
   */
  list(namespace: string, from: number, to: number, f: AliveFilter = {}): SlimRow[] {
    const key = `${f.kinds ? 'k' : ''}${f.group !== undefined ? 'g' : ''}${f.aliveOnly ? 'a' : ''}${f.resources !== undefined ? 'r' : ''}`;
    let stmt = this.cache.get(key);
    if (!stmt) {
      stmt = this.db.prepare(sqlFor(f));
      this.cache.set(key, stmt);
    }
    const params: Record<string, unknown> = { ns: namespace, to };
    if (!f.aliveOnly) params.from = from;
    if (f.kinds) params.kinds = JSON.stringify(f.kinds);
    if (f.group !== undefined) params.group = f.group;
    if (f.resources !== undefined) params.resources = f.resources;
    return stmt.all(params) as SlimRow[];
  }
}
