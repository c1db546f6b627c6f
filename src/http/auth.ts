// Authentication and authorization through Kubernetes: callers present a bearer token, checked
// with a TokenReview, and see history only of the resources and namespaces their RBAC lets them
// read now (SubjectAccessReviews). Answers are cached briefly, per token and per caller.
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
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
}

export const ALLOW_ALL: Access = { allows: () => true };

export type Verb = 'get' | 'list';

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

export interface KubeAuthOptions {
  ttlMs?: number;
  now?: () => number;
}

export class KubeAuth {
  private readonly http: KubeHttp;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly tokens = new Map<string, Cached<Caller | null>>();
  private readonly reviews = new Map<string, Cached<boolean>>();

  constructor(http: KubeHttp, opts: KubeAuthOptions = {}) {
    this.http = http;
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  private cached<T>(map: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    if (map.size > 10_000) map.clear();
    const value = load();
    map.set(key, { at: this.now(), value });
    value.catch(() => map.delete(key));
    return value;
  }

  /** The caller a bearer token belongs to, or null when the API server does not accept it. */
  authenticate(token: string): Promise<Caller | null> {
    const key = createHash('sha256').update(token).digest('hex');
    return this.cached(this.tokens, key, async () => {
      const review = await this.http.request<{
        status?: {
          authenticated?: boolean;
          user?: {
            username?: string;
            uid?: string;
            groups?: string[];
            extra?: Record<string, string[]>;
          };
        };
      }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const u = review.status?.user;
      if (!review.status?.authenticated || !u?.username) return null;
      return { user: u.username, groups: u.groups ?? [], uid: u.uid, extra: u.extra };
    });
  }

  /** Whether the caller may `verb` the resource in the namespace ('' = all namespaces or cluster-scoped). */
  can(caller: Caller, verb: Verb, r: Scope): Promise<boolean> {
    const key = JSON.stringify([
      caller.user,
      caller.groups,
      verb,
      r.group,
      r.resource,
      r.namespace,
    ]);
    return this.cached(this.reviews, key, async () => {
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
    });
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
    auth.authenticate(m[1]!).then((caller) => {
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
    }, next);
  };
}
