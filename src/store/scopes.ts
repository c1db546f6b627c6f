// The scopes history exists for (API group, resource, namespace; '' for cluster-scoped), over
// which a caller's access is computed. Kept current on every call at the cost of an index range
// read: objects and Events stored since the last call add their scopes at once, so a kind or
// namespace recorded a moment ago is readable a moment later. A full recount now and then drops
// scopes whose history retention removed.
import type { Db } from './db.ts';

export interface StoredScope {
  group: string;
  resource: string;
  namespace: string;
}

const FULL_EVERY_MS = 5 * 60_000;

export class ScopeCache {
  private readonly s;
  private readonly now: () => number;
  private byKey = new Map<string, StoredScope>();
  private list: StoredScope[] = [];
  private lastObject = 0;
  private lastEvent = 0;
  private fullAt = -Infinity;

  constructor(db: Db, now: () => number = Date.now) {
    this.now = now;
    this.s = {
      objectsAfter: db.prepare<[number], StoredScope & { id: number }>(
        `SELECT max(id) AS id, api_group AS "group", resource, namespace FROM objects
         WHERE id > ? GROUP BY api_group, resource, namespace`,
      ),
      eventsAfter: db.prepare<[number], { id: number; namespace: string }>(
        'SELECT max(id) AS id, namespace FROM events WHERE id > ? GROUP BY namespace',
      ),
    };
  }

  current(): StoredScope[] {
    let changed = false;
    if (this.now() - this.fullAt > FULL_EVERY_MS) {
      this.fullAt = this.now();
      this.byKey = new Map();
      this.lastObject = 0;
      this.lastEvent = 0;
      changed = true;
    }
    for (const r of this.s.objectsAfter.all(this.lastObject)) {
      this.lastObject = Math.max(this.lastObject, r.id);
      changed =
        this.add({ group: r.group, resource: r.resource, namespace: r.namespace }) || changed;
    }
    for (const r of this.s.eventsAfter.all(this.lastEvent)) {
      this.lastEvent = Math.max(this.lastEvent, r.id);
      changed = this.add({ group: '', resource: 'events', namespace: r.namespace }) || changed;
    }
    if (changed) this.list = [...this.byKey.values()];
    return this.list;
  }

  private add(s: StoredScope): boolean {
    const key = `${s.group}\u0000${s.resource}\u0000${s.namespace}`;
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, s);
    return true;
  }
}
