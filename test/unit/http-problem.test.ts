import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { parseTime } from '../../src/http/params.ts';
import { errorHandler, quote, type Problem } from '../../src/http/problem.ts';

/** Runs the problem handler on `err` for a request of `url`; returns what it sent. */
function answer(err: unknown, url: string): { status: number; body: Problem } {
  const sent = { status: 0, body: undefined as unknown as Problem };
  const res = {
    headersSent: false,
    status(s: number) {
      sent.status = s;
      return this;
    },
    type() {
      return this;
    },
    json(b: Problem) {
      sent.body = b;
      return this;
    },
  };
  errorHandler(() => {})(
    err,
    { originalUrl: url } as Request,
    res as unknown as Response,
    () => {},
  );
  return sent;
}

describe('quote', () => {
  it('quotes a value as it is, escaping what would not print', () => {
    expect(quote('web-1')).toBe("'web-1'");
    expect(quote('a\u0000b\r\n\u001b[31m\u202e')).toBe(
      "'a\\u0000b\\u000d\\u000a\\u001b[31m\\u202e'",
    );
  });

  it('cuts a long value short, with its length', () => {
    const q = quote('😀'.repeat(100_000));
    expect(q).toBe(`'${'😀'.repeat(60)}…' (100000 characters)`);
  });
});

describe('parseTime', () => {
  it('refuses a relative time before the earliest time there is', () => {
    expect(() => parseTime('-99999999999999d', 'to', Date.now())).toThrow(
      /^to: '-99999999999999d' reaches back before the earliest time/,
    );
  });
});

describe('errorHandler', () => {
  it('names the path parameter that is not valid percent-encoding', () => {
    const err = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), { status: 400 });
    const r = answer(err, '/api/v1/objects/abc/versions/%E0%A4%A?limit=1');
    expect(r.status).toBe(400);
    expect(r.body.param).toBe('seq');
    expect(r.body.detail).toMatch(/^seq: '%E0%A4%A' is not valid percent-encoding/);
  });

  it('keeps a long detail short and on one line', () => {
    const err = Object.assign(new Error(`bad\n${'x'.repeat(50_000)}`), { status: 413 });
    const r = answer(err, '/api/v1/resources');
    expect(r.status).toBe(413);
    expect(r.body.detail.length).toBeLessThanOrEqual(1000);
    expect(r.body.detail).toMatch(/^bad\\u000ax+ … x+$/);
  });
});
