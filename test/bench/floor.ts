// The physical floor of performance.md, measured again in the same run on the same data: how
// fast this machine can merely parse the watch stream, and merely insert the rows the recorder
// ended up writing, with nothing of Hindsight in between.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Db } from '../../src/store/db.ts';
import { parseChunk, type EncodedWorkload } from './stream.ts';

/** Rows per transaction of the raw insert. */
const TX_ROWS = 1000;

/** A version row as the recorder stored it; the floor inserts the same values. */
export interface FloorRow {
  seq: number;
  object_id: number;
  rv: string;
  time: number;
  type: string;
  body: Buffer;
}

export interface FloorFigures {
  /** (a) JSON.parse of the stream, watch events per second. */
  parsePerSec: number;
  /** (b) raw batched insert of the recorder's final rows, rows per second. */
  insertRowsPerSec: number;
  /** (c) parse and insert together, watch events per second (comparable to our ingest rate). */
  combinedPerSec: number;
  rows: number;
  rowBytes: number;
}

/** The rows the recorder produced, read back from its versions table. */
export function readRows(db: Db): FloorRow[] {
  return db
    .prepare<[], FloorRow>('SELECT seq, object_id, rv, time, type, body FROM versions ORDER BY seq')
    .all();
}

/** A database as performance.md's floor: WAL, synchronous=NORMAL, one table, no index. */
function rawTable(path: string): { db: Database.Database; insertAll: (rows: FloorRow[]) => void } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE versions (seq INTEGER PRIMARY KEY, object_id INTEGER NOT NULL,
    rv TEXT NOT NULL, time INTEGER NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL)`);
  const insert = db.prepare('INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)');
  const insertAll = db.transaction((rows: FloorRow[]) => {
    for (const r of rows) insert.run(r.seq, r.object_id, r.rv, r.time, r.type, r.body);
  });
  return { db, insertAll };
}

function allChunks(w: EncodedWorkload): Buffer[] {
  return [...w.streams.values()].flat();
}

/** Keeps parsed values reachable until the end of a timed loop, as the recorder's items are. */
let sink = 0;

/** (a) Parses every chunk of `w`; returns seconds. */
function timeParse(w: EncodedWorkload): number {
  const started = performance.now();
  for (const chunk of allChunks(w)) sink += parseChunk(chunk, 0).length;
  return (performance.now() - started) / 1000;
}

/** (b) Inserts `rows` into a fresh raw table under `dir`, 1,000 per transaction; returns seconds. */
function timeInsert(rows: FloorRow[], path: string): number {
  const { db, insertAll } = rawTable(path);
  const started = performance.now();
  for (let i = 0; i < rows.length; i += TX_ROWS) insertAll(rows.slice(i, i + TX_ROWS));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return seconds;
}

/**
 * (c) Parses the stream and inserts the rows in one loop: after each chunk, the share of rows
 * that chunk accounts for, committed 1,000 at a time. Returns seconds.
 */
function timeCombined(w: EncodedWorkload, rows: FloorRow[], path: string): number {
  const { db, insertAll } = rawTable(path);
  const started = performance.now();
  let parsed = 0;
  let next = 0;
  let batch: FloorRow[] = [];
  for (const chunk of allChunks(w)) {
    parsed += parseChunk(chunk, 0).length;
    const due = Math.floor((rows.length * parsed) / w.changes);
    while (next < due) {
      batch.push(rows[next++] as FloorRow);
      if (batch.length === TX_ROWS) {
        insertAll(batch);
        batch = [];
      }
    }
  }
  insertAll(batch);
  sink += parsed;
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return seconds;
}

/** Measures (a), (b) and (c) for a workload and the rows its ingest produced, under `dir`. */
export function measureFloor(w: EncodedWorkload, rows: FloorRow[], dir: string): FloorFigures {
  const parse = timeParse(w);
  const insert = timeInsert(rows, join(dir, 'floor-insert.db'));
  const combined = timeCombined(w, rows, join(dir, 'floor-combined.db'));
  if (sink < 0) throw new Error('unreachable');
  return {
    parsePerSec: w.changes / parse,
    insertRowsPerSec: rows.length / insert,
    combinedPerSec: w.changes / combined,
    rows: rows.length,
    rowBytes: rows.reduce((n, r) => n + r.body.length, 0),
  };
}
