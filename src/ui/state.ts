// The timeline's whole view state, kept in the URL's query string so a link shows the same view.
// Pure: no DOM, so the unit tests run it in Node.

export interface TimelineState {
  namespace: string;
  /** Kinds shown; empty means every kind. */
  kinds: string[];
  /** Shown: objects whose name, or an owner's name, contains this. */
  name: string;
  /** A Kubernetes label selector, e.g. `app=web`. */
  label: string;
  /** A fixed window (ms since the epoch), or null for the last `range` ms until now. */
  from: number | null;
  to: number | null;
  range: number;
}

export const DEFAULT_RANGE_MS = 3600_000;
/** The API refuses windows longer than 31 days; zooming out stops there. */
export const MAX_SPAN_MS = 31 * 86_400_000;
/** Zooming in stops at a second: a rollout on a fast cluster takes about that long. */
export const MIN_SPAN_MS = 1000;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

export function parseRange(text: string | null): number | null {
  const m = /^(\d+)([smhd])$/.exec(text ?? '');
  if (!m) return null;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms >= MIN_SPAN_MS && ms <= MAX_SPAN_MS ? ms : null;
}

export function formatRange(ms: number): string {
  for (const u of ['d', 'h', 'm', 's']) {
    if (ms % UNITS[u]! === 0) return `${ms / UNITS[u]!}${u}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

function parseInstant(text: string | null): number | null {
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text);
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

export function parseState(search: string): TimelineState {
  const q = new URLSearchParams(search);
  const from = parseInstant(q.get('from'));
  const to = parseInstant(q.get('to'));
  const fixed = from !== null && to !== null && from < to && to - from <= MAX_SPAN_MS;
  return {
    namespace: q.get('namespace')?.trim() ?? '',
    kinds: (q.get('kinds') ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    name: q.get('name') ?? '',
    label: q.get('label') ?? '',
    from: fixed ? from : null,
    to: fixed ? to : null,
    range: parseRange(q.get('range')) ?? DEFAULT_RANGE_MS,
  };
}

/** The query string of a state (without '?'); defaults are left out to keep links short. */
export function serializeState(s: TimelineState): string {
  const q = new URLSearchParams();
  if (s.namespace) q.set('namespace', s.namespace);
  if (s.kinds.length > 0) q.set('kinds', s.kinds.join(','));
  if (s.name) q.set('name', s.name);
  if (s.label) q.set('label', s.label);
  if (s.from !== null && s.to !== null) {
    q.set('from', new Date(s.from).toISOString());
    q.set('to', new Date(s.to).toISOString());
  } else if (s.range !== DEFAULT_RANGE_MS) {
    q.set('range', formatRange(s.range));
  }
  return q.toString().replaceAll('%2C', ',').replaceAll('%3A', ':');
}

export interface Window {
  from: number;
  to: number;
}

export function windowOf(s: TimelineState, now: number): Window {
  if (s.from !== null && s.to !== null) return { from: s.from, to: s.to };
  return { from: now - s.range, to: now };
}

function clampSpan(span: number): number {
  return Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, span));
}

/** Zooms by `factor` (<1 in, >1 out) keeping the instant at `anchor` (0..1 across) in place. */
export function zoom(w: Window, factor: number, anchor = 0.5): Window {
  const span = w.to - w.from;
  const next = clampSpan(span * factor);
  const at = w.from + span * anchor;
  const from = Math.round(at - next * anchor);
  return { from, to: from + Math.round(next) };
}

/** Moves the window by `fraction` of its span (negative: back in time). */
export function pan(w: Window, fraction: number): Window {
  const d = Math.round((w.to - w.from) * fraction);
  return { from: w.from + d, to: w.to + d };
}

export function withWindow(s: TimelineState, w: Window): TimelineState {
  return { ...s, from: w.from, to: w.to };
}
