// The main thread's side of the encoder thread (encoder-worker.ts): requests in, Promises out.
// One thread serves every Sink, one request at a time, in the order asked; a thread that dies is
// replaced and the requests it held fail, to be retried by their runners.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ScanRequest } from './encoder.ts';
import type { RecordFilter } from './record.ts';

export interface EncodedBatch {
  end: number;
  records: number;
  firstSeq: number;
  lastSeq: number;
  firstTime: number;
  /** Uncompressed bytes. */
  bytes: number;
  /** What is sent: the NDJSON (or JSON array), gzip'd when asked. */
  payload: Uint8Array;
}

export type EncoderRequest =
  | { id: number; op: 'batch'; scan: ScanRequest; format: 'ndjson' | 'json'; gzip: boolean }
  | { id: number; op: 'count'; after: number; hi: number; filter: RecordFilter };

export type EncoderResponse =
  | { id: number; ok: true; batch: EncodedBatch }
  | { id: number; ok: true; count: number }
  | { id: number; ok: false; message: string };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const WORKER_URL = new URL(
  `./encoder-worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

export class EncoderError extends Error {
  override name = 'EncoderError';
}

export class EncoderPool {
  private readonly path: string;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (r: EncoderResponse) => void; reject: (e: Error) => void }
  >();
  private closed = false;

  constructor(path: string) {
    this.path = path;
  }

  batch(scan: ScanRequest, format: 'ndjson' | 'json', gzip: boolean): Promise<EncodedBatch> {
    return this.ask({ op: 'batch', scan, format, gzip }).then((r) => {
      if (!('batch' in r)) throw new EncoderError('the encoder thread answered out of protocol');
      return r.batch;
    });
  }

  count(after: number, hi: number, filter: RecordFilter): Promise<number> {
    return this.ask({ op: 'count', after, hi, filter }).then((r) => {
      if (!('count' in r)) throw new EncoderError('the encoder thread answered out of protocol');
      return r.count;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.failAll(new EncoderError('the encoder is stopping'));
    await w?.terminate();
  }

  private ask(req: DistributiveOmit<EncoderRequest, 'id'>): Promise<EncoderResponse> {
    if (this.closed) return Promise.reject(new EncoderError('the encoder is stopping'));
    const id = this.nextId++;
    return new Promise<EncoderResponse>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.thread().postMessage({ ...req, id });
    }).then((r) => {
      if (!r.ok) throw new EncoderError(r.message);
      return r;
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_URL, { workerData: { path: this.path } });
    w.unref();
    w.on('message', (r: EncoderResponse) => {
      const job = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      job?.resolve(r);
    });
    const lost = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.failAll(
        new EncoderError(`the encoder thread stopped: ${err.message || String(err)}`, {
          cause: err,
        }),
      );
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    for (const job of this.waiting.values()) job.reject(err);
    this.waiting.clear();
  }
}
