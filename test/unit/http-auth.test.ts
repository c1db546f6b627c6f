// requireCaller: which headers carry the caller's bearer token. Through the kube-apiserver's
// service proxy `Authorization` is removed, so the CLI's copy in X-Hindsight-Authorization counts.
// KubeAuth's caches and throttle, over a stand-in for the API server's review endpoints (the real
// reviews are tested against the local control plane in test/integration/api.test.ts).
import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { clientOf, KubeAuth, requireCaller, type Caller } from '../../src/http/auth.ts';
import { ProblemError } from '../../src/http/problem.ts';
import type { KubeHttp } from '../../src/kube/http.ts';

const TOKENS: Record<string, Caller> = {
  good: { user: 'system:serviceaccount:shop:reader', groups: ['system:serviceaccounts'] },
  other: { user: 'jane', groups: [] },
};
const auth = {
  authenticate: (token: string) => Promise.resolve(TOKENS[token] ?? null),
} as unknown as KubeAuth;

/** Runs the middleware on a request with these headers: the caller it found, or its error. */
async function run(
  headers: Record<string, string>,
): Promise<{ caller?: Caller; error?: ProblemError }> {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const req = { get: (name: string) => lower[name.toLowerCase()] } as unknown as Request;
  const res = { locals: {} as Record<string, unknown>, set: () => res } as unknown as Response;
  return new Promise((resolve) => {
    requireCaller(auth)(req, res, (err?: unknown) => {
      if (err) resolve({ error: err as ProblemError });
      else resolve({ caller: res.locals.caller as Caller });
    });
  });
}

describe('requireCaller', () => {
  it('authenticates the Authorization bearer token', async () => {
    expect((await run({ Authorization: 'Bearer good' })).caller).toEqual(TOKENS.good);
  });

  it('authenticates X-Hindsight-Authorization when Authorization is absent', async () => {
    expect((await run({ 'X-Hindsight-Authorization': 'Bearer good' })).caller).toEqual(TOKENS.good);
  });

  it('prefers Authorization when both are sent', async () => {
    const r = await run({
      Authorization: 'Bearer other',
      'X-Hindsight-Authorization': 'Bearer good',
    });
    expect(r.caller).toEqual(TOKENS.other);
  });

  it('refuses an X-Hindsight-Authorization token the API server does not accept', async () => {
    const r = await run({ 'X-Hindsight-Authorization': 'Bearer forged' });
    expect(r.error?.status).toBe(401);
    expect(r.error?.message).toMatch(/does not accept/);
  });

  it('refuses a request without a bearer token, naming both headers', async () => {
    const cases: Record<string, string>[] = [{}, { 'X-Hindsight-Authorization': 'Basic abc' }];
    for (const headers of cases) {
      const r = await run(headers);
      expect(r.error?.status).toBe(401);
      expect(r.error?.message).toMatch(/Authorization header.*X-Hindsight-Authorization/);
    }
  });
});

