// Builds a Sink's batches from the history store: the records of the global sequence after a
// position, filtered, as NDJSON lines. Synchronous (better-sqlite3); it runs on the encoder
// thread (encoder-worker.ts) over a read-only connection of its own.
//
// A batch is defined by its range (after, end]: encoding the same range again yields the same
// records in the same order, which is what makes a retried batch the same batch.
import { applyPatch, type PatchOp } from '../recorder/diff.ts';
import { decodeJson } from '../recorder/codec.ts';
import type { Db } from '../store/db.ts';
import { HistoryReader } from '../store/reader.ts';
import { BODY_SNAPSHOT } from '../store/writer.ts';
import {
  compileFilter,
  isoTime,
  RECORD_SCHEMA,
  type ChangeRecord,
  type EventRecord,
  type GapRecord,
  type OwnerRef,
  type RecordFilter,
} from './record.ts';

/** Sequence numbers one scan looks through at most, so a narrow filter cannot stall the thread. */
export const SCAN_SPAN = 100_000;
/** Log rows read per query. */
const CHUNK = 2000;
/** Object states kept to apply the next patch to, instead of rebuilding from the snapshot. */
const STATE_CACHE = 4000;

export interface ScanRequest {
  /** Records after this sequence number… */
  after: number;
  /** …up to this one (the head when asked, or a planned batch's end). */
  hi: number;
  filter: RecordFilter;
  cluster: string;
  /** Stop once this many records are in (a planned batch's replay passes Infinity). */
  maxRecords: number;
  /** Stop before the NDJSON would exceed this many bytes (a single record always fits). */
  maxBytes: number;
}

export interface ScanResult {
  /** The position scanned to: the batch's range is (after, end]. */
  end: number;
  records: number;
  /** Sequence numbers of the first and last record (0 when none). */
  firstSeq: number;
  lastSeq: number;
  /** Time of the first record (ms), which names its partition. */
  firstTime: number;
  /** One JSON text per record. */
  lines: string[];
  bytes: number;
}

type Json = unknown;

type LogRow = [t: 0 | 1 | 2, seq: number, ref: number, group: string, kind: string, ns: string];

interface VersionRow {
  seq: number;
  rv: string;
  time: number;
  type: 'added' | 'modified' | 'deleted';
  inferred: number;
  actor: string | null;
  paths: string | null;
  body_kind: number;
  body: Buffer;
}

interface ObjectRow {
  uid: string;
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  owner_uid: string | null;
  owner_kind: string | null;
  owner_name: string | null;
  node_name: string | null;
  services: string | null;
}

interface OccurrenceRow {
  rv: string;
  time: number;
  count: number;
  message: string | null;
  event_id: number;
  uid: string;
  namespace: string;
  name: string;
  involved_group: string | null;
  involved_kind: string | null;
  involved_namespace: string | null;
  involved_name: string | null;
  involved_uid: string | null;
  reason: string | null;
  type: string | null;
  event_message: string | null;
  source: string | null;
  first_time: number;
}

interface GapRow {
  seq: number;
  watch: string;
  api_group: string;
  resource: string;
  namespace: string;
  start: number;
  end: number;
  reason: string;
}

