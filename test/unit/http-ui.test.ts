// The operator's static handler for the web UI: the UI's routes answer index.html, hashed assets
// are cached for good, unknown paths are 404s, the API and health endpoints are untouched, and a
// missing build says how to fix it.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { Readiness } from '../../src/http/health.ts';
import { notFound } from '../../src/http/problem.ts';
import { uiRouter } from '../../src/http/ui.ts';

async function serve(uiDir: string): Promise<{ url: string; server: Server }> {
  const api = Router();
  api.get('/ping', (_req, res) => {
    res.json({ pong: true });
  });
  api.use(notFound);
  const app = createApp({
    registry: new Registry(),
    readiness: new Readiness(),
    api,
    ui: uiRouter(uiDir),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('UI static handler', () => {
  let dir: string;
  let built: { url: string; server: Server };
  let missing: { url: string; server: Server };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-ui-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>Hindsight</title>');
    await writeFile(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
    await writeFile(join(dir, 'assets', 'index-AbC123.css'), 'body{}');
    built = await serve(dir);
    missing = await serve(join(dir, 'nowhere'));
  });
  afterAll(async () => {
    for (const s of [built, missing]) await new Promise((r) => s.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('answers index.html for the timeline and object pages, revalidated', async () => {
    for (const path of ['/', '/?namespace=a&kinds=Pod', '/objects/0b5e-11', '/objects/x/']) {
      const res = await fetch(built.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('<title>Hindsight</title>');
    }
  });

  it('serves hashed assets with their type, cached as immutable', async () => {
    const js = await fetch(`${built.url}/assets/index-AbC123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript|^application\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const css = await fetch(`${built.url}/assets/index-AbC123.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('answers 404 for unknown paths and assets instead of the page', async () => {
    for (const path of ['/assets/gone-123.js', '/nope', '/objects/a/b']) {
      const res = await fetch(built.url + path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('<title>Hindsight</title>');
    }
  });

  it('leaves the API and health endpoints as they were', async () => {
    expect(await (await fetch(`${built.url}/api/v1/ping`)).json()).toEqual({ pong: true });
    expect(await (await fetch(`${built.url}/healthz`)).text()).toBe('ok');
    const unknown = await fetch(`${built.url}/api/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('says the UI was not built, and how to build it, when the assets are missing', async () => {
    const res = await fetch(`${missing.url}/`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toContain('The web UI was not built');
    expect(text).toContain('npm run build');
    expect((await fetch(`${missing.url}/healthz`)).status).toBe(200);
  });
});