describe('KubeAuth', () => {
  /** Stands in for the API server's review endpoints; records every review asked. */
  function reviewer(allowed: (spec: Record<string, unknown>) => boolean) {
    const asked: Record<string, unknown>[] = [];
    const http = {
      request: (_method: string, path: string, o: { body: { spec: Record<string, unknown> } }) => {
        asked.push({ path, ...o.body.spec });
        if (path.endsWith('/tokenreviews')) {
          const token = o.body.spec.token as string;
          return Promise.resolve({
            status: TOKENS[token]
              ? { authenticated: true, user: { username: TOKENS[token].user, groups: [] } }
              : { authenticated: false },
          });
        }
        return Promise.resolve({ status: { allowed: allowed(o.body.spec) } });
      },
    } as unknown as KubeHttp;
    return { http, asked };
  }
  const scope = { group: '', resource: 'pods', namespace: 'shop' };

  it('keys access reviews by the whole user info: uid and extra too', async () => {
    const { http, asked } = reviewer((spec) => spec.uid === 'pod-bound');
    const auth = new KubeAuth(http);
    const base = { user: 'system:serviceaccount:shop:app', groups: ['system:serviceaccounts'] };
    expect(await auth.can({ ...base, uid: 'pod-bound' }, 'list', scope)).toBe(true);
    expect(await auth.can({ ...base, uid: 'other' }, 'list', scope)).toBe(false);
    expect(await auth.can({ ...base, uid: 'other', extra: { scopes: ['x'] } }, 'list', scope)).toBe(
      false,
    );
    // Same user info, extra in another key order: one cached answer.
    const a = { ...base, uid: 'u', extra: { a: ['1'], b: ['2'] } };
    const b = { ...base, uid: 'u', extra: { b: ['2'], a: ['1'] } };
    await auth.can(a, 'list', scope);
    await auth.can(b, 'list', scope);
    expect(asked).toHaveLength(4);
  });

  it('evicts the least recently used answer when full, not everything', async () => {
    const { http, asked } = reviewer(() => true);
    const auth = new KubeAuth(http, { maxEntries: 2 });
    const caller = { user: 'jane', groups: [] };
    const ns = (namespace: string) => ({ ...scope, namespace });
    await auth.can(caller, 'list', ns('a'));
    await auth.can(caller, 'list', ns('b'));
    await auth.can(caller, 'list', ns('a')); // a is now the most recent
    await auth.can(caller, 'list', ns('c')); // evicts b
    await auth.can(caller, 'list', ns('a'));
    expect(asked.map((x) => (x.resourceAttributes as { namespace: string }).namespace)).toEqual([
      'a',
      'b',
      'c',
    ]);
    await auth.can(caller, 'list', ns('b'));
    expect(asked).toHaveLength(4);
  });

  it('throttles an address whose tokens keep being refused, and counts what it asked', async () => {
    const { http, asked } = reviewer(() => true);
    let now = 1_000_000;
    const counted: string[] = [];
    const auth = new KubeAuth(http, {
      now: () => now,
      refusedPerMinute: 3,
      metrics: {
        review: (kind, result) => counted.push(`${kind}:${result}`),
        throttled: () => counted.push('throttled'),
      },
    });
    for (let i = 0; i < 3; i++)
      expect(await auth.authenticate(`bogus-${i}`, '10.0.0.9')).toBeNull();
    const throttled = await auth.authenticate('bogus-3', '10.0.0.9').catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(ProblemError);
    expect((throttled as ProblemError).status).toBe(429);
    expect((throttled as ProblemError).message).toBe(
      '3 bearer tokens from 10.0.0.9 were refused in the last minute; try again in 60 s with a valid token',
    );
    expect(asked).toHaveLength(3);
    // Another address is not affected; a minute later the first one may try again.
    expect(await auth.authenticate('good', '10.0.0.10')).toEqual(
      expect.objectContaining({ user: TOKENS.good!.user }),
    );
    now += 60_001;
    expect(await auth.authenticate('good', '10.0.0.9')).not.toBeNull();
    expect(counted).toEqual([
      'TokenReview:refused',
      'TokenReview:refused',
      'TokenReview:refused',
      'throttled',
      'TokenReview:accepted',
      'TokenReview:accepted',
    ]);
  });

  it('throttles each client behind a proxy by the address it forwards for', async () => {
    const { http, asked } = reviewer(() => true);
    const auth = new KubeAuth(http, { now: () => 1_000_000, refusedPerMinute: 3 });
    const proxy = '10.96.0.1';
    const mallory = { address: proxy, forwardedFor: '192.0.2.7' };
    for (let i = 0; i < 3; i++) expect(await auth.authenticate(`bogus-${i}`, mallory)).toBeNull();
    const throttled = (await auth
      .authenticate('bogus-3', mallory)
      .catch((e: unknown) => e)) as ProblemError;
    expect(throttled.status).toBe(429);
    expect(throttled.message).toMatch(
      /^3 bearer tokens from 192\.0\.2\.7 via 10\.96\.0\.1 were refused/,
    );
    // Another user of the same proxy is still reviewed, and accepted.
    expect(await auth.authenticate('good', { address: proxy, forwardedFor: '192.0.2.8' })).toEqual(
      expect.objectContaining({ user: TOKENS.good!.user }),
    );
    expect(asked).toHaveLength(4);
  });

  it('bounds made-up forwarded addresses by the share of the address they come from', async () => {
    const { http, asked } = reviewer(() => true);
    const auth = new KubeAuth(http, { now: () => 1_000_000, refusedPerMinute: 1 });
    const from = (i: number) => ({ address: '203.0.113.5', forwardedFor: `198.51.100.${i}` });
    for (let i = 0; i < 10; i++) expect(await auth.authenticate(`bogus-${i}`, from(i))).toBeNull();
    const throttled = (await auth
      .authenticate('bogus-10', from(10))
      .catch((e: unknown) => e)) as ProblemError;
    expect(throttled.status).toBe(429);
    expect(throttled.message).toMatch(/^10 bearer tokens from 203\.0\.113\.5 were refused/);
    expect(asked).toHaveLength(10);
  });

  it('takes the client behind a proxy from the last X-Forwarded-For hop', () => {
    const req = (xff?: string) => ({
      socket: { remoteAddress: '10.96.0.1' },
      get: (name: string) => (name === 'x-forwarded-for' ? xff : undefined),
    });
    expect(clientOf(req('6.6.6.6, 192.0.2.7') as never)).toEqual({
      address: '10.96.0.1',
      forwardedFor: '192.0.2.7',
    });
    expect(clientOf(req() as never)).toEqual({ address: '10.96.0.1' });
    expect(clientOf(req('x'.repeat(65)) as never)).toEqual({ address: '10.96.0.1' });
  });

  it('asks TokenReviews for the configured audience and refuses a token not issued for it', async () => {
    const asked: Record<string, unknown>[] = [];
    const http = {
      request: (_m: string, _p: string, o: { body: { spec: Record<string, unknown> } }) => {
        asked.push(o.body.spec);
        const token = o.body.spec.token as string;
        return Promise.resolve({
          status: {
            authenticated: true,
            user: { username: 'jane', groups: [] },
            audiences:
              token === 'for-hindsight' ? ['hindsight'] : ['https://kubernetes.default.svc'],
          },
        });
      },
    } as unknown as KubeHttp;
    const auth = new KubeAuth(http, { audience: 'hindsight' });
    expect(await auth.authenticate('for-hindsight')).toMatchObject({ user: 'jane' });
    expect(await auth.authenticate('for-the-api-server')).toBeNull();
    expect(asked.map((a) => a.audiences)).toEqual([['hindsight'], ['hindsight']]);
    expect((await new KubeAuth(http).authenticate('for-the-api-server'))?.user).toBe('jane');
  });
});
