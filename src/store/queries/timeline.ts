// The timeline of a namespace: one row per object alive in the window, owners before what they
// own (Deployment, its ReplicaSets, their Pods), with lifespans, change ticks, Event counts per
// time bucket by severity, and the gaps in which history may be incomplete.
import type { Db } from '../db.ts';
import type { VersionType } from '../writer.ts';
import { namespaceOccurrencesSql } from './events.ts';
import type { AliveObjects } from './lifespan.ts';
import { checkWindow, memoAccess, readableResources } from './params.ts';
import { eventScope, scopeOf, type SlimRow } from './rows.ts';
import {
  QueryError,
  type Access,
  type OwnerRef,
  type Timeline,
  type TimelineGap,
  type TimelineQuery,
  type TimelineRow,
} from './types.ts';

export const MAX_BUCKETS = 10_000;
export const DEFAULT_TIMELINE_ROWS = 2_000;
/** The most rows one timeline answers: a day of a busy namespace is tens of thousands. */
export const MAX_TIMELINE_ROWS = 50_000;
/** Owner chains longer than this are cut (and cycles, which a corrupt history could hold). */
const MAX_OWNER_DEPTH = 8;

interface Node {
  uid: string;
  kind: string;
  name: string;
  owner_uid: string | null;
  owner_kind: string | null;
  owner_name: string | null;
  created_at: number | null;
}

/**
 * One step of a row's path from its root owner, as a string whose order is the rows' order:
 * roots by name, kind, uid; owned objects by creation (the old ReplicaSet above the new one),
 * name, uid. Steps join with \u0001 and fields with \u0000, below any character of a name, so
 * comparing two joined paths compares them step by step and a path sorts right before the
 * paths it is a prefix of (depth first). Strings compare natively: far cheaper than comparators
 * walking step objects, for the hundred thousand rows of a busy day.
 */
function stepKey(kind: string, name: string, uid: string, start: number | null, root: boolean) {
  if (root) return `${name}\u0000${kind}\u0000${uid}`;
  return `${start === null ? '' : String(start).padStart(16, '0')}\u0000${name}\u0000${uid}`;
}

export class Timelines {
  private readonly alive: AliveObjects;
  private readonly s;

  constructor(db: Db, alive: AliveObjects) {
    this.alive = alive;
    this.s = {
      node: db.prepare<[string], Node>(
        'SELECT uid, kind, name, owner_uid, owner_kind, owner_name, created_at FROM objects WHERE uid = ?',
      ),
      // One statement for every row's ticks: the loop runs in SQLite, on the covering index
      // versions_by_object_seq, in sequence order per object.
      ticks: db
        .prepare<[string, number, number], [number, number, number, VersionType]>(
          `SELECT v.object_id, v.seq, v.time, v.type FROM json_each(?) j
           CROSS JOIN versions v ON v.object_id = j.value WHERE v.time >= ? AND v.time <= ?`,
        )
        .raw(true),
      events: db
        .prepare<Record<string, unknown>, [string | null, string | null, number, number]>(
          namespaceOccurrencesSql(),
        )
        .raw(true),
      gaps: db.prepare<[number, number, string], TimelineGap>(
        `SELECT watch, api_group AS "group", resource, namespace, start, end, reason FROM gaps
         WHERE end >= ? AND start <= ? AND namespace IN ('', ?) ORDER BY start, id`,
      ),
      clusterScoped: db.prepare<[string, string], { one: number }>(
        `SELECT 1 AS one FROM objects WHERE api_group = ? AND resource = ? AND namespace = ''
         AND deleted_at IS NULL LIMIT 1`,
      ),
    };
  }

  timeline(q: TimelineQuery, access: Access): Timeline {
    const w = checkWindow(q.window);
    if (typeof q.namespace !== 'string') throw new QueryError('namespace', 'must be a string');
    if (!Number.isInteger(q.buckets) || q.buckets < 1 || q.buckets > MAX_BUCKETS) {
      throw new QueryError('buckets', `must be an integer from 1 to ${MAX_BUCKETS}`);
    }
    const limit = q.limit ?? DEFAULT_TIMELINE_ROWS;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TIMELINE_ROWS) {
      throw new QueryError('limit', `must be an integer from 1 to ${MAX_TIMELINE_ROWS}`);
    }
    if (q.kinds && !q.kinds.every((k) => typeof k === 'string')) {
      throw new QueryError('kinds', 'must be a list of kind names');
    }
    const can = memoAccess(access);
    const ns = q.namespace;
    const bucketMs = Math.max(1, Math.ceil((w.to - w.from + 1) / q.buckets));

    // The caller's resources in this namespace are selected in SQL: what they may not read is
    // never read, and a caller who may read nothing here costs nothing.
    const resources = readableResources(access, ns);
    const objects =
      resources === '[]'
        ? []
        : this.alive
            .list(ns, w.from, w.to, { kinds: q.kinds, resources: resources ?? undefined })
            .filter((o) => can(scopeOf(o)));
    const ordered = this.order(objects);
    const truncated = ordered.length > limit;
    if (truncated) ordered.length = limit;

