// The HTTP application: health endpoints, metrics, the REST API and the web UI.
import express, { type Express, type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Readiness } from './health.ts';
import { errorHandler } from './problem.ts';

export interface AppDeps {
  registry: Registry;
  readiness: Readiness;
  api?: Router;
  /** The web UI at / (see ui.ts). */
  ui?: Router;
  /** Logs unexpected errors of API requests. */
  logError?: (err: unknown) => void;
}

export function createApp({ registry, readiness, api, ui, logError }: AppDeps): Express {
  const app = express();
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

  if (api) app.use('/api/v1', api);
  if (ui) app.use(ui);
  if (api || ui) app.use(errorHandler(logError ?? (() => {})));
  return app;
}
