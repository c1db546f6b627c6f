// Composition root of the operator.
//
// Start-up: options → logger → data directory and history store (migrations) → metrics and
// readiness → cluster connection → recorder → watch set → HistoryPolicy controller → Sinks and
// the rollout recorder (both on the encoder thread) → retention → query threads → HTTP server.
// Shutdown (SIGTERM/SIGINT), in reverse: controller (no new reconciles) → watches (their buffered
// items go to the recorder) → recorder (commits the last batch) → Sinks → rollout recorder →
// encoder thread → retention → query threads (their
// queries answer 503) → store → HTTP.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HistoryPolicyController } from './controllers/history-policy/controller.ts';
import { SinkController } from './controllers/sink/controller.ts';
import { RolloutRecorder } from './rollouts/rollout-recorder.ts';
import { EncoderPool } from './sinks/encoder-pool.ts';
import { RolloutStore } from './store/rollouts.ts';
import { SinkStore } from './store/sinks.ts';
import { KubeAuth } from './http/auth.ts';
import { startHistoryService } from './http/history-service.ts';
import { Readiness } from './http/health.ts';
import { connect, ConnectError } from './kube/connect.ts';
import { Discovery } from './kube/discovery.ts';
import { KubeHttp } from './kube/http.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { parseOptions, UsageError, USAGE, type Options } from './options.ts';
import { DEFAULT_MAX_AGE_MS } from './recorder/policy.ts';
import { Recorder } from './recorder/recorder.ts';
import { WatchSet, watchesReadiness } from './recorder/watch-set.ts';
import { Backups, DATABASE_FILE, restoreOnStart } from './store/backup.ts';
import { openDatabase, StoreError, type Db } from './store/db.ts';
import { HEAD_SEQ_SQL } from './store/head.ts';
import { HistoryReader } from './store/reader.ts';
import { Retention } from './store/retention.ts';
import { HistoryWriter } from './store/writer.ts';
import { VERSION } from './version.ts';

function prepareDataDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
  } catch (err) {
    throw new UsageError(
      `the data directory ${abs} cannot be created or written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a writable --data-dir`,
      { cause: err },
    );
  }
  return abs;
}