    const rows: TimelineRow[] = [];
    const byId = new Map<number, TimelineRow>();
    const byUid = new Map<string, number>();
    for (const { o, chain } of ordered) {
      const row: TimelineRow = {
        uid: o.uid,
        group: o.api_group,
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        ownerChain: chain,
        lifespan: { start: o.created_at, end: o.deleted_at, deletion: o.deletion },
        changes: [],
        events: [],
      };
      rows.push(row);
      byId.set(o.id, row);
      byUid.set(o.uid, rows.length - 1);
    }
    if (rows.length) {
      // Per object in sequence order: the join walks the index range of each id in turn, so
      // the rows of one object come together and one map lookup serves them all.
      const ids = JSON.stringify([...byId.keys()]);
      let lastId = -1;
      let changes: TimelineRow['changes'] | undefined;
      for (const [objectId, seq, time, type] of this.s.ticks.all(ids, w.from, w.to)) {
        if (objectId !== lastId) {
          lastId = objectId;
          changes = byId.get(objectId)?.changes;
        }
        changes?.push({ seq, time, type });
      }
    }
    if (rows.length && can(eventScope(ns))) this.heatmap(rows, byUid, ns, w, q.buckets, bucketMs);
    return { window: w, bucketMs, rows, gaps: this.gaps(ns, w, can), truncated };
  }

  /**
   * Event counts per row and bucket, by severity. One map keyed by row and bucket together (one
   * lookup per occurrence, for the hundred thousand occurrences of a busy day), then per row.
   */
  private heatmap(
    rows: TimelineRow[],
    byUid: Map<string, number>,
    ns: string,
    w: { from: number; to: number },
    buckets: number,
    bucketMs: number,
  ): void {
    const cells = new Map<number, { normal: number; warning: number }>();
    for (const [uid, type, time, count] of this.s.events.all({ ns, from: w.from, to: w.to })) {
      const row = uid === null ? undefined : byUid.get(uid);
      if (row === undefined) continue;
      const key = row * buckets + Math.min(buckets - 1, Math.floor((time - w.from) / bucketMs));
      let cell = cells.get(key);
      if (!cell) cells.set(key, (cell = { normal: 0, warning: 0 }));
      if (type === 'Warning') cell.warning += count;
      else cell.normal += count;
    }
    const keys = [...cells.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const row = rows[Math.floor(key / buckets)] as TimelineRow;
      row.events.push({
        bucket: key % buckets,
        ...(cells.get(key) as { normal: number; warning: number }),
      });
    }
  }

  /** Objects with their owner chains, in depth-first owner order. */
  private order(objects: SlimRow[]): { o: SlimRow; chain: OwnerRef[] }[] {
    const known = new Map<string, Node | null>();
    for (const o of objects) known.set(o.uid, o);
    const lookup = (uid: string): Node | null => {
      let n = known.get(uid);
      if (n === undefined) {
        n = this.s.node.get(uid) ?? null;
        known.set(uid, n);
      }
      return n;
    };
    type Step = { kind: string; name: string; uid: string; start: number | null };
    const keyOf = (steps: Step[]) => {
      let key = '';
      for (let i = steps.length - 1; i >= 0; i--) {
        const st = steps[i] as Step;
        key +=
          (i === steps.length - 1 ? '' : '\u0001') +
          stepKey(st.kind, st.name, st.uid, st.start, i === steps.length - 1);
      }
      return key;
    };
    /** Walks up from `cur`, adding to chain and steps, as far as owners go. */
    const walk = (cur: Node, chain: OwnerRef[], steps: Step[], seen: Set<string>) => {
      while (cur.owner_uid !== null && chain.length < MAX_OWNER_DEPTH && !seen.has(cur.owner_uid)) {
        const ref = { kind: cur.owner_kind ?? '', name: cur.owner_name ?? '', uid: cur.owner_uid };
        chain.push(ref);
        seen.add(ref.uid);
        const owner = lookup(ref.uid);
        steps.push({ ...ref, start: owner?.created_at ?? null });
        if (!owner) break;
        cur = owner;
      }
    };
    // Siblings share what is above them (a ReplicaSet's Pods, its Deployment): walked once per
    // owner reference. A walk that would meet the object itself again (a cycle) is done apart.
    const above = new Map<string, { chain: OwnerRef[]; prefix: string; seen: Set<string> }>();
    const out = objects.map((o) => {
      const self: Step = { kind: o.kind, name: o.name, uid: o.uid, start: o.created_at };
      if (o.owner_uid !== null && o.owner_uid !== o.uid) {
        const refKey = `${o.owner_uid}\u0000${o.owner_kind ?? ''}\u0000${o.owner_name ?? ''}`;
        let up = above.get(refKey);
        if (!up) {
          const chain: OwnerRef[] = [];
          const steps: Step[] = [];
          const seen = new Set<string>();
          walk(o, chain, steps, seen);
          up = { chain, prefix: keyOf(steps), seen };
          above.set(refKey, up);
        }
        if (!up.seen.has(o.uid)) {
          const key = `${up.prefix}\u0001${stepKey(self.kind, self.name, self.uid, self.start, false)}`;
          return { o, chain: up.chain.slice(), key };
        }
      }
      const chain: OwnerRef[] = [];
      const steps: Step[] = [self];
      walk(o, chain, steps, new Set([o.uid]));
      return { o, chain, key: keyOf(steps) };
    });
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out.map(({ o, chain }) => ({ o, chain }));
  }

  /**
   * Gaps of watches over this namespace or over all namespaces, of resources the caller may
   * read there. Gaps of cluster-scoped resources (Nodes) say nothing about a namespace.
   */
  private gaps(
    ns: string,
    w: { from: number; to: number },
    can: (s: { group: string; resource: string; namespace: string }) => boolean,
  ): TimelineGap[] {
    return this.s.gaps
      .all(w.from, w.to, ns)
      .filter(
        (g) =>
          can({ group: g.group, resource: g.resource, namespace: ns }) &&
          (g.namespace === ns ||
            ns === '' ||
            this.s.clusterScoped.get(g.group, g.resource) === undefined),
      );
  }
}
