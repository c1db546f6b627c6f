// Serves the web UI: the static assets Vite built (dist/ui), with index.html answered for the UI's
// own routes so a shared link opens the right page. Hashed assets are cached for good; the page
// itself is revalidated so a new operator version's UI is picked up at once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { Router, type Response } from 'express';

/** Where `npm run build` puts the UI, from src/http (running the sources) or dist/http (built). */
export const DEFAULT_UI_DIR = join(import.meta.dirname, '../../dist/ui');

/** Paths the UI routes itself (see src/ui/main.ts): the timeline and an object's page. */
const UI_ROUTE = /^\/(?:objects\/[^/]+\/?)?$/;

// The UI loads only its own scripts and styles and talks only to this origin's API.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT = (dir: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hindsight: web UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web UI was not built</h1>
<p>This Hindsight operator has no UI assets in <code>${escapeHtml(dir)}</code>.
Run <code>npm run build</code> (it builds the UI with Vite) and restart the operator.</p>
<p>The REST API works without it: see <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
`;

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function pageHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  });
}

/** The UI's routes and assets, read from `dir` (built by `npm run build`). */
export function uiRouter(dir: string = DEFAULT_UI_DIR): Router {
  const r = Router();
  // Vite names every file under assets/ by its content hash, so a name never changes meaning.
  r.use(
    '/assets',
    express.static(join(dir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      fallthrough: false,
      setHeaders: (res) => res.setHeader('X-Content-Type-Options', 'nosniff'),
    }),
  );
  r.get(UI_ROUTE, (_req, res, next) => {
    // Read on every request (it is small): a UI built after the operator started is served.
    readFile(join(dir, 'index.html')).then(
      (html) => {
        pageHeaders(res);
        res.type('html').send(html);
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') return next(err);
        pageHeaders(res);
        res.status(503).type('html').send(NOT_BUILT(dir));
      },
    );
  });
  // Other files Vite copies as they are (favicon); revalidated since their names carry no hash.
  r.use(
    express.static(dir, {
      index: false,
      setHeaders: (res) => {
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('X-Content-Type-Options', 'nosniff');
      },
    }),
  );
  return r;
}
