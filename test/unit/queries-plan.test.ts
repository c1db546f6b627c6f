// Properties of the read queries that do not need a recorded world: every statement they prepare
// is answered from indexes (no table scans), lifespans of any length are found by the lifespan
// classes, and patches read as lines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeJson } from '../../src/recorder/codec.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryQueries } from '../../src/store/queries.ts';
import { EVENT_SPAN_BOUNDS, eventPageSql } from '../../src/store/queries/events.ts';
import { AliveObjects, LIFESPAN_BOUNDS } from '../../src/store/queries/lifespan.ts';
import { describePatch } from '../../src/store/text-diff.ts';

let dir: string;
let db: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-plan-'));
  db = openDatabase(join(dir, 'history.db'));
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The plan of a statement, its parameters bound to zeros. */
function plan(sql: string): string[] {
  const named = [...new Set([...sql.matchAll(/@(\w+)/g)].map((m) => m[1] as string))];
  const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = (
    named.length
      ? stmt.all(Object.fromEntries(named.map((n) => [n, 0])))
      : stmt.all(...Array<number>((sql.match(/\?/g) ?? []).length).fill(0))
  ) as { detail: string }[];
  return rows.map((r) => r.detail);
}

describe('query plans', () => {
  it('answers every statement of HistoryQueries from indexes', () => {
    const statements: string[] = [];
    const spy = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === 'prepare') {
          return (sql: string) => {
            statements.push(sql);
            return target.prepare(sql);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    new HistoryQueries(spy);
    statements.push(
      AliveObjects.sql({}),
      AliveObjects.sql({ kinds: ['Pod'], group: '' }),
      AliveObjects.sql({ resources: '[]' }),
    );
    expect(statements.length).toBeGreaterThan(30);
    for (const sql of statements) {
      const detail = plan(sql);
      // Allowed: the lists passed in (json_each) and subqueries already cut by a LIMIT.
      const scans = detail.filter(
        (d) =>
          /^SCAN (?!j\b|json_each\b|CONSTANT ROW|\(subquery-\d+\))/.test(d) ||
          /^SCAN .* USING (COVERING )?INDEX/.test(d),
      );
      expect({ sql, scans }).toEqual({ sql, scans: [] });
    }
  });

  it('uses the lifespan index for every class of an alive-in-window query', () => {
    const detail = plan(AliveObjects.sql({}));
    const searches = detail.filter((d) => d.includes('objects_by_lifespan'));
    expect(searches).toHaveLength(LIFESPAN_BOUNDS.length + 3);
    expect(searches.slice(1).every((d) => /deleted_at>\?/.test(d))).toBe(true);
  });

  it('reads Events of a window by span class, in a namespace or in all', () => {
    for (const namespaced of [true, false]) {
      const index = namespaced ? 'events_by_span' : 'events_by_span_time';
      const searches = plan(eventPageSql(namespaced)).filter((d) =>
        d.startsWith(`SEARCH events USING INDEX ${index} (`),
      );
      expect(searches).toHaveLength(EVENT_SPAN_BOUNDS.length + 1);
    }
  });

  it('reads one object history from the covering index', () => {
    expect(
      plan(
        'SELECT seq, time, type FROM versions WHERE object_id = ? AND time >= ? AND time <= ? ORDER BY seq',
      ),
    ).toEqual([expect.stringMatching(/COVERING INDEX versions_by_object_seq/)]);
  });
});

describe('lifespan classes', () => {
  const insert = db_insert();
  function db_insert() {
    let n = 0;
    return (created: number | null, deleted: number | null) => {
      n++;
      db.prepare(
        `INSERT INTO objects (uid, api_group, api_version, kind, resource, namespace, name, created_at,
           deleted_at, last_rv, last_seq, last_time, last_body)
         VALUES (?, '', 'v1', 'ConfigMap', 'configmaps', 'ns', ?, ?, ?, '1', 1, 1, ?)`,
      ).run(`u${n}`, `o${n}`, created, deleted, encodeJson({}));
      return `o${n}`;
    };
  }

  it('finds objects alive in a window whatever their lifespan', () => {
    const day = 86_400_000;
    const expected: string[] = [];
    const window = { from: 100 * day, to: 100 * day + 3_600_000 };
    // Lifespans around every class bound, starting before, in and after the window.
    for (const bound of [1_000, ...LIFESPAN_BOUNDS, 40 * day]) {
      for (const life of [bound - 1, bound, bound + 1]) {
        for (const start of [
          window.from - life - 1,
          window.from - life,
          window.from - 1,
          window.to,
          window.to + 1,
        ]) {
          const name = insert(start, start + life);
          if (start <= window.to && start + life >= window.from) expected.push(name);
        }
      }
    }
    expected.push(insert(window.to, null), insert(null, window.from));
    insert(window.to + 1, null);
    insert(null, window.from - 1);
    const found = new AliveObjects(db)
      .list('ns', window.from, window.to)
      .map((o) => o.name)
      .sort();
    expect(found).toEqual(expected.sort());
  });
});

describe('event span classes', () => {
  it('finds Events that occurred in a window whatever their span, newest first, page by page', () => {
    const day = 86_400_000;
    const window = { from: 100 * day, to: 100 * day + 3_600_000 };
    const event = db.prepare(
      `INSERT INTO events (uid, namespace, name, first_time, last_time, count, last_rv)
       VALUES (?, ?, ?, ?, ?, 2, '1')`,
    );
    const occurrence = db.prepare(
      `INSERT INTO event_occurrences (seq, event_id, rv, time, count, keep_until)
       VALUES (?, ?, ?, ?, 1, 0)`,
    );
    let seq = 0;
    const expected: { name: string; last: number; id: number }[] = [];
    for (const bound of [1_000, ...EVENT_SPAN_BOUNDS, 40 * day]) {
      for (const span of [bound - 1, bound, bound + 1]) {
        for (const first of [
          window.from - span - 1,
          window.from - span,
          window.from - 1,
          window.to,
          window.to + 1,
        ]) {
          const name = `e${seq}`;
          const ns = seq % 2 ? 'a' : 'b';
          const id = Number(event.run(`u${seq}`, ns, name, first, first + span).lastInsertRowid);
          occurrence.run(++seq, id, 'first', first);
          occurrence.run(++seq, id, 'last', first + span);
          const inWindow = (t: number) => t >= window.from && t <= window.to;
          if (ns === 'a' && (inWindow(first) || inWindow(first + span))) {
            expected.push({ name, last: first + span, id });
          }
        }
      }
    }
    expected.sort((x, y) => y.last - x.last || y.id - x.id);
    const q = new HistoryQueries(db);
    const all = { allows: () => true };
    const got: string[] = [];
    let cursor: string | undefined;
    do {
      const page = q.events({ namespace: 'a', window, limit: 3, cursor }, all);
      got.push(...page.items.map((e) => e.name));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(got).toEqual(expected.map((e) => e.name));
    const everywhere = q.events({ window, limit: 1000 }, all).items;
    expect(everywhere.filter((e) => e.namespace === 'a').map((e) => e.name)).toEqual(got);
  });
});

describe('describePatch', () => {
  it('reads adds, removes and replaces, with old values from the document before', () => {
    const before = {
      spec: { replicas: 3, paused: true, ports: [{ port: 80 }] },
      a: { 'b.c': 'x' },
    };
    expect(
      describePatch(before, [
        { op: 'replace', path: '/spec/replicas', value: 5 },
        { op: 'add', path: '/metadata/labels/tier', value: 'front' },
        { op: 'remove', path: '/spec/paused' },
        { op: 'replace', path: '/spec/ports/0/port', value: 8080 },
        { op: 'replace', path: '/a/b.c', value: 'y' },
        { op: 'add', path: '', value: { long: 'z'.repeat(200) } },
      ]),
    ).toEqual([
      '~ spec.replicas: 3 → 5',
      '+ metadata.labels.tier: "front"',
      '- spec.paused',
      '~ spec.ports[0].port: 80 → 8080',
      '~ a.b\\.c: "x" → "y"',
      `+ (root): {"long":"${'z'.repeat(110)}…`,
    ]);
  });
});
