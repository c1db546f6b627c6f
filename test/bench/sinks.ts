// Sinks as the operator runs them (src/main.ts, src/controllers/sink/controller.ts): one
// EncoderPool (one encoder thread, its own read-only connection) shared by every Sink, a
// SinkRunner per Sink over a SinkStore on the writer's connection, the head read on that
// connection, the operator's Prometheus metrics; and versitygw, the tests' real S3 server, with a
// bucket, for the S3 destination.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.ts';
import { DEFAULT_BATCH, DEFAULT_MAX_FILES, DEFAULT_TIMEOUT_MS } from '../../src/sinks/config.ts';
import type { Destination } from '../../src/sinks/destination.ts';
import { FileDestination } from '../../src/sinks/destinations/file.ts';
import { S3Destination } from '../../src/sinks/destinations/s3.ts';
import { EncoderPool } from '../../src/sinks/encoder-pool.ts';
import { EXPORT_ALL } from '../../src/sinks/record.ts';
import { SinkRunner } from '../../src/sinks/runner.ts';
import { HEAD_SEQ_SQL } from '../../src/store/head.ts';
import type { Db } from '../../src/store/db.ts';
import { SinkStore } from '../../src/store/sinks.ts';
import { startS3Server, type S3Server } from '../cluster/s3-server.ts';
import { benchMetrics, type Bench } from './harness.ts';

/** The cluster name in records and batch identities. */
export const CLUSTER = 'bench';
/** The default batch (5,000 records, 8 MiB), sent as soon as records are there. */
export const BATCH = { maxRecords: DEFAULT_BATCH.maxRecords, maxBytes: DEFAULT_BATCH.maxBytes };

/** A Sink that fails this long without a delivery stops the benchmark instead of retrying. */
const FAILING_MS = 10_000;

export interface S3Bucket {
  server: S3Server;
  bucket: string;
  /** A client of the bucket's server, path-style, with the server's root credentials. */
  client: () => S3Client;
  stop: () => Promise<void>;
}

/** Starts versitygw in a temporary directory and creates one bucket on it. */
export async function startBucket(): Promise<S3Bucket> {
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-bench-s3-'));
  const server = await startS3Server({ dir });
  const bucket = 'hindsight-bench';
  const client = () =>
    new S3Client({
      region: server.region,
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: server,
      maxAttempts: 1,
    });
  const c = client();
  try {
    await c.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    c.destroy();
  }
  return {
    server,
    bucket,
    client,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function fileDestination(directory: string): Destination {
  return new FileDestination({ directory, maxFiles: DEFAULT_MAX_FILES, maxAgeMs: null });
}

export function s3Destination(s3: S3Bucket, prefix: string): Destination {
  return new S3Destination({
    bucket: s3.bucket,
    prefix,
    endpoint: s3.server.endpoint,
    region: s3.server.region,
    forcePathStyle: true,
    credentials: s3.server,
    timeoutMs: DEFAULT_TIMEOUT_MS,
  });
}

/** The newest sequence number committed to `db`. */
export function headSeq(db: Db): number {
  return db.prepare<[], { seq: number }>(HEAD_SEQ_SQL).get()?.seq ?? 0;
}

/** The Sinks of one history database. */
export class Sinks {
  readonly store: SinkStore;
  private readonly encoder: EncoderPool;
  private readonly headStmt;
  private readonly runners: SinkRunner[] = [];

  constructor(b: Bench) {
    this.store = new SinkStore(b.db);
    this.encoder = new EncoderPool(b.path);
    this.headStmt = b.db.prepare<[], { seq: number }>(HEAD_SEQ_SQL);
  }

  /** The newest sequence number committed. */
  head(): number {
    return this.headStmt.get()?.seq ?? 0;
  }

  /** Starts the encoder thread and opens its connection: the operator's runs for days. */
  async warm(): Promise<void> {
    await this.encoder.count(0, 0, EXPORT_ALL);
  }

  /** Positions a Sink at the beginning of the history and starts its runner. */
  start(name: string, destination: Destination): SinkRunner {
    const uid = `uid-${name}`;
    this.store.position(uid, name, 'beginning', 0);
    const runner = new SinkRunner(
      {
        uid,
        name,
        cluster: CLUSTER,
        filter: EXPORT_ALL,
        ...BATCH,
        maxDelayMs: 0,
        delivery: 'atLeastOnce',
        destination,
      },
      {
        store: this.store,
        encoder: this.encoder,
        head: () => this.head(),
        log: createLogger('error'),
        metrics: benchMetrics().sinks,
        onChange: () => undefined,
      },
    );
    this.runners.push(runner);
    runner.start();
    return runner;
  }

  /** Resolves once `runner` delivered up to `seq`; throws if it keeps failing meanwhile. */
  async reached(runner: SinkRunner, seq: number): Promise<void> {
    while (runner.state.cursor < seq) {
      const f = runner.state.failure;
      if (f && Date.now() - f.since > FAILING_MS) {
        throw new Error(
          `Sink ${runner.config.name} (${runner.config.destination.describe}) kept failing: ${f.message}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.splice(0).map((r) => r.stop()));
    await this.encoder.close();
  }
}
