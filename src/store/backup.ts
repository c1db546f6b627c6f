// Backup and restore of the history volume. A backup is a compact copy of one consistent
// snapshot, taken while recording goes on; a restore checks that a file is a Hindsight history
// of a schema this version knows, and puts it in place of the data directory's database,
// keeping the database it replaces.
import { existsSync, mkdirSync, openSync, fsyncSync, closeSync, statSync } from 'node:fs';
import {
  copyFile,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openDatabase, StoreError, usedBytes } from './db.ts';
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

/** A backup refused before it starts: `status` is the HTTP status the API answers with. */
export class BackupRefused extends StoreError {
  override name = 'BackupRefused';
  readonly status: 503 | 507;

  constructor(status: 503 | 507, message: string) {
    super(message);
    this.status = status;
  }
}

export interface BackupsOptions {
  /** The volume's byte budget (--max-disk): the database and a backup together stay within it. */
  maxDisk?: number | null;
  /** Bytes free for this process on the volume holding `dir` (statfs by default). */
  freeBytes?: (dir: string) => Promise<number>;
}

/** A backup's own files in its folder; nothing else there is removed. */
const BACKUP_FILE = /^backup-[0-9a-f]{12}\.db(-journal)?$/;
/** Room a backup leaves on the volume beyond its own size: the recorder goes on writing. */
const HEADROOM = 1.1;

async function statfsFree(dir: string): Promise<number> {
  const st = await statfs(dir);
  return Number(st.bavail) * Number(st.bsize);
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/**
 * Backups taken for the API, one at a time, into a folder of the data directory (the volume
 * that has room for the database; a pod's /tmp often has not). One backup file exists at a time,
 * from before it is taken until it is sent; it is refused before it starts when the volume has
 * not room for it, or when it would take the volume past --max-disk, and it counts in that
 * budget while it exists (see `reservedBytes`).
 */
export class Backups {
  private readonly source: string;
  private readonly dir: string;
  private readonly maxDisk: number | null;
  private readonly freeBytes: (dir: string) => Promise<number>;
  private running = false;
  private releasing: Promise<void> | null = null;
  private reserved = 0;

  constructor(source: string, dir: string, opts: BackupsOptions = {}) {
    this.source = source;
    this.dir = dir;
    this.maxDisk = opts.maxDisk ?? null;
    this.freeBytes = opts.freeBytes ?? statfsFree;
  }

  /**
   * Removes the backup files a previous process left behind (it stopped while sending one), and
   * the folder if that leaves it empty; anything else in it stays.
   */
  async clean(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const n of names) if (BACKUP_FILE.test(n)) await rm(join(this.dir, n), { force: true });
    await rmdir(this.dir).catch(() => {});
  }

  /** Whether a backup is being taken or sent (not once it was sent and is being deleted). */
  get busy(): boolean {
    return this.running && this.releasing === null;
  }

  /** Bytes of the backup being taken or sent (its expected size until it is written). */
  reservedBytes(): number {
    return this.reserved;
  }

  /**
   * Takes a backup; the caller sends it and then calls `release`, which deletes the file and
   * lets the next backup start.
   */
  async take(): Promise<BackupInfo & { release: () => Promise<void> }> {
    // A backup that was sent and is being deleted is done: the next one waits for the file to
    // be gone (so one exists at a time) instead of being refused.
    if (this.releasing) await this.releasing;
    if (this.running) throw new BackupRefused(503, 'a backup is being taken or sent already');
    this.running = true;
    let file: string | null = null;
    const done = async () => {
      if (file) await rm(file, { force: true });
      this.reserved = 0;
      this.running = false;
    };
    try {
      const used = usedBytesOf(this.source);
      // VACUUM INTO writes the pages in use, compacted: at most `used`.
      const need = Math.ceil(used * HEADROOM);
      // The data directory: the backups' folder is made only for a backup that fits.
      const free = await this.freeBytes(dirname(this.dir));
      if (need > free) {
        throw new BackupRefused(
          507,
          `a backup needs about ${mib(need)} free on the history volume and ${mib(free)} is free; make room on the volume (or lower --max-disk so retention keeps less)`,
        );
      }
      if (this.maxDisk !== null && used + need > this.maxDisk) {
        throw new BackupRefused(
          507,
          `a backup of ${mib(used)} of history beside the database would take the volume to ${mib(used + need)}, past --max-disk ${mib(this.maxDisk)}; raise --max-disk or let retention keep less`,
        );
      }
      this.reserved = need;
      mkdirSync(this.dir, { recursive: true });
      file = join(this.dir, `backup-${randomBytes(6).toString('hex')}.db`);
      const info = await takeBackup(this.source, file);
      this.reserved = info.bytes;
      let released = false;
      return {
        ...info,
        release: async () => {
          if (released) return;
          released = true;
          this.releasing = done().finally(() => (this.releasing = null));
          await this.releasing;
        },
      };
    } catch (err) {
      await done();
      throw err;
    }
  }
}

/** Bytes of the database at `path` in use. */
function usedBytesOf(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return usedBytes(db);
  } finally {
    db.close();
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
