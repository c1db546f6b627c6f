// `hindsight serve FILE`: a history database (an incident bundle, or a backup) answered read-only
// with the operator's API and UI, no cluster needed. Without a cluster there is no one to ask
// who may read what: it listens on loopback only and answers everyone (as --auth=none), and only
// to requests addressed to a loopback name.
import { apiRouter } from './http/api.ts';
import { ALLOW_ALL } from './http/auth.ts';
import { createApp } from './http/app.ts';
import { Readiness } from './http/health.ts';
import { listen, type Listening } from './http/server.ts';
import { uiRouter } from './http/ui.ts';
import { isLoopback } from './loopback.ts';
import type { Logger } from './log.ts';
import { createMetrics } from './metrics/registry.ts';
import { UsageError, type ListenAddress } from './options.ts';
import { BUNDLE_META_KEY } from './store/bundle.ts';
import { openDatabase } from './store/db.ts';
import { QueryPool } from './store/query-pool.ts';
import { ScopeCache } from './store/scopes.ts';
import { VERSION } from './version.ts';

export interface Serving {
  listening: Listening;
  /** The bundle's namespaces and window, when the file is a bundle. */
  bundle: { namespaces: string[]; window: { from: number; to: number } } | null;
  close(): Promise<void>;
}

/** Serves the history database `file` read-only at `at` (a loopback address). */
export async function serveHistory(file: string, at: ListenAddress, log: Logger): Promise<Serving> {
  if (!isLoopback(at.host)) {
    throw new UsageError(
      `serve answers everyone who reaches it, so it listens on loopback only, not on ${at.host}; use 127.0.0.1`,
    );
  }
  const db = openDatabase(file, { readonly: true });
  const meta = db
    .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
    .get(BUNDLE_META_KEY);
  const scopes = new ScopeCache(db);
  const queries = new QueryPool({
    path: file,
    scopes: () => scopes.current(),
    allowsAll: (access) => access === ALLOW_ALL,
    onThreadError: (err) => log.error('A query thread failed; restarting it', { error: err }),
  });
  const metrics = createMetrics(VERSION);
  const readiness = new Readiness();
  readiness.set('store', () => ({ ok: true }));
  const app = createApp({
    registry: metrics.registry,
    readiness,
    api: apiRouter({ queries: queries.json, scopes: () => scopes.current(), auth: null }),
    ui: uiRouter(),
    logError: (err) => log.error('API request failed', { error: err }),
    loopbackHostOnly: true,
  });
  let listening: Listening;
  try {
    listening = await listen(app, at, '--listen', log);
  } catch (err) {
    await queries.close();
    db.close();
    throw err;
  }
  return {
    listening,
    bundle: meta ? (JSON.parse(meta.value) as Serving['bundle']) : null,
    close: async () => {
      await listening.close();
      await queries.close();
      db.close();
    },
  };
}
