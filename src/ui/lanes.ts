// Orders timeline rows into swimlanes grouped by owner chain (Deployment → ReplicaSet → Pod), and
// applies the filters the API does not. Pure: no DOM.
import type { TimelineRow } from './types.ts';

export interface Lane {
  row: TimelineRow;
  /** 0 for a root; an owned object sits one deeper than its owner. */
  depth: number;
  /** The nearest owner when it is not drawn above (filtered out or not recorded). */
  orphanOf: string | null;
}

// Workload kinds first, in the order one reads a rollout; then everything else alphabetically.
const KIND_ORDER = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'CronJob',
  'Job',
  'ReplicaSet',
  'Pod',
  'Service',
];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}

function compare(a: TimelineRow, b: TimelineRow): number {
  return (
    kindRank(a.kind) - kindRank(b.kind) ||
    a.kind.localeCompare(b.kind) ||
    (a.lifespan.start ?? 0) - (b.lifespan.start ?? 0) ||
    a.name.localeCompare(b.name)
  );
}

/** Lanes in drawing order: each root followed by what it owns, depth first. */
export function groupLanes(rows: TimelineRow[]): Lane[] {
  const byUid = new Map(rows.map((r) => [r.uid, r]));
  const children = new Map<string, TimelineRow[]>();
  const roots: TimelineRow[] = [];
  for (const r of rows) {
    const owner = r.ownerChain[0];
    if (owner && owner.uid !== r.uid && byUid.has(owner.uid)) {
      const list = children.get(owner.uid) ?? [];
      list.push(r);
      children.set(owner.uid, list);
    } else {
      roots.push(r);
    }
  }
  const lanes: Lane[] = [];
  const seen = new Set<string>();
  const visit = (r: TimelineRow, depth: number) => {
    if (seen.has(r.uid)) return;
    seen.add(r.uid);
    const owner = r.ownerChain[0];
    lanes.push({
      row: r,
      depth,
      orphanOf: depth === 0 && owner ? `${owner.kind} ${owner.name}` : null,
    });
    for (const c of (children.get(r.uid) ?? []).sort(compare)) visit(c, depth + 1);
  };
  for (const r of roots.sort(compare)) visit(r, 0);
  // Rows in an ownership cycle (not something Kubernetes allows, but data is data) still show.
  for (const r of rows) visit(r, 0);
  return lanes;
}

export interface RowFilter {
  kinds: string[];
  name: string;
  /** uids of objects the label selector matched; null when there is no label filter. */
  labelled: Set<string> | null;
}

/**
 * A row passes when its kind is chosen, and its name (or an owner's, so filtering by a
 * Deployment's name shows its ReplicaSets and Pods too) contains the name filter, and it (or an
 * owner) matched the label selector.
 */
export function filterRows(rows: TimelineRow[], f: RowFilter): TimelineRow[] {
  const name = f.name.trim().toLowerCase();
  return rows.filter((r) => {
    if (f.kinds.length > 0 && !f.kinds.includes(r.kind)) return false;
    if (
      name &&
      !r.name.toLowerCase().includes(name) &&
      !r.ownerChain.some((o) => o.name.toLowerCase().includes(name))
    )
      return false;
    if (f.labelled && !f.labelled.has(r.uid) && !r.ownerChain.some((o) => f.labelled!.has(o.uid)))
      return false;
    return true;
  });
}

/** The kinds present, with how many rows each, in lane order. */
export function kindCounts(rows: TimelineRow[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  return [...counts].sort((a, b) => kindRank(a[0]) - kindRank(b[0]) || a[0].localeCompare(b[0]));
}