function parseList(text: string | null): string[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export class SinkEncoder {
  private readonly s;
  /** Object id → its state at a version, to apply that object's next patch to. */
  private readonly states = new Map<number, { seq: number; doc: Json }>();
  private readonly reader: HistoryReader;

  constructor(db: Db) {
    this.reader = new HistoryReader(db);
    const range = (alias: string) => `${alias}.seq > @lo AND ${alias}.seq <= @hi`;
    this.s = {
      log: db
        .prepare<Record<string, number>, LogRow>(
          `SELECT 0, v.seq, v.object_id, o.api_group, o.kind, o.namespace
             FROM versions v JOIN objects o ON o.id = v.object_id WHERE ${range('v')}
           UNION ALL SELECT 1, x.seq, x.event_id, '', 'Event', e.namespace
             FROM event_occurrences x JOIN events e ON e.id = x.event_id WHERE ${range('x')}
           UNION ALL SELECT 2, g.seq, g.id, g.api_group, '', g.namespace FROM gaps g WHERE ${range('g')}
           ORDER BY 2 LIMIT @n`,
        )
        .raw(true),
      version: db.prepare<[number], VersionRow>(
        'SELECT seq, rv, time, type, inferred, actor, paths, body_kind, body FROM versions WHERE seq = ?',
      ),
      previous: db.prepare<[number, number], { seq: number }>(
        'SELECT seq FROM versions WHERE object_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1',
      ),
      object: db.prepare<[number], ObjectRow>(
        `SELECT uid, api_version, kind, namespace, name, owner_uid, owner_kind, owner_name,
           node_name, services FROM objects WHERE id = ?`,
      ),
      owner: db.prepare<[string], Pick<ObjectRow, 'owner_uid' | 'owner_kind' | 'owner_name'>>(
        'SELECT owner_uid, owner_kind, owner_name FROM objects WHERE uid = ? ORDER BY id DESC LIMIT 1',
      ),
      occurrence: db.prepare<[number], OccurrenceRow>(
        `SELECT x.rv, x.time, x.count, x.message, x.event_id, e.uid, e.namespace, e.name,
           e.involved_group, e.involved_kind, e.involved_namespace, e.involved_name, e.involved_uid,
           e.reason, e.type, e.message AS event_message, e.source, e.first_time
         FROM event_occurrences x JOIN events e ON e.id = x.event_id WHERE x.seq = ?`,
      ),
      // An occurrence stores its message only when it changed: the last one stored up to it.
      message: db.prepare<[number, number], { message: string }>(
        `SELECT message FROM event_occurrences WHERE event_id = ? AND seq <= ? AND message IS NOT NULL
         ORDER BY seq DESC LIMIT 1`,
      ),
      gap: db.prepare<[number], GapRow>(
        'SELECT seq, watch, api_group, resource, namespace, start, end, reason FROM gaps WHERE id = ?',
      ),
    };
  }

  scan(req: ScanRequest): ScanResult {
    const keep = compileFilter(req.filter);
    const hi = Math.min(req.hi, req.after + SCAN_SPAN);
    const out: ScanResult = {
      end: hi,
      records: 0,
      firstSeq: 0,
      lastSeq: 0,
      firstTime: 0,
      lines: [],
      bytes: 0,
    };
    const objects = new Map<number, ObjectRow | undefined>();
    let lo = req.after;
    while (lo < hi) {
      const rows = this.s.log.all({ lo, hi, n: CHUNK });
      for (const [t, seq, ref, group, kind, namespace] of rows) {
        if (!keep({ type: t === 0 ? 'change' : t === 1 ? 'event' : 'gap', group, kind, namespace }))
          continue;
        const line = this.line(t, seq, ref, req.cluster, objects);
        if (line === null) continue;
        const bytes = Buffer.byteLength(line) + 1;
        if (out.records > 0 && out.bytes + bytes > req.maxBytes) {
          out.end = out.lastSeq;
          return out;
        }
        out.lines.push(line);
        out.bytes += bytes;
        out.records++;
        if (out.firstSeq === 0) {
          out.firstSeq = seq;
          out.firstTime = this.lastTime;
        }
        out.lastSeq = seq;
        if (out.records >= req.maxRecords) {
          out.end = seq;
          return out;
        }
      }
      if (rows.length < CHUNK) break;
      lo = (rows.at(-1) as LogRow)[1];
    }
    return out;
  }

  /** Matching records in (after, hi]: a Sink's pending count. Reads no bodies. */
  count(after: number, hi: number, filter: RecordFilter): number {
    const keep = compileFilter(filter);
    let n = 0;
    let lo = after;
    while (lo < hi) {
      const rows = this.s.log.all({ lo, hi, n: 20_000 });
      for (const [t, , , group, kind, namespace] of rows)
        if (keep({ type: t === 0 ? 'change' : t === 1 ? 'event' : 'gap', group, kind, namespace }))
          n++;
      if (rows.length < 20_000) break;
      lo = (rows.at(-1) as LogRow)[1];
    }
    return n;
  }

  /** Time (ms) of the record last built. */
  private lastTime = 0;

  private line(
    t: 0 | 1 | 2,
    seq: number,
    ref: number,
    cluster: string,
    objects: Map<number, ObjectRow | undefined>,
  ): string | null {
    if (t === 0) {
      if (!objects.has(ref)) objects.set(ref, this.s.object.get(ref));
      const o = objects.get(ref);
      const v = this.s.version.get(seq);
      if (!o || !v) return null;
      return JSON.stringify(this.change(cluster, ref, o, v));
    }
    if (t === 1) {
      const x = this.s.occurrence.get(seq);
      return x ? JSON.stringify(this.event(cluster, seq, x)) : null;
    }
    const g = this.s.gap.get(ref);
    return g ? JSON.stringify(this.gapRecord(cluster, g)) : null;
  }

  private change(cluster: string, objectId: number, o: ObjectRow, v: VersionRow): ChangeRecord {
    this.lastTime = v.time;
    const object = this.stateAt(objectId, v);
    const meta = (object as { metadata?: { labels?: Record<string, string> } } | null)?.metadata;
    return {
      schema: RECORD_SCHEMA,
      seq: v.seq,
      id: `${o.uid}/${v.rv}`,
      cluster,
      time: isoTime(v.time),
      type: 'change',
      change: v.type,
      inferred: v.inferred !== 0,
      apiVersion: o.api_version,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      uid: o.uid,
      resourceVersion: v.rv,
      actor: v.actor,
      changedPaths: parseList(v.paths),
      object,
      enrichment: {
        owners: this.owners(o),
        node:
          (object as { spec?: { nodeName?: string } } | null)?.spec?.nodeName ??
          o.node_name ??
          null,
        services: parseList(o.services),
        labels: meta?.labels ?? {},
      },
    };
  }

  /** The object's state at version v: the cached previous state patched, or a rebuild. */
  private stateAt(objectId: number, v: VersionRow): Json {
    let doc: Json;
    const cached = this.states.get(objectId);
    if (v.body_kind === BODY_SNAPSHOT) {
      doc = decodeJson(v.body);
    } else if (cached && this.s.previous.get(objectId, v.seq)?.seq === cached.seq) {
      doc = applyPatch(cached.doc, decodeJson(v.body) as PatchOp[]);
    } else {
      doc = this.reader.bodyAt(objectId, v.seq);
    }
    // The cached state is patched in place next time: what this record holds is serialized
    // before that.
    this.states.delete(objectId);
    if (v.type !== 'deleted') {
      this.states.set(objectId, { seq: v.seq, doc });
      if (this.states.size > STATE_CACHE) {
        const oldest = this.states.keys().next().value as number;
        this.states.delete(oldest);
      }
    }
    return doc;
  }

  private owners(o: ObjectRow): OwnerRef[] {
    const chain: OwnerRef[] = [];
    let next: Pick<ObjectRow, 'owner_uid' | 'owner_kind' | 'owner_name'> | undefined = o;
    while (next?.owner_uid && chain.length < 8) {
      chain.push({ kind: next.owner_kind ?? '', name: next.owner_name ?? '', uid: next.owner_uid });
      next = this.s.owner.get(next.owner_uid);
    }
    return chain;
  }

  private event(cluster: string, seq: number, x: OccurrenceRow): EventRecord {
    this.lastTime = x.time;
    const message = x.message ?? this.s.message.get(x.event_id, seq)?.message ?? x.event_message;
    return {
      schema: RECORD_SCHEMA,
      seq,
      id: `${x.uid}/${x.rv}`,
      cluster,
      time: isoTime(x.time),
      type: 'event',
      kind: 'Event',
      namespace: x.namespace,
      name: x.name,
      uid: x.uid,
      resourceVersion: x.rv,
      reason: x.reason,
      eventType: x.type,
      message,
      count: x.count,
      firstTime: isoTime(x.first_time),
      source: x.source,
      involvedObject: {
        apiGroup: x.involved_group,
        kind: x.involved_kind,
        namespace: x.involved_namespace,
        name: x.involved_name,
        uid: x.involved_uid,
      },
    };
  }

  private gapRecord(cluster: string, g: GapRow): GapRecord {
    this.lastTime = g.end;
    return {
      schema: RECORD_SCHEMA,
      seq: g.seq,
      id: `gap/${g.watch}/${g.start}`,
      cluster,
      time: isoTime(g.end),
      type: 'gap',
      watch: g.watch,
      apiGroup: g.api_group,
      resource: g.resource,
      namespace: g.namespace,
      start: isoTime(g.start),
      end: isoTime(g.end),
      reason: g.reason,
    };
  }
}
