// The read queries behind the REST API, the CLI and the live stream. Every query is bounded (a
// limit, a window, or both), walks indexes (versions_by_object_seq, objects_by_lifespan,
// events_by_time from migration 2, and those of migration 1), and shows a caller only what their
// Access allows: objects by group, resource and namespace, Events as `events` in group ''.
// Paginated queries seek from an opaque cursor (the sort key of the last row looked at), so
// skipped rows never cost a short page and a page costs the same wherever it starts.
//
// Give it a connection of its own, read-only (openDatabase(path, { readonly: true })): WAL lets
// it read while the recorder writes, and each query reads one consistent snapshot (one read
// transaction). Queries are synchronous: keep them off the recorder's connection.
import type { Db } from './db.ts';
import type { Rollout } from './rollouts.ts';
import { Events } from './queries/events.ts';
import { History, type VersionRef } from './queries/history.ts';
import { AliveObjects } from './queries/lifespan.ts';
import { Lookups } from './queries/lookups.ts';
import { Rollouts, type RolloutsQuery } from './queries/rollouts.ts';
import { Search } from './queries/search.ts';
import { Since } from './queries/since.ts';
import { States } from './queries/state.ts';
import { Timelines } from './queries/timeline.ts';
import { writeBundle, type BundleRequest, type BundleSummary } from './bundle.ts';
import { checkSeq } from './queries/params.ts';
import { scopeOf } from './queries/rows.ts';
import {
  QueryError,
  type Access,
  type ChangesQuery,
  type DiffResult,
  type EventsQuery,
  type EventSummary,
  type ObjectChanges,
  type ObjectSummary,
  type Page,
  type ResourceSearch,
  type Scope,
  type SinceQuery,
  type SinceResult,
  type StateEntry,
  type Timeline,
  type TimelineQuery,
  type VersionBody,
  type VersionsQuery,
  type VersionSummary,
} from './queries/types.ts';

export * from './queries/types.ts';
export { HistoryDataError } from './queries/lookups.ts';
export { MAX_LIMIT, SCAN_BUDGET } from './queries/params.ts';
export { SINCE_SPAN } from './queries/since.ts';
export { ROLLOUT_OUTCOMES, type RolloutsQuery } from './queries/rollouts.ts';
export { MAX_BUCKETS, DEFAULT_TIMELINE_ROWS, MAX_TIMELINE_ROWS } from './queries/timeline.ts';
export { DEFAULT_STATE_LIMIT, MAX_STATE_LIMIT, STATE_PAGE_BYTES } from './queries/state.ts';
export type { VersionRef };

export class HistoryQueries {
  private readonly db: Db;
  private readonly lookups: Lookups;
  private readonly history: History;
  private readonly searches: Search;
  private readonly eventList: Events;
  private readonly timelines: Timelines;
  private readonly states: States;
  private readonly log: Since;
  private readonly rolloutList: Rollouts;
  private readonly alive: AliveObjects;

  constructor(db: Db) {
    this.db = db;
    const alive = new AliveObjects(db);
    this.alive = alive;
    this.lookups = new Lookups(db);
    this.history = new History(db, this.lookups);
    this.searches = new Search(db, this.lookups, alive);
    this.eventList = new Events(db);
    this.timelines = new Timelines(db, alive);
    this.states = new States(db, this.lookups, alive);
    this.log = new Since(db, this.lookups);
    this.rolloutList = new Rollouts(db);
  }

  /** Runs `fn` in one read transaction: every statement of a query sees the same snapshot. */
  private read<T>(fn: () => T): T {
    return this.db.inTransaction ? fn() : this.db.transaction(fn).deferred();
  }

  /** Objects by kind, group, namespace, name or prefix, labels; alive in a window or now. */
  searchResources(q: ResourceSearch, access: Access): Page<ObjectSummary> {
    return this.read(() => this.searches.search(q, access));
  }

  object(uid: string, access: Access): ObjectSummary | undefined {
    return this.read(() => {
      const o = this.history.readable(uid, access);
      return o && this.lookups.summary(o);
    });
  }

  /** An object's versions, newest first unless `order: 'asc'`; undefined if it is unknown. */
  versions(uid: string, q: VersionsQuery, access: Access): Page<VersionSummary> | undefined {
    return this.read(() => this.history.versions(uid, q, access));
  }

  version(uid: string, seq: number, access: Access): VersionBody | undefined {
    return this.read(() => this.history.version(uid, seq, access));
  }

  /** The latest version at or before `time`; undefined before the object's first version. */
  at(uid: string, time: number, access: Access): VersionBody | undefined {
    return this.read(() => this.history.at(uid, time, access));
  }

  /** From one version (by seq, or as of a time) to another, as a patch and readable lines. */
  diff(uid: string, from: VersionRef, to: VersionRef, access: Access): DiffResult | undefined {
    return this.read(() => this.history.diff(uid, from, to, access));
  }

  /** Events with at least one occurrence in the window, the most recently occurring first. */
  events(q: EventsQuery, access: Access): Page<EventSummary> {
    return this.read(() => this.eventList.events(q, access));
  }

  timeline(q: TimelineQuery, access: Access): Timeline {
    return this.read(() => this.timelines.timeline(q, access));
  }

  /**
   * Every object of the namespace alive at `at`, with its body as of then, by kind and name, a
   * page at a time (at most `limit` objects, and STATE_PAGE_BYTES of bodies).
   */
  namespaceState(
    namespace: string,
    at: number,
    q: { kinds?: string[]; limit?: number; cursor?: string },
    access: Access,
  ): Page<StateEntry> {
    return this.read(() => this.states.namespaceState(namespace, at, q, access));
  }

  /** Objects that changed in the window, by namespace, kind and name. */
  changes(q: ChangesQuery, access: Access): Page<ObjectChanges> {
    return this.read(() => this.states.changes(q, access));
  }

  /** The sequence number of the newest version or Event occurrence recorded. */
  head(): number {
    return this.log.head();
  }

  /** Rollouts that started in the window, newest first. */
  rollouts(q: RolloutsQuery, access: Access): Page<Rollout> {
    return this.read(() => this.rolloutList.list(q, access));
  }

  rollout(id: number, access: Access): Rollout | undefined {
    return this.read(() => this.rolloutList.one(id, access));
  }

  /**
   * The scope reading an object or a rollout is decided on, so that the API asks the caller's
   * RBAC about that scope alone; undefined when there is no such record. Not an answer to a
   * caller: `asker` only says whose request it serves (the pool queues by it), it is not checked.
   */
  scopeOf(of: { uid: string } | { rollout: number }, asker: Access): Scope | undefined {
    void asker;
    return this.read(() => {
      if ('rollout' in of) return this.rolloutList.scopeOf(checkSeq(of.rollout, 'id'));
      if (typeof of.uid !== 'string') throw new QueryError('uid', 'must be a string');
      const o = this.lookups.objectByUid(of.uid);
      return o && scopeOf(o);
    });
  }

  /**
   * Writes the bundle of `q.namespaces` in `q.window` (what `access` may read of them) to
   * `q.file`, a new history database of its own (bundle.ts).
   */
  bundle(q: BundleRequest, access: Access): BundleSummary {
    return this.read(() => writeBundle(this.db, this.lookups, this.alive, q, access));
  }

  /** Versions and Event occurrences after `seq`; resume from the result's `next`. */
  since(seq: number, q: SinceQuery, access: Access): SinceResult {
    return this.read(() => this.log.since(seq, q, access));
  }
}
