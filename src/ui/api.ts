// Requests to /api/v1 from the browser: the bearer token (kept in sessionStorage, so it goes away
// with the tab) and errors that say what happened.
import type { Problem } from './types.ts';

const TOKEN_KEY = 'hindsight.token';

export type ErrorKind = 'auth' | 'forbidden' | 'not-found' | 'bad-request' | 'server' | 'network';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly kind: ErrorKind;
  readonly status: number | null;

  constructor(kind: ErrorKind, status: number | null, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.status = status;
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
}

type Params = Record<string, string | number | boolean | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return `/api/v1${path}${qs ? `?${qs}` : ''}`;
}

function kindOf(status: number): ErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status >= 400 && status < 500) return 'bad-request';
  return 'server';
}

/** GET of an API path; throws ApiError naming what went wrong. */
export async function get<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  const token = storedToken();
  let res: Response;
  try {
    res = await fetch(apiUrl(path, params), {
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: signal ?? null,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(
      'network',
      null,
      `cannot reach the Hindsight API at ${location.origin} (${(err as Error).message}); check that the operator is running and that your port-forward is still open`,
      { cause: err },
    );
  }
  if (res.ok) return (await res.json()) as T;
  let detail = `${res.status} ${res.statusText}`;
  try {
    const p = (await res.json()) as Partial<Problem>;
    if (p.detail) detail = p.detail;
  } catch {
    // Not a problem document (a proxy's error page): the status line says enough.
  }
  throw new ApiError(kindOf(res.status), res.status, detail);
}

/** Every page of a paginated list, up to `maxPages`. */
export async function getAll<T>(
  path: string,
  params: Params,
  signal?: AbortSignal,
  maxPages = 10,
): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await get<{ items: T[]; next: string | null }>(
      path,
      { ...params, limit: 500, cursor },
      signal,
    );
    items.push(...page.items);
    if (!page.next) return { items, complete: true };
    cursor = page.next;
  }
  return { items, complete: false };
}
