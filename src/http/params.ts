// Parsing and validating API parameters. Each parser names the parameter and what is allowed.
import { parseDuration } from '../duration.ts';
import { badParam, quote } from './problem.ts';

export type Query = Record<string, unknown>;

/** The largest time window a query may span. */
export const MAX_WINDOW_MS = 31 * 24 * 3600 * 1000;
export const MAX_LIMIT = 500;
/** The earliest and latest times, in ms from the epoch, that a Date holds. */
const MAX_TIME_MS = 8.64e15;

/** A single string value, or undefined; repeated parameters are refused. */
export function str(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badParam(name, 'must be given once, as a single value');
  return v;
}

export function required(q: Query, name: string): string {
  const v = str(q, name);
  if (v === undefined || v === '') throw badParam(name, 'is required');
  return v;
}

/**
 * A time: RFC 3339 (`2026-11-22T10:00:00Z`), milliseconds since the epoch, `now`, or relative to
 * now (`-1h`, `-30m`, `-2d`).
 */
export function parseTime(value: string, name: string, now: number): number {
  if (value === 'now') return now;
  if (value.startsWith('-')) {
    const d = parseDuration(value.slice(1));
    if (d !== null) {
      if (now - d < -MAX_TIME_MS)
        throw badParam(
          name,
          `${quote(value)} reaches back before the earliest time there is; use a shorter relative time such as -30d`,
        );
      return now - d;
    }
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  } else if (/^\d{1,15}$/.test(value)) {
    return Number(value);
  }
  throw badParam(
    name,
    `${quote(value)} is not a time: use RFC 3339 (2026-11-22T10:00:00Z), 'now' or a relative time such as -1h or -30m`,
  );
}

export function time(q: Query, name: string, now: number, fallback?: number): number {
  const v = str(q, name);
  if (v === undefined) {
    if (fallback === undefined) throw badParam(name, 'is required');
    return fallback;
  }
  return parseTime(v, name, now);
}

/** A window from `from` to `to` (defaults: the last hour), bounded to MAX_WINDOW_MS. */
export function window(
  q: Query,
  now: number,
  defaultSpanMs = 3600_000,
): { from: number; to: number } {
  const to = time(q, 'to', now, now);
  const from = time(q, 'from', now, to - defaultSpanMs);
  if (from > to) throw badParam('from', `must not be after to (${new Date(to).toISOString()})`);
  if (to - from > MAX_WINDOW_MS)
    throw badParam(
      'from',
      `the window from 'from' to 'to' may span at most ${MAX_WINDOW_MS / 86_400_000} days`,
    );
  return { from, to };
}

export function int(
  q: Query,
  name: string,
  opts: { min: number; max: number; fallback?: number },
): number {
  const v = str(q, name);
  if (v === undefined) {
    if (opts.fallback === undefined) throw badParam(name, 'is required');
    return opts.fallback;
  }
  if (!/^-?\d+$/.test(v)) throw badParam(name, `${quote(v)} is not a whole number`);
  const n = Number(v);
  if (n < opts.min || n > opts.max)
    throw badParam(
      name,
      `must be from ${opts.min} to ${opts.max}, got ${Number.isSafeInteger(n) ? n : quote(v)}`,
    );
  return n;
}

export function limit(q: Query, fallback = 100): number {
  return int(q, 'limit', { min: 1, max: MAX_LIMIT, fallback });
}

export function bool(q: Query, name: string, fallback: boolean): boolean {
  const v = str(q, name);
  if (v === undefined) return fallback;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badParam(name, `must be true or false, got ${quote(v)}`);
}

export function oneOf<T extends string>(
  q: Query,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const v = str(q, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw badParam(name, `must be one of ${allowed.join(', ')}, got ${quote(v)}`);
  return v as T;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

export function namespace(q: Query, name = 'namespace'): string | undefined {
  const v = str(q, name);
  if (v !== undefined && (v.length > 63 || !NAME.test(v)))
    throw badParam(name, `${quote(v)} is not a namespace name`);
  return v;
}

export function kinds(q: Query, name = 'kinds'): string[] | undefined {
  const v = str(q, name);
  if (v === undefined) return undefined;
  const list = v.split(',').filter(Boolean);
  for (const k of list)
    if (!KIND.test(k))
      throw badParam(name, `${quote(k)} is not a kind (such as Pod or Deployment)`);
  if (list.length === 0 || list.length > 50)
    throw badParam(name, 'must list from 1 to 50 kinds, separated by commas');
  return list;
}

export function kind(q: Query, name = 'kind'): string | undefined {
  const v = str(q, name);
  if (v !== undefined && !KIND.test(v))
    throw badParam(name, `${quote(v)} is not a kind (such as Pod or Deployment)`);
  return v;
}

export function objectName(q: Query, name: string): string | undefined {
  const v = str(q, name);
  if (
    v !== undefined &&
    (v.length === 0 || v.length > 253 || !/^[a-zA-Z0-9][-a-zA-Z0-9._:]*$/.test(v))
  ) {
    throw badParam(name, `${quote(v)} is not an object name`);
  }
  return v;
}

export function uid(value: string, name = 'uid'): string {
  if (!/^[0-9a-fA-F-]{1,64}$/.test(value))
    throw badParam(name, `${quote(value)} is not an object uid`);
  return value;
}

export function seq(value: string, name: string): number {
  if (!/^\d{1,15}$/.test(value))
    throw badParam(name, `${quote(value)} is not a version sequence number`);
  return Number(value);
}

export interface Requirement {
  key: string;
  operator: '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** A Kubernetes label selector: `app=web,tier!=db,env in (a,b),track notin (canary),gpu,!spot`. */
export function labelSelector(q: Query, name = 'labelSelector'): Requirement[] | undefined {
  const v = str(q, name);
  if (v === undefined) return undefined;
  const parts = v.match(/[^,()]+(\([^)]*\))?/g) ?? [];
  const out: Requirement[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    let r: Requirement;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) {
      r = {
        key: m[1]!,
        operator: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    } else if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p))) {
      r = { key: m[1]!, operator: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
    } else if ((m = /^!\s*(\S+)$/.exec(p))) {
      r = { key: m[1]!, operator: '!exists', values: [] };
    } else if (/^\S+$/.test(p)) {
      r = { key: p, operator: 'exists', values: [] };
    } else {
      throw badParam(
        name,
        `${quote(p)} is not a label requirement (use key=value, key!=value, key in (a,b), key notin (a), key or !key)`,
      );
    }
    if (!LABEL_KEY.test(r.key)) throw badParam(name, `${quote(r.key)} is not a label key`);
    for (const value of r.values)
      if (!LABEL_VALUE.test(value) || value.length > 63)
        throw badParam(name, `${quote(value)} is not a label value`);
    out.push(r);
  }
  if (out.length === 0) throw badParam(name, 'is empty');
  return out;
}
