// Backup and restore of the history volume on real SQLite files: a backup taken while the
// recorder writes is a consistent snapshot that answers the same queries; restore refuses what
// is not a Hindsight history of a known schema and a database in use, and keeps what it replaces.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import {
  BackupRefused,
  Backups,
  inspectHistoryFile,
  restoreDatabase,
  restoreOnStart,
  takeBackup,
} from '../../src/store/backup.ts';
import { APPLICATION_ID, openDatabase, schemaVersion, type Db } from '../../src/store/db.ts';
import { LATEST_SCHEMA, MIGRATIONS } from '../../src/store/migrations.ts';
import { HistoryQueries, type Access } from '../../src/store/queries.ts';
import { closeRecording, openRecording, watchTarget } from './fixtures/recording.ts';

const ALL: Access = { allows: () => true };
const CONFIGMAPS = watchTarget('', 'ConfigMap', 'configmaps');
let rv = 1;
const configMap = (name: string, value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: 'ns', name, uid: `uid-${name}`, resourceVersion: String(++rv) },
  data: { value },
});

let dir: string;
let dbPath: string;
let writeDb: Db;
let recorder: Recorder;

async function write(n: number, from = 0) {
  for (let i = from; i < from + n; i++) {
    await recorder.write(CONFIGMAPS, [
      {
        type: 'MODIFIED',
        object: configMap(`cm-${i % 20}`, `v${i}`),
        time: Date.now(),
      },
    ]);
  }
}

/** Everything a reader sees up to `seq`: versions with their bodies. */
function snapshot(path: string, seq: number) {
  const db = openDatabase(path, { readonly: true });
  try {
    const q = new HistoryQueries(db);
    const items = [];
    let pos = 0;
    for (;;) {
      const page = q.since(pos, { limit: 500 }, ALL);
      items.push(...page.filter((i) => i.seq <= seq));
      if (page.next === pos || page.next >= seq) break;
      pos = page.next;
    }
    return items.map((i) => ({
      seq: i.seq,
      name: i.object?.name,
      body: q.version(i.object!.uid, i.seq, ALL)?.object,
    }));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  const recording = openRecording('hindsight-backup-', {
    policy: { name: 'all', spec: { resources: [{ group: '', kinds: ['ConfigMap'] }] } },
  });
  ({ dir, path: dbPath, db: writeDb, recorder } = recording);
  await write(200);
});

afterAll(() => closeRecording({ dir, db: writeDb, recorder }));

describe('backup', () => {
  it('is a consistent snapshot taken while recording goes on', async () => {
    const file = join(dir, 'during.db');
    const writing = write(300, 200);
    const info = await takeBackup(dbPath, file);
    await writing;
    expect(info.schema).toBe(LATEST_SCHEMA);
    expect(info.seq).toBeGreaterThanOrEqual(200);
    expect(inspectHistoryFile(file)).toEqual({ schema: LATEST_SCHEMA, seq: info.seq });
    // The backup holds exactly the source's records up to its sequence, bodies included.
    const inBackup = snapshot(file, info.seq);
    expect(inBackup.length).toBe(info.seq);
    expect(inBackup).toEqual(snapshot(dbPath, info.seq));
    // And the source went on past it.
    expect(snapshot(dbPath, Infinity).length).toBe(500);
  });

  it('keeps one backup file at a time, until it is sent, counted as reserved bytes meanwhile', async () => {
    const backups = new Backups(dbPath, join(dir, 'backups'));
    const first = backups.take();
    expect(backups.busy).toBe(true);
    await expect(backups.take()).rejects.toThrow(/being taken or sent already/);
    const b = await first;
    // Being sent: still busy, its file still there and counted.
    expect(backups.busy).toBe(true);
    await expect(backups.take()).rejects.toMatchObject({ status: 503 });
    expect(readdirSync(join(dir, 'backups'))).toHaveLength(1);
    expect(backups.reservedBytes()).toBe(b.bytes);
    await b.release();
    expect(backups.busy).toBe(false);
    expect(backups.reservedBytes()).toBe(0);
    expect(readdirSync(join(dir, 'backups'))).toHaveLength(0);
    await (await backups.take()).release();
  });

  it('takes the next backup asked while the sent one is being deleted, after its file is gone', async () => {
    const folder = join(dir, 'backups');
    const backups = new Backups(dbPath, folder);
    const sent = await backups.take();
    const releasing = sent.release();
    // Sent, its file not deleted yet: not busy any more, and the next one is not refused.
    expect(backups.busy).toBe(false);
    const next = await backups.take();
    await releasing;
    expect(readdirSync(folder)).toEqual([basename(next.file)]);
    expect(backups.reservedBytes()).toBe(next.bytes);
    await next.release();
    expect(readdirSync(folder)).toHaveLength(0);
  });

  it('refuses a backup the volume has no room for, or that would pass --max-disk, before writing', async () => {
    const folder = join(dir, 'backups');
    const full = new Backups(dbPath, folder, { freeBytes: () => Promise.resolve(4096) });
    const noRoom = await full.take().catch((e: unknown) => e);
    expect(noRoom).toBeInstanceOf(BackupRefused);
    expect((noRoom as BackupRefused).status).toBe(507);
    expect((noRoom as Error).message).toMatch(
      /^a backup needs about [\d.]+ MiB free on the history volume and 0\.0 MiB is free; make room/,
    );
    expect(full.busy).toBe(false);
    const budget = new Backups(dbPath, folder, { maxDisk: statSync(dbPath).size });
    await expect(budget.take()).rejects.toThrow(/past --max-disk/);
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
  });

  it('removes at start-up only the backup files it made, never the rest of the folder', async () => {
    const folder = join(dir, 'backups');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'backup-0123456789ab.db'), 'left over');
    writeFileSync(join(folder, 'backup-0123456789ab.db-journal'), 'left over');
    writeFileSync(join(folder, 'notes.txt'), 'not ours');
    const backups = new Backups(dbPath, folder);
    await backups.clean();
    expect(readdirSync(folder)).toEqual(['notes.txt']);
    rmSync(join(folder, 'notes.txt'));
    await backups.clean();
    expect(existsSync(folder)).toBe(false);
    await backups.clean();
  });
});

