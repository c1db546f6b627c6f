import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import { decodeJson, encodeJson } from '../../src/recorder/codec.ts';
import { compilePolicy } from '../../src/recorder/policy.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import { APPLICATION_ID, openDatabase, PAGE_SIZE, schemaVersion } from '../../src/store/db.ts';
import { LATEST_SCHEMA, MIGRATIONS } from '../../src/store/migrations.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import { BODY_PATCH, BODY_SNAPSHOT, HistoryWriter } from '../../src/store/writer.ts';
import { watchTarget } from './fixtures/recording.ts';

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
    expect(db.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
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

describe('migration 3 (heads)', () => {
  /** A database as schema version 2 left it, with one alive and one deleted object. */
  function version2(path: string): void {
    const db = new Database(path);
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS.filter((m) => m.version <= 2)) db.exec(m.sql);
    db.pragma('user_version = 2');
    const insert = db.prepare(
      `INSERT INTO objects (id, uid, api_group, api_version, kind, resource, namespace, name, deleted_at,
         last_rv, last_seq, last_time, last_body, chain)
       VALUES (?, ?, '', 'v1', 'ConfigMap', 'configmaps', 'shop', ?, ?, ?, ?, 1000, ?, 0)`,
    );
    const version = db.prepare(
      `INSERT INTO versions (seq, object_id, rv, time, type, body_kind, body, keep_until)
       VALUES (?, ?, ?, 1000, ?, ?, ?, 9999999999999)`,
    );
    insert.run(1, 'uid-a', 'a', null, '10', 1, encodeJson(stored('a', 'one')));
    version.run(1, 1, '10', 'added', BODY_SNAPSHOT, encodeJson(stored('a', 'one')));
    insert.run(2, 'uid-b', 'b', 1000, '12', 3, Buffer.alloc(0));
    version.run(2, 2, '11', 'added', BODY_SNAPSHOT, encodeJson(stored('b', 'two')));
    version.run(3, 2, '12', 'deleted', BODY_PATCH, encodeJson([]));
    db.close();
  }

  /** The stored form: the recorder drops metadata.resourceVersion (a default ignore-field). */
  function stored(name: string, value: string): KubeObject {
    const object = configMap(name, '', value);
    delete object.metadata?.resourceVersion;
    return object;
  }

  function configMap(name: string, rv: string, value: string): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: rv },
      data: { value },
    };
  }

  it('moves the last states of alive objects into heads, and recording continues from them', async () => {
    const path = join(dir, 'v2.db');
    version2(path);
    const db = openDatabase(path);
    try {
      expect(schemaVersion(db)).toBe(LATEST_SCHEMA);
      // An existing database keeps its page size.
      expect(db.pragma('page_size', { simple: true })).toBe(4096);
      const heads = db.prepare('SELECT object_id, body FROM heads').all() as {
        object_id: number;
        body: Buffer;
      }[];
      expect(heads.map((h) => h.object_id)).toEqual([1]);
      expect(decodeJson(heads[0]!.body)).toEqual(stored('a', 'one'));
      const lengths = db.prepare('SELECT length(last_body) AS n FROM objects').all();
      expect(lengths).toEqual([{ n: 0 }, { n: 0 }]);

      const recorder = new Recorder({ writer: new HistoryWriter(db), log: createLogger('error') });
      const policy = compilePolicy('p', 1, { resources: [{ group: '', kinds: ['ConfigMap'] }] });
      recorder.setPolicies([policy.policy]);
      await recorder.write(TARGET, [
        { type: 'MODIFIED', object: configMap('a', '20', 'uno'), time: 2000 },
      ]);
      await recorder.stop();
      const reader = new HistoryReader(db);
      const [added, modified] = reader.versions(1);
      expect(added?.type).toBe('added');
      expect(modified).toMatchObject({ type: 'modified', body_kind: BODY_PATCH });
      expect(JSON.parse(modified!.paths!)).toEqual(['data.value']);
      expect(reader.bodyAt(1, modified!.seq)).toEqual(stored('a', 'uno'));
    } finally {
      db.close();
    }
  });
});

const TARGET = watchTarget('', 'ConfigMap', 'configmaps');
