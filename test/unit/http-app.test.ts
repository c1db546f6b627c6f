// The HTTP application's own rules: API answers are neither cached nor content-sniffed, and an
// operator without authentication answers its API and UI only for a loopback Host header (a page
// whose name was rebound to 127.0.0.1 gets nothing), while health and metrics stay open.
import { get, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { Readiness } from '../../src/http/health.ts';
import { hostOfHeader } from '../../src/loopback.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET with the Host header a browser would send for `host`. */
function request(port: number, path: string, host: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

async function serve(loopbackHostOnly: boolean): Promise<{ port: number; server: Server }> {
  const api = Router();
  api.get('/ping', (_req, res) => {
    res.json({ pong: true });
  });
  const ui = Router();
  ui.get('/', (_req, res) => {
    res.type('html').send('<!doctype html>');
  });
  const app = createApp({
    registry: new Registry(),
    readiness: new Readiness(),
    api,
    ui,
    loopbackHostOnly,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { port: (server.address() as AddressInfo).port, server };
}

describe('createApp', () => {
  let open: { port: number; server: Server };
  let guarded: { port: number; server: Server };
  beforeAll(async () => {
    open = await serve(false);
    guarded = await serve(true);
  });
  afterAll(async () => {
    for (const s of [open, guarded]) await new Promise((r) => s.server.close(r));
  });

  it('marks API answers no-store and nosniff, and leaves the UI cacheable', async () => {
    const api = await request(open.port, '/api/v1/ping', 'hindsight.example:8080');
    expect(api.status).toBe(200);
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['cache-control']).toBe('no-store');
    const ui = await request(open.port, '/', 'hindsight.example:8080');
    expect(ui.status).toBe(200);
    expect(ui.headers['cache-control']).not.toBe('no-store');
  });

  it('without authentication answers the API and UI only for a loopback Host', async () => {
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST']) {
      expect((await request(guarded.port, '/api/v1/ping', host)).status, host).toBe(200);
    }
    for (const path of ['/api/v1/ping', '/']) {
      const rebound = await request(guarded.port, path, 'evil.example:8080');
      expect(rebound.status).toBe(421);
      expect(rebound.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((JSON.parse(rebound.body) as { detail: string }).detail).toMatch(
        /answers only requests addressed to localhost, 127\.0\.0\.1 or \[::1\], not to 'evil\.example:8080'/,
      );
    }
    expect((await request(guarded.port, '/api/v1/ping', '127.0.0.1.evil.example')).status).toBe(
      421,
    );
    // Probes and scrapes keep working whatever name they use.
    expect((await request(guarded.port, '/healthz', 'evil.example')).status).toBe(200);
    expect((await request(guarded.port, '/metrics', 'evil.example')).status).toBe(200);
    // With authentication, the token is the check.
    expect((await request(open.port, '/api/v1/ping', 'evil.example')).status).toBe(200);
  });

  it('without an API or UI (the plain listener) answers health and metrics only', async () => {
    const app = createApp({ registry: new Registry(), readiness: new Readiness() });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      expect((await request(port, '/healthz', 'x')).status).toBe(200);
      expect((await request(port, '/metrics', 'x')).status).toBe(200);
      expect((await request(port, '/api/v1/ping', 'x')).status).toBe(404);
      expect((await request(port, '/', 'x')).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it.each([
    ['localhost:8080', 'localhost'],
    ['[::1]:8080', '::1'],
    ['[::1]', '::1'],
    ['127.0.0.1', '127.0.0.1'],
    ['a:b:c', ''],
    ['', ''],
  ])('reads the host of the Host header %j as %j', (header, host) => {
    expect(hostOfHeader(header)).toBe(host);
  });
});
