// The HTTP application: health endpoints and metrics now; the REST API and UI mount here later.
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Readiness } from './health.ts';

export interface AppDeps {
  registry: Registry;
  readiness: Readiness;
}

export function createApp({ registry, readiness }: AppDeps): Express {
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

  return app;
}
