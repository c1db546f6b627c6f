// Prometheus measurements of the history API, by route pattern (never by raw path, which
// would make a time series per object uid).
import type { RequestHandler } from 'express';
import type { AuthMetrics } from './auth.ts';

export interface ApiMetrics {
  /** One answered request: its route pattern, status code and duration. */
  request: (route: string, code: number, seconds: number) => void;
  /** Live streams open now. */
  openStreams: (n: number) => void;
  /** One backup request and how it ended. */
  backup: (result: 'sent' | 'forbidden' | 'busy' | 'no-room' | 'failed', bytes?: number) => void;
  /** What authenticating and authorizing callers asked the API server (auth.ts). */
  auth: AuthMetrics;
}

/** Measures every request of the router it is mounted before, once its answer is over. */
export function measureRequests(m: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    // 'close' also comes when the client leaves first (a live stream usually ends that way).
    res.once('close', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      m.request(route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
