// Composition root of the operator. Start-up order: options → logger → data directory →
// metrics and readiness → cluster connection → HTTP server. Shutdown (SIGTERM/SIGINT) runs in
// reverse: stop accepting HTTP, then exit.
import { accessSync, constants, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { createApp } from './http/app.ts';
import { Readiness } from './http/health.ts';
import { connect, ConnectError } from './kube/connect.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics } from './metrics/registry.ts';
import { parseOptions, UsageError, USAGE, type Options } from './options.ts';
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

function listen(app: ReturnType<typeof createApp>, options: Options): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const server = app.listen(options.listen.port, options.listen.host);
    server.once('listening', () => resolveServer(server));
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UsageError(
          `cannot listen on ${options.listen.host}:${options.listen.port} (${err.code ?? err.message}); choose another --listen address`,
          { cause: err },
        ),
      ),
    );
  });
}

async function run(options: Options, log: Logger): Promise<void> {
  const dataDir = prepareDataDir(options.dataDir);
  const metrics = createMetrics(VERSION);
  const readiness = new Readiness();
  let connected = false;
  readiness.set('kubernetes', () =>
    connected
      ? { ok: true }
      : { ok: false, message: 'not connected to the Kubernetes API server yet' },
  );

  log.info('Starting Hindsight', { version: VERSION, node: process.versions.node, dataDir });
  const conn = await connect({ kubeconfig: options.kubeconfig, context: options.context });
  connected = true;
  metrics.kubeApiServerInfo.set({ server: conn.server, git_version: conn.serverVersion }, 1);
  log.info('Connected to Kubernetes', {
    context: conn.context,
    server: conn.server,
    serverVersion: conn.serverVersion,
  });

  const server = await listen(createApp({ registry: metrics.registry, readiness }), options);
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr);
  log.info('Serving HTTP', { address, endpoints: ['/healthz', '/readyz', '/metrics'] });

  await new Promise<void>((resolveStop) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info('Shutting down', { signal });
      server.close(() => resolveStop());
      server.closeAllConnections();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
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
    if (err instanceof ConnectError || err instanceof UsageError) {
      // One sentence for the user; the cause goes to the structured log at debug level.
      process.stderr.write(`hindsight: ${err.message}\n`);
      log.debug('Start-up failed', { error: err });
      return 1;
    }
    log.error('Hindsight failed', { error: err, stack: (err as Error).stack });
    return 1;
  }
}

process.exitCode = await main();
