// Incident bundles: the history of some namespaces in a window, as a history database of its own
// that `hindsight serve` answers from with the same API, UI and CLI, no cluster needed. It holds,
// of what the caller may read there: each object alive in the window with its state at the start
// (its last version before the window, stored whole) and every version in the window; Events
// that occurred in the window with those occurrences; the gaps over the window; the rollouts
// that started in it. Nothing after the window shows: a deletion after it is left out. Secrets
// are in it as recorded, their values digests.
import { unlinkSync } from 'node:fs';
import { encodeJson } from '../recorder/codec.ts';
import { openDatabase, type Db } from './db.ts';
import type { AliveObjects } from './queries/lifespan.ts';
import type { Lookups } from './queries/lookups.ts';
import { checkWindow, memoAccess, readableResources } from './queries/params.ts';
import { ROLLOUT_RESOURCES } from './queries/rollouts.ts';
import { eventScope, scopeOf } from './queries/rows.ts';
import { QueryError, type Access, type Window } from './queries/types.ts';
import { BODY_SNAPSHOT } from './writer.ts';

export interface BundleRequest {
  namespaces: string[];
  window: Window;
  /** Where to write it; the file must not exist. */
  file: string;
}

export interface BundleSummary {
  namespaces: string[];
  window: Window;
  objects: number;
  versions: number;
  events: number;
  occurrences: number;
  gaps: number;
  rollouts: number;
}

/** The meta key a bundle is marked with: its namespaces and window, as JSON. */
export const BUNDLE_META_KEY = 'bundle';
const MAX_NAMESPACES = 50;

type Row = Record<string, unknown>;

/** Inserts rows as they are into `table` of `db`, by column name. */
function inserter(db: Db, table: string, orIgnore = false): (row: Row) => void {
  const columns = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  const stmt = db.prepare(
    `INSERT ${orIgnore ? 'OR IGNORE ' : ''}INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  return (row) => stmt.run(Object.fromEntries(columns.map((c) => [c, row[c] ?? null])));
}

export function checkBundleRequest(q: BundleRequest): BundleRequest {
  if (
    !Array.isArray(q.namespaces) ||
    q.namespaces.length === 0 ||
    q.namespaces.length > MAX_NAMESPACES ||
    !q.namespaces.every((n) => typeof n === 'string' && n !== '')
  ) {
    throw new QueryError('namespace', `needs 1 to ${MAX_NAMESPACES} namespaces`);
  }
  return { ...q, namespaces: [...new Set(q.namespaces)], window: checkWindow(q.window) };
}

/** Writes the bundle `q` asks for from `source` (a read transaction) into a new file. */
export function writeBundle(
  source: Db,
  lookups: Lookups,
  alive: AliveObjects,
  q: BundleRequest,
  access: Access,
): BundleSummary {
  const { namespaces, window: w, file } = checkBundleRequest(q);
  const can = memoAccess(access);
  const out = openDatabase(file);
  const summary: BundleSummary = {
    namespaces,
    window: w,
    objects: 0,
    versions: 0,
    events: 0,
    occurrences: 0,
    gaps: 0,
    rollouts: 0,
  };
  try {
    const put = {
      object: inserter(out, 'objects'),
      version: inserter(out, 'versions'),
      event: inserter(out, 'events'),
      occurrence: inserter(out, 'event_occurrences'),
      gap: inserter(out, 'gaps', true),
      rollout: inserter(out, 'rollouts'),
    };
    const read = {
      object: source.prepare<[number], Row>('SELECT * FROM objects WHERE id = ?'),
      versions: source.prepare<[number, number, number], Row>(
        'SELECT * FROM versions WHERE object_id = ? AND time >= ? AND time <= ? ORDER BY seq',
      ),
      version: source.prepare<[number], Row>('SELECT * FROM versions WHERE seq = ?'),
      events: source.prepare<[string, number, number], Row>(
        'SELECT * FROM events WHERE namespace = ? AND last_time >= ? AND first_time <= ?',
      ),
      occurrences: source.prepare<[number, number, number], Row>(
        'SELECT * FROM event_occurrences WHERE event_id = ? AND time >= ? AND time <= ? ORDER BY seq',
      ),
      gaps: source.prepare<[number, number, string], Row>(
        "SELECT * FROM gaps WHERE end >= ? AND start <= ? AND namespace IN ('', ?)",
      ),
      rollouts: source.prepare<[string, number, number], Row>(
        'SELECT * FROM rollouts WHERE namespace = ? AND started >= ? AND started <= ?',
      ),
    };
    out.transaction(() => {
      for (const ns of namespaces) {
        const resources = readableResources(access, ns);
        const objects =
          resources === '[]'
            ? []
            : alive.list(ns, w.from, w.to, { resources: resources ?? undefined });
        for (const o of objects) {
          if (!can(scopeOf(o))) continue;
          const copied: Row[] = [];
          // The state at the start, whole: the window's first patch applies to it.
          const before = lookups.versionAt(o.id, w.from - 1);
          if (before && before.type !== 'deleted') {
            const row = read.version.get(before.seq)!;
            copied.push({
              ...row,
              body_kind: BODY_SNAPSHOT,
              body: encodeJson(lookups.bodyAt(o.id, before.seq)),
            });
          }
          copied.push(...read.versions.all(o.id, w.from, w.to));
          const last = copied.at(-1);
          if (!last) continue;
          const row = read.object.get(o.id)!;
          const deletedLater = typeof row.deleted_at === 'number' && row.deleted_at > w.to;
          put.object({
            ...row,
            ...(deletedLater ? { deleted_at: null, deletion: null } : {}),
            last_rv: last.rv,
            last_seq: last.seq,
            last_time: last.time,
            last_body: Buffer.alloc(0),
            chain: 0,
          });
          for (const v of copied) put.version(v);
          summary.objects++;
          summary.versions += copied.length;
        }
        if (can(eventScope(ns))) {
          for (const e of read.events.all(ns, w.from, w.to)) {
            const occurrences = read.occurrences.all(e.id as number, w.from, w.to);
            if (occurrences.length === 0) continue;
            put.event(e);
            for (const x of occurrences) put.occurrence(x);
            summary.events++;
            summary.occurrences += occurrences.length;
          }
        }
        for (const g of read.gaps.all(w.from, w.to, ns)) {
          const scope = { group: g.api_group as string, resource: g.resource as string };
          if (!can({ ...scope, namespace: ns })) continue;
          put.gap(g);
        }
        for (const r of read.rollouts.all(ns, w.from, w.to)) {
          const res = ROLLOUT_RESOURCES[r.kind as string];
          if (!res || !can({ ...res, namespace: ns })) continue;
          put.rollout(r);
          summary.rollouts++;
        }
      }
      summary.gaps = (out.prepare('SELECT count(*) AS n FROM gaps').get() as { n: number }).n;
      // Served as it is: nothing is derived from it again.
      out
        .prepare(
          'UPDATE rollout_cursor SET seq = (SELECT coalesce(max(seq), 0) FROM (SELECT max(seq) AS seq FROM versions UNION ALL SELECT max(seq) FROM event_occurrences))',
        )
        .run();
      out
        .prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)')
        .run(BUNDLE_META_KEY, JSON.stringify({ namespaces, window: w }));
    })();
    // One self-contained file: no WAL beside it.
    out.pragma('journal_mode = DELETE');
    out.close();
    return summary;
  } catch (err) {
    out.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      try {
        unlinkSync(f);
      } catch {
        // not there
      }
    }
    throw err;
  }
}
