import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_BACKOFF } from '../../src/runtime/backoff.ts';

describe('Backoff.nextDelay', () => {
  it('doubles from 500 ms to a cap of 5 minutes by default, without overflowing', () => {
    const backoff = new Backoff({ jitter: 'none' });
    const delays = Array.from({ length: 12 }, (_, attempt) => backoff.nextDelay(attempt));
    expect(delays).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000,
    ]);
    expect(backoff.nextDelay(5000)).toBe(300_000);
    expect(backoff.nextDelay(-1)).toBe(500);
    expect(backoff.nextDelay(Number.NaN)).toBe(500);
  });

  it('uses equal jitter by default: between half the nominal delay and the nominal delay', () => {
    expect(DEFAULT_BACKOFF.jitter).toBe('equal');
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999_999 });
    expect([1, 2, 20].map((n) => low.nextDelay(n))).toEqual([500, 1000, 150_000]);
    expect([1, 2, 20].map((n) => high.nextDelay(n))).toEqual([1000, 2000, 300_000]);
    expect(new Backoff({ random: () => 0.5 }).nextDelay(2)).toBe(1500);
  });

  it('never goes below the base delay, whatever the jitter', () => {
    for (const jitter of ['equal', 'full'] as const) {
      const backoff = new Backoff({ jitter, random: () => 0 });
      expect(backoff.nextDelay(0)).toBe(500);
    }
  });

  it('spreads full jitter over the whole range from the base to the nominal delay', () => {
    let r = 0;
    const backoff = new Backoff({ jitter: 'full', baseMs: 100, capMs: 10_000, random: () => r });
    expect(backoff.nextDelay(3)).toBe(100);
    r = 0.5;
    expect(backoff.nextDelay(3)).toBe(450);
    r = 0.999_999;
    expect(backoff.nextDelay(3)).toBe(800);
    expect(backoff.nextDelay(10)).toBe(10_000);
  });

  it('keeps every delay within [base, cap] for a real random source', () => {
    const backoff = new Backoff({ jitter: 'full', baseMs: 200, capMs: 60_000 });
    for (let attempt = 0; attempt < 50; attempt++) {
      const delay = backoff.nextDelay(attempt);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(60_000);
    }
  });

  it('clamps an injected random source that strays outside [0, 1)', () => {
    expect(new Backoff({ random: () => 7 }).nextDelay(1)).toBe(1000);
    expect(new Backoff({ random: () => -3 }).nextDelay(1)).toBe(500);
  });

  it.each([
    [{ baseMs: 0 }, /baseMs must be a positive number/],
    [{ baseMs: 1000, capMs: 500 }, /capMs must be at least baseMs \(1000\)/],
    [{ factor: 0.5 }, /factor must be a number of at least 1/],
  ])('rejects %o', (options, message) => {
    expect(() => new Backoff(options)).toThrow(RangeError);
    expect(() => new Backoff(options)).toThrow(message);
  });
});

describe('Backoff per key', () => {
  it('grows with each failure of a key and starts over once the key is forgotten', () => {
    const backoff = new Backoff({ jitter: 'none', capMs: 4000 });
    expect([1, 2, 3, 4, 5].map(() => backoff.next('a'))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(backoff.failures('a')).toBe(5);
    backoff.forget('a');
    expect(backoff.failures('a')).toBe(0);
    expect(backoff.next('a')).toBe(500);
  });

  it('counts each key on its own', () => {
    const backoff = new Backoff({ jitter: 'none' });
    backoff.next('a');
    backoff.next('a');
    expect(backoff.next('b')).toBe(500);
    expect(backoff.next('a')).toBe(2000);
    backoff.forget('b');
    expect(backoff.failures('a')).toBe(3);
  });
});
