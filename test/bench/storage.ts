// Bytes on disk per recorded version, and where they go: SQLite's dbstat table gives the pages
// of every table and index, so a figure over its target comes with its breakdown.
import { statSync } from 'node:fs';
import type { Bench } from './harness.ts';

export interface StorageFigures {
  versions: number;
  /** Size of the database file after a checkpoint that empties the WAL. */
  fileBytes: number;
  /** Sum of the stored version bodies (snapshots and patches, compressed). */
  bodyBytes: number;
  /** Sum of the versions' changed-path lists (uncompressed JSON). */
  pathsBytes: number;
  /** Sum of the objects' last states (table heads), which the recorder diffs against. */
  headBytes: number;
  /** The part of headBytes that belongs to deleted objects. */
  deletedHeadBytes: number;
  /** Bytes of pages per table or index, and the free space inside them. */
  pages: Record<string, { bytes: number; unused: number }>;
}

export function storage(b: Bench): StorageFigures {
  b.db.pragma('wal_checkpoint(TRUNCATE)');
  const sums = b.db
    .prepare<[], { versions: number; body: number | null; paths: number | null }>(
      'SELECT count(*) AS versions, sum(length(body)) AS body, sum(length(paths)) AS paths FROM versions',
    )
    .get();
  const heads = b.db
    .prepare<[], { all: number | null; deleted: number | null }>(
      `SELECT sum(length(h.body)) AS "all",
         sum(CASE WHEN o.deleted_at IS NULL THEN 0 ELSE length(h.body) END) AS deleted
       FROM heads h JOIN objects o ON o.id = h.object_id`,
    )
    .get();
  return {
    versions: sums?.versions ?? 0,
    fileBytes: statSync(b.path).size,
    bodyBytes: sums?.body ?? 0,
    pathsBytes: sums?.paths ?? 0,
    headBytes: heads?.all ?? 0,
    deletedHeadBytes: heads?.deleted ?? 0,
    pages: pagesByName(b),
  };
}

/** Page bytes per table and index; empty when SQLite was built without dbstat. */
function pagesByName(b: Bench): StorageFigures['pages'] {
  try {
    const rows = b.db
      .prepare<[], { name: string; bytes: number; unused: number }>(
        `SELECT name, sum(pgsize) AS bytes, sum(unused) AS unused FROM dbstat
         GROUP BY name ORDER BY bytes DESC`,
      )
      .all();
    return Object.fromEntries(
      rows.filter((r) => r.bytes > 4096).map((r) => [r.name, { bytes: r.bytes, unused: r.unused }]),
    );
  } catch {
    return {};
  }
}
