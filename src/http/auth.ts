// Authentication and authorization through Kubernetes: callers present a bearer token, checked
// with a TokenReview, and see history only of the resources and namespaces their RBAC lets them
// read now (SubjectAccessReviews). Answers are cached briefly (least recently used evicted first),
// per token and per caller's full user info. A client address whose tokens keep being refused is
// throttled before it can make the operator send a TokenReview per made-up token.
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { KubeHttp } from '../kube/http.ts';
import { ProblemError } from './problem.ts';

export interface Caller {
  user: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface Scope {
  group: string;
  resource: string;
  namespace: string;
}

/** What a caller may read; the store's queries filter with it. */
export interface Access {
  allows(r: Scope): boolean;
  /** Who asks (a user name): the query pool queues each caller apart. */
  readonly caller?: string;
}

export const ALLOW_ALL: Access = { allows: () => true };

export type Verb = 'get' | 'list';

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

export type ReviewKind = 'TokenReview' | 'SubjectAccessReview';

/** Counts of what the operator asked the API server, for its metrics. */
export interface AuthMetrics {
  review(kind: ReviewKind, result: 'accepted' | 'refused' | 'error'): void;
  /** A request refused for its address's refused tokens, without a TokenReview. */
  throttled(): void;
}

export interface KubeAuthOptions {
  ttlMs?: number;
  now?: () => number;
  /** Entries of each cache (tokens, reviews); the least recently used go first. */
  maxEntries?: number;
  /** Refused tokens per client address and minute before it is throttled. */
  refusedPerMinute?: number;
  metrics?: AuthMetrics;
  /** The audience tokens must be issued for (TokenReview spec.audiences); null: the API server's. */
  audience?: string | null;
}

const MINUTE = 60_000;
/** Refused tokens a proxy's address may pass on per minute, in multiples of one client's. */
const PROXY_SHARE = 10;

/** Where a request comes from: its connection's address, and whom a proxy forwards it for. */
export interface Client {
  address: string;
  /** The last X-Forwarded-For hop: the address the proxy itself saw (it appends it). */
  forwardedFor?: string;
}

/** The client of a request, as KubeAuth throttles it. */
export function clientOf(req: Pick<Request, 'socket' | 'get'>): Client {
  const address = req.socket?.remoteAddress ?? '';
  const hops = (req.get('x-forwarded-for') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const last = hops.at(-1);
  return last && last.length <= 64 ? { address, forwardedFor: last } : { address };
}

export class KubeAuth {
  private readonly http: KubeHttp;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly maxEntries: number;
  private readonly refusedPerMinute: number;
  private readonly metrics: AuthMetrics | undefined;
  private readonly audience: string | null;
  private readonly tokens = new Map<string, Cached<Caller | null>>();
  private readonly reviews = new Map<string, Cached<boolean>>();
  /** Times of refused tokens in the last minute, by client address. */
  private readonly refused = new Map<string, number[]>();

  constructor(http: KubeHttp, opts: KubeAuthOptions = {}) {
    this.http = http;
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.refusedPerMinute = opts.refusedPerMinute ?? 20;
    this.metrics = opts.metrics;
    this.audience = opts.audience ?? null;
  }

  private cached<T>(map: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) {
      // Most recently used last: eviction takes the first.
      map.delete(key);
      map.set(key, hit);
      return hit.value;
    }
    map.delete(key);
    while (map.size >= this.maxEntries) map.delete(map.keys().next().value!);
    const value = load();
    map.set(key, { at: this.now(), value });
    value.catch(() => map.delete(key));
    return value;
  }

  private async review<T>(kind: ReviewKind, ask: () => Promise<T>, ok: (t: T) => boolean) {
    try {
      const answer = await ask();
      this.metrics?.review(kind, ok(answer) ? 'accepted' : 'refused');
      return answer;
    } catch (err) {
      this.metrics?.review(kind, 'error');
      throw err;
    }
  }

  /** Refused tokens of `client` within the last minute. */
  private refusals(client: string): number[] {
    const since = this.now() - MINUTE;
    const times = (this.refused.get(client) ?? []).filter((t) => t > since);
    if (times.length === 0) this.refused.delete(client);
    else this.refused.set(client, times);
    return times;
  }

  /**
   * The caller a bearer token belongs to, or null when the API server does not accept it. From a
   * `client` address whose tokens were refused too often in the last minute, a token not already
   * known is refused with a 429 without asking the API server.
   */
  authenticate(token: string, from: string | Client = ''): Promise<Caller | null> {
    const client = typeof from === 'string' ? { address: from } : from;
    // Behind a proxy (the API server's service proxy) every caller shares its address: each is
    // counted by the address the proxy forwards for, and the proxy's address as a whole gets
    // PROXY_SHARE times as many, which also bounds a client making up forwarded addresses.
    const own = client.forwardedFor
      ? `${client.forwardedFor} via ${client.address}`
      : client.address;
    const key = createHash('sha256').update(token).digest('hex');
    const known = this.tokens.get(key);
    if (!known || this.now() - known.at >= this.ttlMs) {
      const limits: [string, number][] = [[own, this.refusedPerMinute]];
      if (client.forwardedFor) limits.push([client.address, this.refusedPerMinute * PROXY_SHARE]);
      for (const [who, limit] of limits) {
        const times = this.refusals(who);
        if (times.length < limit) continue;
        this.metrics?.throttled();
        const wait = Math.max(1, Math.ceil((times[0]! + MINUTE - this.now()) / 1000));
        return Promise.reject(
          new ProblemError(
            429,
            'Too Many Requests',
            `${times.length} bearer tokens from ${who || 'this address'} were refused in the last minute; try again in ${wait} s with a valid token`,
          ),
        );
      }
    }
    const caller = this.cached(this.tokens, key, () => this.tokenReview(token));
    return caller.then((c) => {
      if (c === null) {
        this.noteRefused(own);
        if (client.forwardedFor) this.noteRefused(client.address);
      }
      return c;
    });
  }

  private noteRefused(client: string): void {
    const times = this.refusals(client);
    times.push(this.now());
    this.refused.delete(client);
    this.refused.set(client, times);
    while (this.refused.size > this.maxEntries)
      this.refused.delete(this.refused.keys().next().value!);
  }

  private tokenReview(token: string): Promise<Caller | null> {
    return this.review(
      'TokenReview',
      async () => {
        const review = await this.http.request<{
          status?: {
            authenticated?: boolean;
            audiences?: string[];
            user?: {
              username?: string;
              uid?: string;
              groups?: string[];
              extra?: Record<string, string[]>;
            };
          };
        }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, ...(this.audience ? { audiences: [this.audience] } : {}) },
          },
        });
        const u = review.status?.user;
        if (!review.status?.authenticated || !u?.username) return null;
        // The API server answers which of the audiences asked for the token is for.
        if (this.audience && !(review.status.audiences ?? []).includes(this.audience)) return null;
        return { user: u.username, groups: u.groups ?? [], uid: u.uid, extra: u.extra };
      },
      (c) => c !== null,
    );
  }

  /** Whether the caller may `verb` the resource in the namespace ('' = all namespaces or cluster-scoped). */
  can(caller: Caller, verb: Verb, r: Scope): Promise<boolean> {
    // The whole user info: two tokens of one name with other groups, uid or extra (a
    // ServiceAccount's Pod binding, an impersonation's scopes) may be allowed differently.
    const extra = Object.entries(caller.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    const key = JSON.stringify([
      caller.user,
      caller.uid ?? '',
      caller.groups,
      extra,
      verb,
      r.group,
      r.resource,
      r.namespace,
    ]);
    return this.cached(this.reviews, key, () =>
      this.review(
        'SubjectAccessReview',
        () => this.accessReview(caller, verb, r),
        (a) => a,
      ),
    );
  }

  private async accessReview(caller: Caller, verb: Verb, r: Scope): Promise<boolean> {
    const review = await this.http.request<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: caller.user,
            groups: caller.groups,
            uid: caller.uid,
            extra: caller.extra,
            resourceAttributes: {
              verb,
              group: r.group,
              resource: r.resource,
              ...(r.namespace ? { namespace: r.namespace } : {}),
            },
          },
        },
      },
    );
    return review.status?.allowed === true;
  }

  /**
   * The caller's access over the given scopes (the resources and namespaces history exists for):
   * one review per resource for all namespaces, and per namespace only where that was refused.
   */
  async access(caller: Caller, verb: Verb, scopes: readonly Scope[]): Promise<Access> {
    const resources = new Map<string, Scope[]>();
    for (const s of scopes) {
      const k = `${s.group}/${s.resource}`;
      const list = resources.get(k) ?? [];
      list.push(s);
      resources.set(k, list);
    }
    const allowedEverywhere = new Set<string>();
    const allowedIn = new Set<string>();
    await Promise.all(
      [...resources].map(async ([k, list]) => {
        const first = list[0]!;
        if (
          await this.can(caller, verb, {
            group: first.group,
            resource: first.resource,
            namespace: '',
          })
        ) {
          allowedEverywhere.add(k);
          return;
        }
        await mapLimited(
          list.filter((s) => s.namespace !== ''),
          8,
          async (s) => {
            if (await this.can(caller, verb, s)) allowedIn.add(`${k}@${s.namespace}`);
          },
        );
      }),
    );
    return {
      allows: (r) =>
        allowedEverywhere.has(`${r.group}/${r.resource}`) ||
        (r.namespace !== '' && allowedIn.has(`${r.group}/${r.resource}@${r.namespace}`)),
    };
  }
}

