// requireCaller: which headers carry the caller's bearer token. Through the kube-apiserver's
// service proxy `Authorization` is removed, so the CLI's copy in X-Hindsight-Authorization counts.
import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { requireCaller, type Caller, type KubeAuth } from '../../src/http/auth.ts';
import { ProblemError } from '../../src/http/problem.ts';

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
