// Every statement the recorder writes with. The recorder is the only writer; it calls these
// inside one transaction per batch (`transaction`).
import type { Db } from './db.ts';

export type VersionType = 'added' | 'modified' | 'deleted';
export const BODY_SNAPSHOT = 0;
export const BODY_PATCH = 1;

export interface ObjectHead {
  id: number;
  uid: string;
  kind: string;
  namespace: string;
  name: string;
  api_version: string;
  owner_uid: string | null;
  owner_kind: string | null;
  owner_name: string | null;
  node_name: string | null;
  labels: string | null;
  services: string | null;
  last_rv: string;
  /** The last recorded state (table heads); null for a deleted object, which keeps none. */
  last_body: Buffer | null;
  chain: number;
  deleted_at: number | null;
  managers: string | null;
}

export interface ObjectIdentity {
  uid: string;
  apiGroup: string;
  apiVersion: string;
  kind: string;
  resource: string;
  namespace: string;
  name: string;
}

/** Columns derived from the object's current state (enrichment for later queries). */
export interface ObjectFacts {
  createdAt: number | null;
  ownerUid: string | null;
  ownerKind: string | null;
  ownerName: string | null;
  nodeName: string | null;
  labels: string | null;
  services: string | null;
  /** Field managers of metadata.managedFields with their times, to tell who made the next change. */
  managers: string | null;
}

export interface NewVersion {
  seq: number;
  objectId: number;
  rv: string;
  time: number;
  type: VersionType;
  inferred: boolean;
  actor: string | null;
  paths: string | null;
  bodyKind: number;
  body: Buffer;
  keepUntil: number;
}

export interface Head {
  rv: string;
  seq: number;
  time: number;
  body: Buffer;
  chain: number;
}

export interface EventRow {
  id: number;
  count: number;
  last_rv: string;
  last_time: number;
  message: string | null;
}

export interface EventRecord {
  uid: string;
  namespace: string;
  name: string;
  involvedGroup: string | null;
  involvedKind: string | null;
  involvedNamespace: string | null;
  involvedName: string | null;
  involvedUid: string | null;
  reason: string | null;
  type: string | null;
  message: string | null;
  source: string | null;
  firstTime: number;
  lastTime: number;
  count: number;
  rv: string;
}

export interface Occurrence {
  seq: number;
  eventId: number;
  rv: string;
  time: number;
  count: number;
  message: string | null;
  keepUntil: number;
}

export interface PolicyCounts {
  changes: number;
  events: number;
  excluded: number;
  ruleErrors: number;
  lastRecorded: number | null;
}

export interface Gap {
  /** Its place in the global sequence. */
  seq: number;
  watch: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  start: number;
  end: number;
  reason: string;
}

export class HistoryWriter {
  readonly db: Db;
  private readonly s;