async function mapLimited<T>(items: T[], limit: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

/**
 * The header the CLI also sends its bearer token in: the kube-apiserver's service proxy
 * authenticates the caller with `Authorization` and then removes it, so through the proxy only
 * this copy reaches the operator. It is checked exactly like `Authorization` (a TokenReview), so
 * it grants nothing a direct request would not.
 */
export const FORWARDED_AUTHORIZATION = 'x-hindsight-authorization';

/**
 * Requires a bearer token the API server accepts, from `Authorization` or, when that is absent,
 * from `X-Hindsight-Authorization`; puts the Caller in res.locals.caller.
 */
export function requireCaller(auth: KubeAuth): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? req.get(FORWARDED_AUTHORIZATION) ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      res.set('WWW-Authenticate', 'Bearer');
      return next(
        new ProblemError(
          401,
          'Unauthorized',
          'send a Kubernetes bearer token in the Authorization header, or in X-Hindsight-Authorization through the API server proxy (for example from `kubectl create token`)',
        ),
      );
    }
    auth.authenticate(m[1]!, clientOf(req)).then(
      (caller) => {
        if (!caller) {
          res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
          return next(
            new ProblemError(
              401,
              'Unauthorized',
              'the Kubernetes API server does not accept this bearer token',
            ),
          );
        }
        res.locals.caller = caller;
        next();
      },
      (err: unknown) => {
        if (err instanceof ProblemError && err.status === 429) res.set('Retry-After', '60');
        next(err);
      },
    );
  };
}
