import { describe, expect, it } from 'vitest';
import { Readiness } from '../../src/http/health.ts';

describe('Readiness', () => {
  it('is ready only when every check passes, and reports each', () => {
    const r = new Readiness();
    let storeOk = true;
    r.set('kubernetes', () => ({ ok: true }));
    r.set('store', () => (storeOk ? { ok: true } : { ok: false, message: 'disk full' }));
    expect(r.evaluate().ready).toBe(true);
    storeOk = false;
    expect(r.evaluate()).toEqual({
      ready: false,
      checks: { kubernetes: { ok: true }, store: { ok: false, message: 'disk full' } },
    });
  });

  it('treats a throwing check as not ready instead of failing the probe', () => {
    const r = new Readiness();
    r.set('broken', () => {
      throw new Error('boom');
    });
    expect(r.evaluate()).toEqual({
      ready: false,
      checks: { broken: { ok: false, message: 'check failed: boom' } },
    });
  });
});
