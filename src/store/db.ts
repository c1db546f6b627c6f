// Opening the history volume: pragmas, the Hindsight marker, and numbered migrations.
import Database from 'better-sqlite3';
import { LATEST_SCHEMA, MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

/** PRAGMA application_id of every Hindsight database: "HSGT". */
export const APPLICATION_ID = 0x48534754;

/** Page size of new databases. */
export const PAGE_SIZE = 8192;

export class StoreError extends Error {
  override name = 'StoreError';
}

export interface OpenOptions {
  readonly?: boolean;
}

/** Opens (creating if needed) and migrates a history database. */
export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(path, {
      readonly: opts.readonly ?? false,
      fileMustExist: opts.readonly ?? false,
    });
  } catch (err) {
    throw new StoreError(`cannot open the history database ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (opts.readonly) {
      checkIdentity(db, path);
      return db;
    }
    const unversioned = (db.pragma('user_version', { simple: true }) as number) === 0;
    // Only a new database takes it (an existing one keeps its own), and only before anything
    // reads its schema. Versions rows are 0.2-2 KB: with 4 KB pages the row that does not fit
    // left 17 % of the versions table empty; with 8 KB pages 6 % (1,142 → 1,042 bytes of file per
    // version in the small-Pod benchmark), and 16 KB gained only 1 % more.
    if (unversioned) db.pragma(`page_size = ${PAGE_SIZE}`);
    const fresh = unversioned && isEmpty(db);
    if (fresh) {
      // Must precede the first table: lets retention give pages back to the file system.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
    db.pragma('journal_mode = WAL');
    // WAL with synchronous=NORMAL: a crash never corrupts the database; a power loss may lose
    // the last transactions, which the checkpointed resourceVersion then replays.
    db.pragma('synchronous = NORMAL');
    db.pragma('temp_store = MEMORY');
    // After a checkpoint the WAL file is truncated to at most this, so the volume's use stays near
    // the byte budget of the database itself.
    db.pragma('journal_size_limit = 16777216');
    db.pragma('cache_size = -32000');
    checkIdentity(db, path);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function isEmpty(db: Db): boolean {
  const row = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
    n: number;
  };
  return row.n === 0;
}

function checkIdentity(db: Db, path: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== APPLICATION_ID) {
    throw new StoreError(
      `${path} is not a Hindsight history database (application_id ${appId}, expected ${APPLICATION_ID})`,
    );
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LATEST_SCHEMA) {
    throw new StoreError(
      `${path} has schema version ${version}, newer than this Hindsight supports (${LATEST_SCHEMA}); upgrade Hindsight or use a backup made by this version`,
    );
  }
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Bytes of the database in use: its pages not on the free list. */
export function usedBytes(db: Pick<Db, 'pragma'>): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return (pages - free) * pageSize;
}
