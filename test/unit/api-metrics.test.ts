// The history API's request metrics are labelled by route pattern, never by the raw path.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiMetrics } from '../../src/http/api-metrics.ts';
import { apiRouter } from '../../src/http/api.ts';
import { createApp } from '../../src/http/app.ts';
import { Readiness } from '../../src/http/health.ts';
import { openDatabase } from '../../src/store/db.ts';
import { QueryPool } from '../../src/store/query-pool.ts';

let dir: string;
let pool: QueryPool;
let server: Server;
let base: string;
const seen: [string, number][] = [];
let measured = () => {};
const metrics: ApiMetrics = {
  request: (route, code) => {
    seen.push([route, code]);
    measured();
  },
  openStreams: () => {},
  auth: { review: () => {}, throttled: () => {} },
  backup: () => {},
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-api-metrics-'));
  openDatabase(join(dir, 'history.db')).close();
  pool = new QueryPool({ path: join(dir, 'history.db'), threads: 1, scopes: () => [] });
  const api = apiRouter({ queries: pool.json, scopes: () => [], auth: null, metrics });
  server = createApp({ registry: new Registry(), readiness: new Readiness(), api }).listen(
    0,
    '127.0.0.1',
  );
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

it('labels each answered request with its route pattern and status code', async () => {
  for (const path of [
    '/objects/0a1b-2c3d/versions',
    '/objects/ffff-0000/versions',
    '/resources?limit=0',
    '/resources',
    '/no/such/endpoint',
  ]) {
    // A request is measured when its response closes, which may come after the client read it.
    const closed = new Promise<void>((resolve) => (measured = resolve));
    await (await fetch(`${base}${path}`)).arrayBuffer();
    await closed;
  }
  expect(seen).toEqual([
    ['/objects/:uid/versions', 404],
    ['/objects/:uid/versions', 404],
    ['/resources', 400],
    ['/resources', 200],
    ['unmatched', 404],
  ]);
});
