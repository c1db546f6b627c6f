// The floor of an export, measured again in the same run on the same records: the NDJSON
// SinkEncoder.scan builds for the batches a runner sends (same ranges, same limits), then only
// what any exporter must do with those bytes — gzip them (level 6, as encoder-worker.ts) and
// write them to a file, or PUT them to the S3 server — with nothing of Hindsight in between.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { batchPath } from '../../src/sinks/destination.ts';
import { objectKey } from '../../src/sinks/destinations/s3.ts';
import { SinkEncoder } from '../../src/sinks/encoder.ts';
import { EXPORT_ALL } from '../../src/sinks/record.ts';
import { openDatabase } from '../../src/store/db.ts';
import { BATCH, CLUSTER } from './sinks.ts';

/** One batch as a runner would send it, gzip'd. */
export interface FloorBatch {
  firstSeq: number;
  lastSeq: number;
  firstTime: number;
  records: number;
  payload: Buffer;
}

export interface FileFloor {
  records: number;
  batches: number;
  ndjsonBytes: number;
  gzipBytes: number;
  /** SinkEncoder.scan and joining its lines, on this thread: the encoder's own work (diagnostic). */
  scanSeconds: number;
  gzipSeconds: number;
  writeSeconds: number;
  /** Records per second of gzip + write. */
  perSec: number;
}

/**
 * Scans (0, head] in the runner's batches on a read-only connection of its own, then times gzip
 * and write of each batch's NDJSON into `dir`. Returns the gzip'd batches for the S3 floor.
 */
export async function fileFloor(
  path: string,
  head: number,
  dir: string,
): Promise<{ floor: FileFloor; batches: FloorBatch[] }> {
  const db = openDatabase(path, { readonly: true });
  const encoder = new SinkEncoder(db);
  const batches: FloorBatch[] = [];
  const f = { records: 0, ndjsonBytes: 0, gzipBytes: 0, scanSeconds: 0 };
  let gzipMs = 0;
  let writeMs = 0;
  try {
    for (let after = 0; after < head;) {
      const t0 = performance.now();
      const r = encoder.scan({ after, hi: head, filter: EXPORT_ALL, cluster: CLUSTER, ...BATCH });
      after = r.end;
      if (r.records === 0) continue;
      const raw = Buffer.from(`${r.lines.join('\n')}\n`, 'utf8');
      const t1 = performance.now();
      const payload = gzipSync(raw, { level: 6 });
      const t2 = performance.now();
      const file = join(dir, batchPath(r));
      await mkdir(join(file, '..'), { recursive: true });
      const t3 = performance.now();
      await writeFile(file, payload);
      const t4 = performance.now();
      f.scanSeconds += (t1 - t0) / 1000;
      gzipMs += t2 - t1;
      writeMs += t4 - t3;
      f.records += r.records;
      f.ndjsonBytes += raw.length;
      f.gzipBytes += payload.length;
      // Not the lines: only the bytes are kept.
      const { firstSeq, lastSeq, firstTime, records } = r;
      batches.push({ firstSeq, lastSeq, firstTime, records, payload });
    }
  } finally {
    db.close();
  }
  const seconds = (gzipMs + writeMs) / 1000;
  return {
    floor: {
      ...f,
      batches: batches.length,
      gzipSeconds: gzipMs / 1000,
      writeSeconds: writeMs / 1000,
      perSec: f.records / seconds,
    },
    batches,
  };
}

export interface PutFloor {
  seconds: number;
  /** Records per second of the PUTs alone. */
  perSec: number;
}

/**
 * PUTs the gzip'd batches one after another, as a runner does, with the S3 destination's request
 * (key, content type, If-None-Match, metadata) under `prefix`: the S3 server's own floor.
 */
export async function putFloor(
  client: S3Client,
  bucket: string,
  prefix: string,
  batches: FloorBatch[],
): Promise<PutFloor> {
  let records = 0;
  const started = performance.now();
  for (const b of batches) {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: objectKey(prefix, b),
        Body: b.payload,
        ContentType: 'application/x-ndjson',
        IfNoneMatch: '*',
        Metadata: {
          'hindsight-batch': `hs-${CLUSTER}-floor-${b.firstSeq}-${b.lastSeq}`,
          'hindsight-records': String(b.records),
        },
      }),
    );
    records += b.records;
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSec: records / seconds };
}
