// Kubernetes Events, core/v1 and events.k8s.io/v1, mapped into one model. Both APIs serve the
// same stored objects, so an Event has one uid whichever API it was read from.
import type { EventRecord } from '../store/writer.ts';

interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
}

interface AnyEvent {
  metadata?: {
    uid?: string;
    namespace?: string;
    name?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  // core/v1
  involvedObject?: ObjectRef;
  message?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  count?: number;
  reportingComponent?: string;
  // events.k8s.io/v1
  regarding?: ObjectRef;
  note?: string;
  reportingController?: string;
  deprecatedSource?: { component?: string };
  deprecatedFirstTimestamp?: string | null;
  deprecatedLastTimestamp?: string | null;
  deprecatedCount?: number;
  // both
  reason?: string;
  type?: string;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
}

function ms(...candidates: (string | null | undefined)[]): number | null {
  for (const c of candidates) {
    if (!c) continue;
    const t = Date.parse(c);
    if (!Number.isNaN(t)) return t;
  }
  return null;
}

function groupOf(apiVersion: string | undefined): string | null {
  if (!apiVersion) return null;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The Event in our model, or null when it lacks an identity. `now` stands in for missing times. */
export function toEventRecord(raw: unknown, now: number): EventRecord | null {
  const e = raw as AnyEvent;
  const meta = e.metadata;
  if (!meta?.uid || !meta.resourceVersion) return null;
  const ref = e.involvedObject ?? e.regarding ?? {};
  const lastTime =
    ms(
      e.series?.lastObservedTime,
      e.lastTimestamp,
      e.deprecatedLastTimestamp,
      e.eventTime,
      meta.creationTimestamp,
    ) ?? now;
  const firstTime =
    ms(e.firstTimestamp, e.deprecatedFirstTimestamp, e.eventTime, meta.creationTimestamp) ??
    lastTime;
  const count = e.series?.count ?? e.count ?? e.deprecatedCount ?? 1;
  return {
    uid: meta.uid,
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    involvedGroup: groupOf(ref.apiVersion),
    involvedKind: ref.kind ?? null,
    involvedNamespace: ref.namespace ?? null,
    involvedName: ref.name ?? null,
    involvedUid: ref.uid ?? null,
    reason: e.reason ?? null,
    type: e.type ?? null,
    message: e.message ?? e.note ?? null,
    source:
      e.reportingController ||
      e.reportingComponent ||
      e.source?.component ||
      e.deprecatedSource?.component ||
      null,
    firstTime: Math.min(firstTime, lastTime),
    lastTime,
    count: Math.max(1, count),
    rv: meta.resourceVersion,
  };
}
