// A real S3 server for tests: versitygw with its posix backend, built by build-versitygw.sh and
// started on 127.0.0.1. Buckets are directories under `<dir>/data`; object metadata lives in a
// sidecar directory `<dir>/meta`, so the filesystem needs no user xattrs.
//
// Like the control plane, the server is started detached and a small reaper process kills it when
// the owning process dies, so an interrupted test run leaves no server behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './control-plane.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** How a client reaches the server; plain values, so the global setup can `provide` them. */
export interface S3Endpoint {
  /** `http://127.0.0.1:PORT`; clients need path-style addressing. */
  endpoint: string;
  region: 'us-east-1';
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Server extends S3Endpoint {
  /** Directory holding one subdirectory per bucket, with objects as files under it. */
  dataDir: string;
  /** The server's output: start-up messages, errors and one line per request. */
  log: string;
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  /** Directory for data, metadata and the log; created if missing. */
  dir: string;
  /** The versitygw binary; default the one build-versitygw.sh cached (see versitygwBinary). */
  bin?: string;
  /** Port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Process whose death stops the server (default: this one); null keeps it until `stop()`. */
  owner?: number | null;
}

const ACCESS_KEY_ID = 'hindsight';
const SECRET_ACCESS_KEY = 'hindsight-test-secret';
const READY_TIMEOUT_MS = 20_000;

/**
 * Path of the versitygw binary build-versitygw.sh caches (or $VERSITYGW_BIN); throws, saying how
 * to build it, when it is missing.
 */
export function versitygwBinary(): string {
  const override = process.env.VERSITYGW_BIN;
  if (override) {
    if (!existsSync(override)) {
      throw new Error(
        `VERSITYGW_BIN=${override} does not exist; point it at a versitygw binary or unset it`,
      );
    }
    return override;
  }
  const versions = readFileSync(join(here, 'versions.env'), 'utf8');
  const version = /^VERSITYGW_VERSION=(\S+)$/m.exec(versions)?.[1];
  if (!version) throw new Error(`no VERSITYGW_VERSION in ${join(here, 'versions.env')}`);
  const cache = process.env.HINDSIGHT_CACHE ?? join(homedir(), '.cache', 'hindsight');
  const bin = join(cache, 'versitygw', version, 'versitygw');
  if (!existsSync(bin)) {
    throw new Error(
      `versitygw v${version}, the S3 server of the tests, is not built (no ${bin}); ` +
        'build it with: bash test/cluster/build-versitygw.sh (or npm run cluster:build)',
    );
  }
  return bin;
}

/**
 * Runs build-versitygw.sh (a no-op when the cache is warm) and returns the binary's path, so
 * `npm test` on a fresh machine builds the S3 server as it builds the control plane.
 */
export function ensureVersitygw(log: (m: string) => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const script = join(here, 'build-versitygw.sh');
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const bin = out.trim().split('\n').pop() ?? '';
      if (code === 0 && bin) resolve(bin);
      else {
        const last = err.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`building versitygw failed (${script} exited ${code}):\n${last}`));
      }
    });
  });
}

/** Starts versitygw and resolves once it answers a signed ListBuckets. */
export async function startS3Server(opts: S3ServerOptions): Promise<S3Server> {
  const bin = opts.bin ?? versitygwBinary();
  const dataDir = join(opts.dir, 'data');
  // versitygw refuses a sidecar directory inside the directory it serves.
  const metaDir = join(opts.dir, 'meta');
  const log = join(opts.dir, 'versitygw.log');
  await mkdir(dataDir, { recursive: true });
  await mkdir(metaDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  // On a taken port versitygw exits, but only after the server already there may have answered.
  if (opts.port !== undefined && !(await portFree(port))) {
    throw new Error(
      `port 127.0.0.1:${port} for the S3 server is in use; stop what listens there or omit the port`,
    );
  }
  const endpoint: S3Endpoint = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
  };

  const fd = openSync(log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, ['--port', `127.0.0.1:${port}`, 'posix', '--sidecar', metaDir, dataDir], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ROOT_ACCESS_KEY: ACCESS_KEY_ID, ROOT_SECRET_KEY: SECRET_ACCESS_KEY },
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  let exited: string | null = null;
  child.once('error', (err) => (exited ??= `could not be started (${err.message})`));
  child.once('exit', (code, signal) => (exited ??= `exited (${signal ?? `code ${code}`})`));
  const owner = opts.owner === undefined ? process.pid : opts.owner;
  const reaper = owner !== null && child.pid ? startReaper(owner, child.pid) : null;

  const stop = async () => {
    await terminate(child);
    reaper?.kill('SIGKILL');
  };
  const failure = await waitUntilAnswering(endpoint, () => exited);
  if (failure !== null) {
    await stop();
    throw new Error(
      `the S3 server (${bin} on ${endpoint.endpoint}) ${failure}; the end of its log ${log}:\n` +
        tail(log, 20),
    );
  }
  return { ...endpoint, dataDir, log, stop };
}

/**
 * Polls a signed ListBuckets until it succeeds (null) or the server exits or times out (why).
 * Signed, so wrong root credentials fail here rather than in the first test.
 */
async function waitUntilAnswering(
  endpoint: S3Endpoint,
  exited: () => string | null,
): Promise<string | null> {
  const client = new S3Client({
    ...endpoint,
    credentials: endpoint,
    forcePathStyle: true,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      let last: string | null = null;
      try {
        await client.send(new ListBucketsCommand({}));
      } catch (err) {
        last = err instanceof Error ? `${err.name}: ${err.message}` : inspect(err);
      }
      const why = exited();
      if (why !== null) return why;
      if (last === null) return null;
      if (Date.now() > deadline) {
        return `did not answer ListBuckets within ${READY_TIMEOUT_MS / 1000}s (last error: ${last})`;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.destroy();
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function startReaper(owner: number, pid: number): ChildProcess {
  const script = `
    while kill -0 ${owner} 2>/dev/null; do sleep 1; done
    kill -TERM ${pid} 2>/dev/null; sleep 5; kill -KILL ${pid} 2>/dev/null`;
  const child = spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
