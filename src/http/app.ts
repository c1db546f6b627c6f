// The HTTP application: health endpoints, metrics, the REST API and the web UI. API answers are
// never cached nor content-sniffed. Without authentication (--auth=none, loopback only) the API
// and UI answer only requests addressed to a loopback name: a web page whose own name resolves
// to 127.0.0.1 (DNS rebinding) would otherwise read history from the user's browser.
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Registry } from 'prom-client';
import { hostOfHeader, isLoopback } from '../loopback.ts';
import type { Readiness } from './health.ts';
import { errorHandler, sendProblem } from './problem.ts';

export interface AppDeps {
  registry: Registry;
  readiness: Readiness;
  api?: Router;
  /** The web UI at / (see ui.ts). */
  ui?: Router;
  /** Logs unexpected errors of API requests. */
  logError?: (err: unknown) => void;
  /** Answer the API and UI only for a loopback Host header (set with --auth=none). */
  loopbackHostOnly?: boolean;
}

const apiHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

const loopbackHost: RequestHandler = (req, res, next) => {
  const host = hostOfHeader(req.headers.host);
  if (isLoopback(host)) {
    next();
    return;
  }
  sendProblem(res, {
    type: 'about:blank',
    title: 'Misdirected request',
    status: 421,
    detail: `this operator runs without authentication and answers only requests addressed to localhost, 127.0.0.1 or [::1], not to '${req.headers.host ?? ''}'; open it by one of those names`,
  });
};

export function createApp({
  registry,
  readiness,
  api,
  ui,
  logError,
  loopbackHostOnly,
}: AppDeps): Express {
  const app = express();
  // Answers are not cached (no-store), so an ETag would only hash every body, tens of MB for a
  // day's timeline, on the event loop.
  app.set('etag', false);
  app.disable('x-powered-by');

  // Liveness: the process answers, so its event loop runs.
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });

  app.get('/readyz', (_req, res) => {
    const { ready, checks } = readiness.evaluate();
    res.status(ready ? 200 : 503).json({ ready, checks });
  });

  app.get('/metrics', (_req, res, next) => {
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });

  if (loopbackHostOnly) app.use(loopbackHost);
  if (api) app.use('/api/v1', apiHeaders, api);
  if (ui) app.use(ui);
  if (api || ui) app.use(errorHandler(logError ?? (() => {})));
  return app;
}