  constructor(db: Db) {
    this.db = db;
    this.s = {
      findObject: db.prepare<[string], ObjectHead>(
        // A subquery, not a LEFT JOIN: the same plan, but a third of the CPU time per call through
        // better-sqlite3 (8 µs against 28 µs, measured on the benchmark's database).
        `SELECT id, uid, kind, namespace, name, api_version, owner_uid, owner_kind, owner_name, node_name, labels,
           services, last_rv, (SELECT body FROM heads WHERE object_id = objects.id) AS last_body, chain,
           deleted_at, managers
         FROM objects WHERE uid = ?`,
      ),
      insertObject: db.prepare(
        `INSERT INTO objects (uid, api_group, api_version, kind, resource, namespace, name, created_at,
           owner_uid, owner_kind, owner_name, node_name, labels, services, managers, last_rv, last_seq, last_time, last_body, chain)
         VALUES (@uid, @apiGroup, @apiVersion, @kind, @resource, @namespace, @name, @createdAt,
           @ownerUid, @ownerKind, @ownerName, @nodeName, @labels, @services, @managers, @rv, @seq, @time, x'', @chain)`,
      ),
      // Sets no indexed column, so SQLite leaves every index of objects alone.
      advanceHead: db.prepare(
        'UPDATE objects SET last_rv = @rv, last_seq = @seq, last_time = @time, chain = @chain, managers = @managers WHERE id = @id',
      ),
      updateHead: db.prepare(
        `UPDATE objects SET last_rv = @rv, last_seq = @seq, last_time = @time, chain = @chain,
           api_version = @apiVersion, owner_uid = @ownerUid, owner_kind = @ownerKind, owner_name = @ownerName,
           node_name = @nodeName, labels = @labels, services = @services, managers = @managers,
           deleted_at = NULL, deletion = NULL
         WHERE id = @id`,
      ),
      markDeleted: db.prepare(
        'UPDATE objects SET deleted_at = @time, deletion = @deletion, last_rv = @rv, last_seq = @seq, last_time = @time, chain = @chain WHERE id = @id',
      ),
      insertBody: db.prepare<[number, Buffer]>('INSERT INTO heads (object_id, body) VALUES (?, ?)'),
      updateBody: db.prepare<[Buffer, number]>('UPDATE heads SET body = ? WHERE object_id = ?'),
      dropBody: db.prepare<[number]>('DELETE FROM heads WHERE object_id = ?'),
      insertVersion: db.prepare(
        `INSERT OR IGNORE INTO versions (seq, object_id, rv, time, type, inferred, actor, paths, body_kind, body, keep_until)
         VALUES (@seq, @objectId, @rv, @time, @type, @inferred, @actor, @paths, @bodyKind, @body, @keepUntil)`,
      ),
      aliveInScope: db.prepare<[string, string], { id: number; uid: string }>(
        'SELECT id, uid FROM objects WHERE api_group = ? AND resource = ? AND deleted_at IS NULL',
      ),
      aliveInNamespace: db.prepare<[string, string, string], { id: number; uid: string }>(
        'SELECT id, uid FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND deleted_at IS NULL',
      ),
      getCheckpoint: db.prepare<[string], { rv: string; time: number }>(
        'SELECT rv, time FROM checkpoints WHERE watch = ?',
      ),
      setCheckpoint: db.prepare(
        'INSERT INTO checkpoints (watch, rv, time) VALUES (?, ?, ?) ON CONFLICT (watch) DO UPDATE SET rv = excluded.rv, time = excluded.time',
      ),
      insertGap: db.prepare(
        'INSERT INTO gaps (seq, watch, api_group, resource, namespace, start, end, reason) VALUES (@seq, @watch, @apiGroup, @resource, @namespace, @start, @end, @reason)',
      ),
      findEvent: db.prepare<[string], EventRow>(
        'SELECT id, count, last_rv, last_time, message FROM events WHERE uid = ?',
      ),
      insertEvent: db.prepare(
        `INSERT INTO events (uid, namespace, name, involved_group, involved_kind, involved_namespace, involved_name, involved_uid,
           reason, type, message, source, first_time, last_time, count, last_rv)
         VALUES (@uid, @namespace, @name, @involvedGroup, @involvedKind, @involvedNamespace, @involvedName, @involvedUid,
           @reason, @type, @message, @source, @firstTime, @lastTime, @count, @rv)`,
      ),
      updateEvent: db.prepare(
        'UPDATE events SET last_time = @lastTime, count = @count, message = @message, last_rv = @rv WHERE id = @id',
      ),
      insertOccurrence: db.prepare(
        `INSERT OR IGNORE INTO event_occurrences (seq, event_id, rv, time, count, message, keep_until)
         VALUES (@seq, @eventId, @rv, @time, @count, @message, @keepUntil)`,
      ),
      addPolicyCounts: db.prepare(
        `INSERT INTO policy_stats (policy, changes, events, excluded, rule_errors, last_recorded)
         VALUES (@policy, @changes, @events, @excluded, @ruleErrors, @lastRecorded)
         ON CONFLICT (policy) DO UPDATE SET changes = changes + excluded.changes, events = events + excluded.events,
           excluded = policy_stats.excluded + excluded.excluded, rule_errors = rule_errors + excluded.rule_errors,
           last_recorded = max(coalesce(last_recorded, 0), coalesce(excluded.last_recorded, 0))`,
      ),
      maxSeq: db.prepare<[], { seq: number | null }>(
        "SELECT max(coalesce((SELECT max(seq) FROM versions), 0), coalesce((SELECT max(seq) FROM event_occurrences), 0), coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq'), 0)) AS seq",
      ),
      setSeq: db.prepare(
        "INSERT INTO meta (key, value) VALUES ('seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
    };
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** The highest sequence number ever handed out, so numbers are never reused. */
  maxSeq(): number {
    return this.s.maxSeq.get()?.seq ?? 0;
  }

  saveSeq(seq: number): void {
    this.s.setSeq.run(String(seq));
  }

  findObject(uid: string): ObjectHead | undefined {
    return this.s.findObject.get(uid);
  }

  insertObject(id: ObjectIdentity, facts: ObjectFacts, head: Head): number {
    const { body, ...rest } = head;
    const objectId = Number(this.s.insertObject.run({ ...id, ...facts, ...rest }).lastInsertRowid);
    this.s.insertBody.run(objectId, body);
    return objectId;
  }

  /** Moves an object's head to a new version; `prev` is what findObject returned for it. */
  updateHead(prev: ObjectHead, apiVersion: string, facts: ObjectFacts, head: Head): void {
    const { body, ...rest } = head;
    const same =
      prev.deleted_at === null &&
      prev.api_version === apiVersion &&
      prev.owner_uid === facts.ownerUid &&
      prev.owner_kind === facts.ownerKind &&
      prev.owner_name === facts.ownerName &&
      prev.node_name === facts.nodeName &&
      prev.labels === facts.labels &&
      prev.services === facts.services;
    // Most changes touch none of the indexed facts: then no index of objects is rewritten.
    if (same) this.s.advanceHead.run({ id: prev.id, managers: facts.managers, ...rest });
    else this.s.updateHead.run({ id: prev.id, apiVersion, ...facts, ...rest });
    if (prev.last_body === null) this.s.insertBody.run(prev.id, body);
    else this.s.updateBody.run(body, prev.id);
  }

  /** Records an object as deleted; it keeps no last state. */
  markDeleted(objectId: number, deletion: 'observed' | 'inferred', head: Omit<Head, 'body'>): void {
    this.s.markDeleted.run({ id: objectId, deletion, ...head });
    this.s.dropBody.run(objectId);
  }

  /** Inserts a version; false when (object, resourceVersion) was already recorded. */
  insertVersion(v: NewVersion): boolean {
    return this.s.insertVersion.run({ ...v, inferred: v.inferred ? 1 : 0 }).changes > 0;
  }

  /** Objects of a resource recorded as alive, cluster-wide or in one namespace. */
  aliveObjects(
    apiGroup: string,
    resource: string,
    namespace: string | null,
  ): { id: number; uid: string }[] {
    return namespace === null
      ? this.s.aliveInScope.all(apiGroup, resource)
      : this.s.aliveInNamespace.all(apiGroup, resource, namespace);
  }

  checkpoint(watch: string): { rv: string; time: number } | undefined {
    return this.s.getCheckpoint.get(watch);
  }

  setCheckpoint(watch: string, rv: string, time: number): void {
    this.s.setCheckpoint.run(watch, rv, time);
  }

  insertGap(gap: Gap): void {
    this.s.insertGap.run(gap);
  }

  findEvent(uid: string): EventRow | undefined {
    return this.s.findEvent.get(uid);
  }

  insertEvent(e: EventRecord): number {
    return Number(this.s.insertEvent.run(e).lastInsertRowid);
  }

  updateEvent(id: number, e: Pick<EventRecord, 'lastTime' | 'count' | 'message' | 'rv'>): void {
    this.s.updateEvent.run({ id, ...e });
  }

  insertOccurrence(o: Occurrence): boolean {
    return this.s.insertOccurrence.run(o).changes > 0;
  }

  addPolicyCounts(policy: string, c: PolicyCounts): void {
    this.s.addPolicyCounts.run({ policy, ...c });
  }
}
