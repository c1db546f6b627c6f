// Who made a change, read from metadata.managedFields: the API server stamps an entry per field
// manager (manager, operation, subresource) with the time that manager last changed a field it
// owns. Comparing the stamps before and after a change names the writers of that change.

/** A field manager that took part in a change. Serializes compactly (no subresource key if none). */
export interface Actor {
  manager: string;
  /** `Update` or `Apply` (server-side apply). */
  operation: string;
  /** e.g. `status` or `scale`; absent for the main resource. */
  subresource?: string;
}

/**
 * The part of a managedFields entry this module reads. Raw entries fit it as they are; the
 * recorder keeps just these (from `managersOf`, a few dozen bytes of JSON) for the next change,
 * since the stored state has no managedFields once ignore-fields dropped them.
 */
export interface ManagerStamp extends Actor {
  time?: string;
}

/** The manager stamps of an object's metadata.managedFields, without the field sets. */
export function managersOf(obj: unknown): ManagerStamp[] {
  const entries = managedFieldsOf(obj);
  const stamps: ManagerStamp[] = [];
  for (const entry of entries) {
    const stamp: ManagerStamp = { manager: entry.manager, operation: entry.operation };
    if (entry.subresource !== undefined) stamp.subresource = entry.subresource;
    if (entry.time !== undefined) stamp.time = entry.time;
    stamps.push(stamp);
  }
  return stamps;
}

/** The well-formed entries of metadata.managedFields (the array itself when all are). */
export function managedFieldsOf(obj: unknown): readonly ManagerStamp[] {
  if (typeof obj !== 'object' || obj === null) return [];
  const metadata = (obj as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return [];
  const entries = (metadata as { managedFields?: unknown }).managedFields;
  if (!Array.isArray(entries)) return [];
  return entries.every(isStamp) ? entries : entries.filter(isStamp);
}

function isStamp(entry: unknown): entry is ManagerStamp {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Record<string, unknown>;
  return (
    typeof e.manager === 'string' &&
    typeof e.operation === 'string' &&
    (e.subresource === undefined || typeof e.subresource === 'string') &&
    (e.time === undefined || typeof e.time === 'string')
  );
}

function stampKey(s: ManagerStamp): string {
  return `${s.manager}\0${s.operation}\0${s.subresource ?? ''}`;
}

function toActor(s: ManagerStamp): Actor {
  return s.subresource === undefined || s.subresource === ''
    ? { manager: s.manager, operation: s.operation }
    : { manager: s.manager, operation: s.operation, subresource: s.subresource };
}

/**
 * Who made the change from `prev` to `next` (manager stamps from `managersOf`, or raw
 * managedFields): the managers whose entries are new in `next` or whose time changed. When none
 * did (a delete, a change to untracked fields) or there is no `prev` (null: first sight of the
 * object, where every entry is "new"), the managers whose time is the latest. Empty when `next`
 * has no entries.
 */
export function actorsOfChange(
  prev: readonly ManagerStamp[] | null | undefined,
  next: readonly ManagerStamp[],
): Actor[] {
  if (next.length === 0) return [];
  const actors: Actor[] = [];
  const seen = new Set<string>();
  if (prev !== null && prev !== undefined) {
    const before = new Map<string, string | undefined>();
    for (const s of prev) before.set(stampKey(s), s.time);
    for (const s of next) {
      const key = stampKey(s);
      if (seen.has(key)) continue;
      if (!before.has(key) || before.get(key) !== s.time) {
        seen.add(key);
        actors.push(toActor(s));
      }
    }
    if (actors.length > 0) return actors;
  }
  // managedFields times are RFC 3339 UTC at second precision, so strings order like times.
  let latest: string | undefined;
  for (const s of next)
    if (s.time !== undefined && (latest === undefined || s.time > latest)) latest = s.time;
  if (latest === undefined) return [];
  for (const s of next) {
    if (s.time !== latest) continue;
    const key = stampKey(s);
    if (seen.has(key)) continue;
    seen.add(key);
    actors.push(toActor(s));
  }
  return actors;
}

/** `kubectl-client-side-apply (Update), kube-controller-manager (Update status)`. */
export function formatActors(actors: readonly Actor[]): string {
  return actors
    .map((a) =>
      a.subresource === undefined
        ? `${a.manager} (${a.operation})`
        : `${a.manager} (${a.operation} ${a.subresource})`,
    )
    .join(', ');
}