describe('restore', () => {
  let backup: string;
  let seq: number;

  beforeAll(async () => {
    backup = join(dir, 'good.db');
    ({ seq } = await takeBackup(dbPath, backup));
  });

  it('refuses what is not a Hindsight history of a schema this version knows', async () => {
    const target = join(dir, 'refused');
    await expect(restoreDatabase(join(dir, 'missing.db'), target)).rejects.toThrow(
      /missing\.db does not exist/,
    );
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'these are not the bytes you are looking for '.repeat(200));
    await expect(restoreDatabase(text, target)).rejects.toThrow(/is not a SQLite database/);
    const other = join(dir, 'other.db');
    new Database(other).exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    await expect(restoreDatabase(other, target)).rejects.toThrow(
      /a SQLite database but not a Hindsight history/,
    );
    const newer = join(dir, 'newer.db');
    await copyFile(backup, newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${LATEST_SCHEMA + 1}`);
    db.close();
    await expect(restoreDatabase(newer, target)).rejects.toThrow(
      new RegExp(
        `from a newer Hindsight \\(schema ${LATEST_SCHEMA + 1}; this version knows up to ${LATEST_SCHEMA}\\)`,
      ),
    );
    // Refused before anything was touched.
    expect(existsSync(target)).toBe(false);
  });

  it('restores into an empty data directory', async () => {
    const target = join(dir, 'fresh');
    const r = await restoreDatabase(backup, target);
    expect(r).toMatchObject({ schema: LATEST_SCHEMA, seq, replaced: null });
    expect(snapshot(r.database, seq)).toEqual(snapshot(backup, seq));
  });

  it('refuses a database in use, and otherwise keeps the one it replaces', async () => {
    const target = join(dir, 'used');
    const old = await restoreDatabase(backup, target);
    const running = openDatabase(old.database);
    running.exec("INSERT INTO meta (key, value) VALUES ('marker', 'before-restore')");
    await expect(restoreDatabase(backup, target)).rejects.toThrow(/in use by a running Hindsight/);
    running.close();
    const r = await restoreDatabase(backup, target);
    expect(r.replaced).toMatch(/history\.db\.replaced-/);
    const kept = new Database(r.replaced!, { readonly: true });
    expect(kept.prepare("SELECT value FROM meta WHERE key = 'marker'").pluck().get()).toBe(
      'before-restore',
    );
    kept.close();
    const restored = new Database(r.database, { readonly: true });
    expect(restored.prepare("SELECT value FROM meta WHERE key = 'marker'").get()).toBeUndefined();
    expect(restored.pragma('journal_mode', { simple: true })).toBe('wal');
    restored.close();
  });

  it('migrates a backup of an older schema', async () => {
    const v1 = join(dir, 'v1.db');
    const db = new Database(v1);
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec(MIGRATIONS[0]!.sql);
    db.pragma('user_version = 1');
    db.close();
    const r = await restoreDatabase(v1, join(dir, 'from-v1'));
    expect(r.schema).toBe(1);
    const restored = new Database(r.database, { readonly: true });
    expect(schemaVersion(restored)).toBe(LATEST_SCHEMA);
    restored.close();
  });

  it('restores at start-up once per file, so a flag left in place keeps later history', async () => {
    const target = join(dir, 'startup');
    expect(await restoreOnStart(backup, target)).toMatchObject({ seq });
    const later = openDatabase(join(target, 'history.db'));
    later.exec("INSERT INTO meta (key, value) VALUES ('recorded', 'after-restore')");
    later.close();
    expect(await restoreOnStart(backup, target)).toBeNull();
    const db = new Database(join(target, 'history.db'), { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'recorded'").pluck().get()).toBe(
      'after-restore',
    );
    db.close();
    // A new backup at the same path is a new restore.
    utimesSync(backup, new Date(), new Date(Date.now() + 5000));
    expect(await restoreOnStart(backup, target)).toMatchObject({ seq });
    await expect(restoreOnStart(join(dir, 'nope.db'), target)).rejects.toThrow(
      /--restore names .*nope\.db, which does not exist/,
    );
  });
});