/** Runs retention every interval until stopped; a failure is logged and retried next time. */
function startRetention(
  db: Db,
  options: Options,
  reservedBytes: () => number,
  metrics: Metrics,
  log: Logger,
): () => Promise<void> {
  const retention = new Retention(db, {
    maxBytes: options.maxDisk,
    reservedBytes,
    sinkMaxHoldMs: options.sinkMaxHoldMs,
    gapMaxAgeMs: DEFAULT_MAX_AGE_MS * 4,
  });
  let running: Promise<void> | null = null;
  const tick = () => {
    running ??= (async () => {
      try {
        const r = await retention.run(Date.now());
        for (const what of ['versions', 'occurrences', 'objects', 'events', 'gaps'] as const) {
          if (r[what] > 0) metrics.retentionDeleted.inc({ what }, r[what]);
        }
        metrics.storeBytes.set(r.usedBytes);
        if (r.versions + r.occurrences > 0) log.info('Removed history past retention', { ...r });
        if (r.budgetUnmet)
          log.warn(
            'The byte budget cannot be met without removing the current state of live objects',
            { maxDisk: options.maxDisk, usedBytes: r.usedBytes },
          );
      } catch (err) {
        log.warn('Retention failed; retrying at the next interval', { error: err });
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, options.retentionIntervalMs);
  tick();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

async function run(options: Options, log: Logger): Promise<void> {
  const dataDir = prepareDataDir(options.dataDir);
  const dbPath = join(dataDir, DATABASE_FILE);
  if (options.restore) {
    const restored = await restoreOnStart(options.restore, dataDir);
    if (restored)
      log.info('Restored history from a backup', { ...restored, from: options.restore });
    else
      log.info('Skipped the restore: this backup was restored before', { from: options.restore });
  }
  const writerDb = openDatabase(dbPath);
  const readerDb = openDatabase(dbPath, { readonly: true });
  const writer = new HistoryWriter(writerDb);
  const reader = new HistoryReader(readerDb);
  const metrics = createMetrics(VERSION);
  const readiness = new Readiness();
  let connected = false;
  let writable: { ok: boolean; message?: string } = { ok: true };
  readiness.set('kubernetes', () =>
    connected
      ? { ok: true }
      : { ok: false, message: 'not connected to the Kubernetes API server yet' },
  );
  readiness.set('store', () => writable);
  log.info('Starting Hindsight', {
    version: VERSION,
    node: process.versions.node,
    database: dbPath,
  });

  const conn = await connect({ kubeconfig: options.kubeconfig, context: options.context });
  connected = true;
  metrics.kubeApiServerInfo.set({ server: conn.server, git_version: conn.serverVersion }, 1);
  log.info('Connected to Kubernetes', {
    context: conn.context,
    server: conn.server,
    serverVersion: conn.serverVersion,
  });

  const http = new KubeHttp(conn.kubeConfig);
  const recorder = new Recorder({
    writer,
    log: log.child({ component: 'recorder' }),
    metrics: metrics.recorder,
    onWritable: (ok, error) => {
      writable = ok
        ? { ok }
        : {
            ok,
            message: `the history database cannot be written: ${error?.message ?? 'unknown error'}`,
          };
      metrics.storeWritable.set(ok ? 1 : 0);
    },
  });
  let controller: HistoryPolicyController | null = null;
  const watchSet = new WatchSet({
    kc: conn.kubeConfig,
    http,
    recorder,
    writer,
    log: log.child({ component: 'reflector' }),
    metrics: metrics.reflector,
    onChange: () => controller?.requeueAll(),
  });
  controller = new HistoryPolicyController({
    kc: conn.kubeConfig,
    http,
    discovery: new Discovery(http),
    recorder,
    watchSet,
    reader,
    log: log.child({ component: 'history-policy' }),
    metrics: metrics.controller,
  });
  readiness.set('watches', watchesReadiness(watchSet));
  controller.start();
  // The head, read on the writer's connection: what the recorder last committed.
  const headDb = writerDb.prepare<[], { seq: number }>(HEAD_SEQ_SQL);
  const encoder = new EncoderPool(dbPath);
  const sinks = new SinkController({
    kc: conn.kubeConfig,
    http,
    store: new SinkStore(writerDb),
    encoder,
    head: () => headDb.get()?.seq ?? 0,
    log: log.child({ component: 'sink' }),
    metrics: metrics.sinks,
    cluster: options.clusterName,
    namespace: options.namespace,
  });
  sinks.start();
  // Rollouts derived from what is recorded, through the same encoder thread.
  const rollouts = new RolloutRecorder({
    store: new RolloutStore(writerDb),
    encoder,
    head: () => headDb.get()?.seq ?? 0,
    log: log.child({ component: 'rollouts' }),
  });
  rollouts.start();
  // A backup being sent counts in the volume's budget while its file exists.
  const backups = new Backups(dbPath, join(dataDir, 'backups'), { maxDisk: options.maxDisk });
  const stopRetention = startRetention(
    writerDb,
    options,
    () => backups.reservedBytes(),
    metrics,
    log.child({ component: 'retention' }),
  );

  await backups.clean();
  await removeLeftoverBundles(join(dataDir, 'bundles'));
  const service = await startHistoryService({
    dbPath,
    readerDb,
    auth:
      options.auth === 'token'
        ? new KubeAuth(http, {
            metrics: metrics.api.auth,
            audience: options.tokenAudience,
            ttlMs: options.authCacheTtlMs,
          })
        : null,
    metrics,
    readiness,
    log,
    listen: options.listen,
    tls: options.tls,
    listenPlain: options.listenPlain,
    streamAccessRefreshMs: options.streamAccessRefreshMs,
    backups,
    bundleDir: join(dataDir, 'bundles'),
  });
  log.info('Serving HTTP', {
    address: service.main.address,
    tls: options.tls !== null,
    auth: options.auth,
    endpoints: ['/', '/api/v1', '/healthz', '/readyz', '/metrics'],
    ...(service.plain
      ? { plain: service.plain.address, plainEndpoints: ['/healthz', '/readyz', '/metrics'] }
      : {}),
  });

  await new Promise<void>((resolveStop) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info('Shutting down', { signal });
      resolveStop();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  service.closeStreams();
  await controller.stop();
  await watchSet.stopAll();
  await recorder.stop();
  // After the recorder: what it committed last may still be delivered by a batch in flight.
  await sinks.stop();
  await rollouts.stop();
  await encoder.close();
  await stopRetention();
  await service.close();
  readerDb.close();
  writerDb.close();
  log.info('Stopped');
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`hindsight: ${(err as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = createLogger(parsed.options.logLevel);
  try {
    await run(parsed.options, log);
    return 0;
  } catch (err) {
    if (err instanceof ConnectError || err instanceof UsageError || err instanceof StoreError) {
      // One sentence for the user; the cause goes to the structured log at debug level.
      process.stderr.write(`hindsight: ${err.message}\n`);
      log.debug('Start-up failed', { error: err });
      return 1;
    }
    log.error('Hindsight failed', { error: err, stack: (err as Error).stack });
    return 1;
  }
}

/** Bundles left by a previous run that stopped while sending one: only the files it names. */
async function removeLeftoverBundles(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (/^bundle-[0-9a-f]{12}\.db(-journal|-wal|-shm)?$/.test(name)) {
      await rm(join(dir, name), { force: true });
    }
  }
}

process.exitCode = await main();
