import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, openDatabase, schemaVersion } from '../../src/store/db.ts';
import { LATEST_SCHEMA } from '../../src/store/migrations.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-db-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('openDatabase', () => {
  it('creates a migrated, marked database in WAL mode with incremental vacuum', () => {
    const db = openDatabase(join(dir, 'h.db'));
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    db.close();
    // Opening again applies nothing twice.
    const again = openDatabase(join(dir, 'h.db'));
    expect(schemaVersion(again)).toBe(LATEST_SCHEMA);
    again.close();
  });

  it('refuses a database that is not Hindsight history', () => {
    const other = new Database(join(dir, 'other.db'));
    other.exec('CREATE TABLE notes (text TEXT)');
    other.close();
    expect(() => openDatabase(join(dir, 'other.db'))).toThrow(
      /is not a Hindsight history database/,
    );
  });

  it('refuses a database from a newer schema, naming both versions', () => {
    const db = openDatabase(join(dir, 'h.db'));
    db.pragma(`user_version = ${LATEST_SCHEMA + 1}`);
    db.close();
    expect(() => openDatabase(join(dir, 'h.db'))).toThrow(
      `has schema version ${LATEST_SCHEMA + 1}, newer than this Hindsight supports (${LATEST_SCHEMA})`,
    );
  });

  it('names the file it cannot open', () => {
    expect(() => openDatabase(join(dir, 'missing', 'h.db'))).toThrow(
      /cannot open the history database .*missing\/h\.db/,
    );
  });
});
