// The reading side of the operator as one piece: the query threads over the history database,
// the live streams, the API and UI, and the listener they are served on. The operator (main.ts)
// starts it after recording is under way; the benchmarks start the same piece over their own
// databases, so what they measure through HTTP is what the operator serves.
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { ListenAddress } from '../options.ts';
import type { Backups } from '../store/backup.ts';
import type { Db } from '../store/db.ts';
import { HistoryQueries } from '../store/queries.ts';
import { QueryPool } from '../store/query-pool.ts';
import { ScopeCache } from '../store/scopes.ts';
import { apiRouter } from './api.ts';
import { createApp } from './app.ts';
import { ALLOW_ALL, type KubeAuth, type Scope } from './auth.ts';
import type { Readiness } from './health.ts';
import { listen, type Listening, type TlsFiles } from './server.ts';
import { StreamHub } from './stream.ts';
import { uiRouter } from './ui.ts';

export interface HistoryServiceOptions {
  /** The history database the query threads open read-only. */
  dbPath: string;
  /** A read-only connection on the event loop: scopes and the stream's head. */
  readerDb: Db;
  /** null: no authentication (`--auth=none`, loopback Host only). */
  auth: KubeAuth | null;
  metrics: Metrics;
  readiness: Readiness;
  log: Logger;
  listen: ListenAddress;
  tls?: TlsFiles | null;
  /** Health and metrics alone on a plain listener, for probes that do not speak TLS. */
  listenPlain?: ListenAddress | null;
  streamAccessRefreshMs?: number;
  backups?: Backups;
  bundleDir?: string;
}

export interface HistoryService {
  main: Listening;
  plain: Listening | null;
  queries: QueryPool;
  /** Ends the open streams (first at shutdown, so clients reconnect elsewhere). */
  closeStreams(): void;
  /** Stops the query threads (waiting queries answer 503), then the listeners. */
  close(): Promise<void>;
}

export async function startHistoryService(o: HistoryServiceOptions): Promise<HistoryService> {
  const { log, metrics } = o;
  // What access is computed over: current on every request (a kind recorded a moment ago is
  // readable at once), by an index range read of what was stored since the last one.
  const scopeCache = new ScopeCache(o.readerDb);
  const currentScopes = (): Scope[] => scopeCache.current();
  // Queries run on threads of their own: a long one never stalls recording.
  const queries = new QueryPool({
    path: o.dbPath,
    scopes: currentScopes,
    allowsAll: (access) => access === ALLOW_ALL,
    onThreadError: (err) => log.error('A query thread failed; restarting it', { error: err }),
  });
  // The stream polls the head often: an indexed max, answered here rather than behind a long
  // query in the pool; its reads of records go to the pool.
  const head = new HistoryQueries(o.readerDb);
  const streams = new StreamHub(
    { head: () => head.head(), since: (...a) => queries.since(...a) },
    {
      ...(o.streamAccessRefreshMs === undefined
        ? {}
        : { accessRefreshMs: o.streamAccessRefreshMs }),
      onCount: (n) => metrics.api.openStreams(n),
    },
  );
  const api = apiRouter({
    queries: queries.json,
    scopes: currentScopes,
    auth: o.auth,
    streams,
    ...(o.backups ? { backups: o.backups } : {}),
    ...(o.bundleDir ? { bundleDir: o.bundleDir } : {}),
    metrics: metrics.api,
    logError: (err) => log.warn('An answer failed after it started', { error: err }),
  });
  const httpLog = log.child({ component: 'http' });
  let main: Listening;
  try {
    main = await listen(
      createApp({
        registry: metrics.registry,
        readiness: o.readiness,
        api,
        ui: uiRouter(),
        logError: (err) => log.error('API request failed', { error: err }),
        loopbackHostOnly: o.auth === null,
      }),
      o.listen,
      '--listen',
      httpLog,
      o.tls ?? null,
    );
  } catch (err) {
    streams.close();
    await queries.close();
    throw err;
  }
  let plain: Listening | null = null;
  if (o.listenPlain) {
    try {
      plain = await listen(
        createApp({ registry: metrics.registry, readiness: o.readiness }),
        o.listenPlain,
        '--listen-plain',
        httpLog,
      );
    } catch (err) {
      streams.close();
      await queries.close();
      await main.close();
      throw err;
    }
  }
  return {
    main,
    plain,
    queries,
    closeStreams: () => streams.close(),
    close: async () => {
      streams.close();
      await queries.close();
      await main.close();
      await plain?.close();
    },
  };
}
