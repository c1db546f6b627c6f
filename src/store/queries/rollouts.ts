// Rollouts as the API lists them: by namespace, kind, name, window and outcome, newest first,
// only those of workloads the caller may read (the workload's own resource in its namespace).
import type { Db } from '../db.ts';
import { fromRow, type Rollout } from '../rollouts.ts';
import {
  checkLimit,
  checkWindow,
  decodeCursor,
  encodeCursor,
  memoAccess,
  SCAN_BUDGET,
} from './params.ts';
import { QueryError, type Access, type Page, type Scope, type Window } from './types.ts';

export interface RolloutsQuery {
  namespace?: string;
  kind?: string;
  name?: string;
  /** Rollouts that started in the window. */
  window: Window;
  outcome?: string;
  limit: number;
  cursor?: string;
}

export const ROLLOUT_OUTCOMES = ['in-progress', 'complete', 'failed', 'superseded', 'deleted'];

/** The resource each rollout's kind is read as, for access. */
export const ROLLOUT_RESOURCES: Record<string, { group: string; resource: string }> = {
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  Job: { group: 'batch', resource: 'jobs' },
};

const CURSOR_TAG = 'ro';
const MAX = Number.MAX_SAFE_INTEGER;

type Row = Parameters<typeof fromRow>[0];

export class Rollouts {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      page: db.prepare<Record<string, number | string | null>, Row>(
        `SELECT * FROM rollouts
         WHERE (started < @beforeStarted OR (started = @beforeStarted AND id < @beforeId))
           AND started >= @from AND started <= @to
           AND (@namespace IS NULL OR namespace = @namespace)
           AND (@kind IS NULL OR kind = @kind)
           AND (@name IS NULL OR name = @name)
           AND (@outcome IS NULL OR outcome = @outcome)
         ORDER BY started DESC, id DESC LIMIT @n`,
      ),
      one: db.prepare<[number], Row>('SELECT * FROM rollouts WHERE id = ?'),
    };
  }

  list(q: RolloutsQuery, access: Access): Page<Rollout> {
    const limit = checkLimit(q.limit);
    const w = checkWindow(q.window);
    if (q.outcome !== undefined && !ROLLOUT_OUTCOMES.includes(q.outcome)) {
      throw new QueryError('outcome', `must be one of ${ROLLOUT_OUTCOMES.join(', ')}`);
    }
    if (q.kind !== undefined && !ROLLOUT_RESOURCES[q.kind]) {
      throw new QueryError('kind', `must be one of ${Object.keys(ROLLOUT_RESOURCES).join(', ')}`);
    }
    let [beforeStarted, beforeId] = q.cursor
      ? decodeCursor<[number, number]>(q.cursor, CURSOR_TAG, ['number', 'number'])
      : [MAX, MAX];
    const can = memoAccess(access);
    if (access.readsNothing) return { items: [], next: null };
    const items: Rollout[] = [];
    let examined = 0;
    for (;;) {
      const rows = this.s.page.all({
        beforeStarted,
        beforeId,
        from: w.from,
        to: w.to,
        namespace: q.namespace ?? null,
        kind: q.kind ?? null,
        name: q.name ?? null,
        outcome: q.outcome ?? null,
        n: 500,
      });
      for (const r of rows) {
        examined++;
        beforeStarted = r.started;
        beforeId = r.id;
        if (readable(r, can)) items.push(fromRow(r));
        if (items.length === limit) {
          return { items, next: encodeCursor(CURSOR_TAG, [r.started, r.id]) };
        }
      }
      if (rows.length < 500) return { items, next: null };
      if (examined >= SCAN_BUDGET) {
        return { items, next: encodeCursor(CURSOR_TAG, [beforeStarted, beforeId]) };
      }
    }
  }

  /** The scope reading rollout `id` is decided on. */
  scopeOf(id: number): Scope | undefined {
    const r = this.s.one.get(id);
    const res = r && ROLLOUT_RESOURCES[r.kind];
    return r && res ? { ...res, namespace: r.namespace } : undefined;
  }

  one(id: number, access: Access): Rollout | undefined {
    const r = this.s.one.get(id);
    return r && readable(r, memoAccess(access)) ? fromRow(r) : undefined;
  }
}

function readable(
  r: Row,
  can: (s: { group: string; resource: string; namespace: string }) => boolean,
) {
  const res = ROLLOUT_RESOURCES[r.kind];
  return res !== undefined && can({ ...res, namespace: r.namespace });
}
