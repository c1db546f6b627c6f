// Times as the CLI reads them (RFC 3339, `now`, `-1h` or `1h` meaning an hour ago) and writes them
// (RFC 3339 in UTC, which can be pasted back into --at, and ages such as `5m ago`).
import { parseDuration } from '../duration.ts';
import { UsageError } from './errors.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an instant; `flag` names where it came from in the error. */
export function parseInstant(text: string, flag: string, now: number): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (RFC3339.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return ms;
  }
  const ago = /^-?(\S+?)(\s*ago)?$/.exec(t);
  const d = ago ? parseDuration(ago[1]!) : null;
  if (d !== null) return now - d;
  throw new UsageError(
    `${flag} '${text}' is not a time: use RFC 3339 (2026-11-22T10:00:00Z), 'now', or a time ago such as 1h, 30m or 2d`,
  );
}

/** An end of a diff: a version sequence number (a plain number) or an instant. */
export type DiffEnd = { seq: number } | { time: number };

export function parseDiffEnd(text: string, flag: string, now: number): DiffEnd {
  if (/^\d{1,15}$/.test(text.trim())) return { seq: Number(text.trim()) };
  try {
    return { time: parseInstant(text, flag, now) };
  } catch {
    throw new UsageError(
      `${flag} '${text}' is neither a version number (see 'hindsight history') nor a time (RFC 3339, 'now', or a time ago such as 1h)`,
    );
  }
}

/** RFC 3339 in UTC to the second: `2026-11-22T10:00:00Z`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How long ago, kubectl style: `12s`, `5m`, `3h12m`, `4d`. */
export function formatAge(ms: number, now: number): string {
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 10) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 10) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  return `${d}d`;
}

/** `5m ago`. */
export function ago(ms: number, now: number): string {
  return `${formatAge(ms, now)} ago`;
}
