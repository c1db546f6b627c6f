// Backup and restore of the history volume. A backup is a compact copy of one consistent
// snapshot, taken while recording goes on; a restore checks that a file is a Hindsight history
// of a schema this version knows, and puts it in place of the data directory's database,
// keeping the database it replaces.
import { existsSync, mkdirSync, openSync, fsyncSync, closeSync, statSync } from 'node:fs';
import { copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openDatabase, StoreError } from './db.ts';
import { LATEST_SCHEMA } from './migrations.ts';
import { HEAD_SEQ_SQL } from './head.ts';

export const DATABASE_FILE = 'history.db';

export interface BackupInfo {
  /** The backup file. */
  file: string;
  bytes: number;
  /** The newest sequence number in it: a stream resumed from here continues without a gap. */
  seq: number;
  schema: number;
}

const WORKER = fileURLToPath(
  new URL(`./backup-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Writes a consistent copy of the database at `source` to `destination` (which must not exist). */
export function takeBackup(source: string, destination: string): Promise<BackupInfo> {
  return new Promise((resolveBackup, reject) => {
    const worker = new Worker(WORKER, { workerData: { source, destination } });
    let settled = false;
    worker.once(
      'message',
      (m: { ok: true; seq: number; schema: number } | { ok: false; message: string }) => {
        settled = true;
        if (m.ok) {
          resolveBackup({
            file: destination,
            bytes: statSync(destination).size,
            seq: m.seq,
            schema: m.schema,
          });
        } else {
          reject(new StoreError(`the backup of ${source} failed: ${m.message}`));
        }
      },
    );
    worker.once('error', (err: Error) => {
      settled = true;
      reject(new StoreError(`the backup of ${source} failed: ${err.message}`, { cause: err }));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new StoreError(`the backup of ${source} stopped (exit code ${code})`));
    });
  });
}

/**
 * Backups taken for the API, one at a time, into a folder of the data directory (the volume
 * that has room for the database; a pod's /tmp often has not).
 */
export class Backups {
  private readonly source: string;
  private readonly dir: string;
  private running = false;

  constructor(source: string, dir: string) {
    this.source = source;
    this.dir = dir;
  }

  /** Removes backups a previous process left behind (it stopped while sending one). */
  async clean(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  get busy(): boolean {
    return this.running;
  }

  /** Takes a backup; the caller sends it and then calls `release` to delete the file. */
  async take(): Promise<BackupInfo & { release: () => Promise<void> }> {
    if (this.running) throw new StoreError('a backup is being taken already');
    this.running = true;
    try {
      mkdirSync(this.dir, { recursive: true });
      const file = join(this.dir, `backup-${randomBytes(6).toString('hex')}.db`);
      try {
        const info = await takeBackup(this.source, file);
        return { ...info, release: () => rm(file, { force: true }) };
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      }
    } finally {
      this.running = false;
    }
  }
}

export interface HistoryFileInfo {
  schema: number;
  seq: number;
}

/** Checks that `file` is a sound Hindsight history this version can read, and what it holds. */
export function inspectHistoryFile(file: string): HistoryFileInfo {
  if (!existsSync(file)) throw new StoreError(`${file} does not exist`);
  if (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size) {
    throw new StoreError(
      `${file} has a write-ahead log beside it (${file}-wal), so the file alone is not the whole history; restore a file made by \`hindsight backup\` or /api/v1/backup`,
    );
  }
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new StoreError(`${file} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
  try {
    let appId: number;
    try {
      appId = db.pragma('application_id', { simple: true }) as number;
    } catch (err) {
      throw new StoreError(`${file} is not a SQLite database (${(err as Error).message})`, {
        cause: err,
      });
    }
    if (appId !== APPLICATION_ID) {
      throw new StoreError(`${file} is a SQLite database but not a Hindsight history`);
    }
    const schema = db.pragma('user_version', { simple: true }) as number;
    if (schema > LATEST_SCHEMA) {
      throw new StoreError(
        `${file} is from a newer Hindsight (schema ${schema}; this version knows up to ${LATEST_SCHEMA}); restore it with that version or newer`,
      );
    }
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new StoreError(`${file} is damaged: ${check}`);
    const { seq } = db.prepare(HEAD_SEQ_SQL).get() as { seq: number };
    return { schema, seq };
  } finally {
    db.close();
  }
}

export interface RestoreResult extends HistoryFileInfo {
  database: string;
  /** Where the database that was replaced was kept, or null when there was none. */
  replaced: string | null;
}

/**
 * Puts a backup in place of `dataDir`'s database. Refuses a file that is not a Hindsight history
 * or is from a newer schema, and a database that a running operator has open. The replaced
 * database is kept beside it; an older schema is migrated.
 */
export async function restoreDatabase(
  source: string,
  dataDir: string,
  now = new Date(),
): Promise<RestoreResult> {
  const from = resolve(source);
  const info = inspectHistoryFile(from);
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, DATABASE_FILE);
  if (from === target) throw new StoreError(`${from} is the database it would replace`);
  const staging = `${target}.restoring`;
  await copyFile(from, staging);
  const fd = openSync(staging, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let replaced: string | null = null;
  if (existsSync(target)) {
    settle(target);
    replaced = `${target}.replaced-${now.toISOString().replace(/[:.]/g, '-')}`;
    await rename(target, replaced);
  }
  await rm(`${target}-wal`, { force: true });
  await rm(`${target}-shm`, { force: true });
  await rename(staging, target);
  // Migrates an older schema and switches the copy to WAL, as the operator runs it.
  openDatabase(target).close();
  return { ...info, database: target, replaced };
}

/**
 * Folds the write-ahead log of the database about to be replaced into its file, which also
 * proves no one has it open: a running operator holds it, and the switch out of WAL is refused.
 */
function settle(target: string): void {
  const db = new Database(target, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 0');
    try {
      db.pragma('journal_mode = DELETE');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new StoreError(
          `${target} is in use by a running Hindsight; stop it before restoring, or restore at start-up with --restore`,
          { cause: err },
        );
      }
      throw new StoreError(`${target} cannot be replaced: ${(err as Error).message}`, {
        cause: err,
      });
    }
  } finally {
    db.close();
  }
}

interface RestoreMark {
  source: string;
  size: number;
  mtimeMs: number;
}

/**
 * The start-up restore (`--restore FILE`): restores once per file. The flag usually stays in the
 * pod's spec, and a restart must not throw away what was recorded since.
 */
export async function restoreOnStart(
  source: string,
  dataDir: string,
): Promise<RestoreResult | null> {
  const from = resolve(source);
  const st = statSync(from, { throwIfNoEntry: false });
  if (!st) throw new StoreError(`--restore names ${from}, which does not exist`);
  const mark: RestoreMark = { source: from, size: st.size, mtimeMs: st.mtimeMs };
  const markFile = join(resolve(dataDir), 'restored-from.json');
  try {
    const done = JSON.parse(await readFile(markFile, 'utf8')) as RestoreMark;
    if (done.source === mark.source && done.size === mark.size && done.mtimeMs === mark.mtimeMs)
      return null;
  } catch {
    // No mark (or an unreadable one): not restored yet.
  }
  const result = await restoreDatabase(from, dataDir);
  await writeFile(markFile, JSON.stringify(mark));
  return result;
}
