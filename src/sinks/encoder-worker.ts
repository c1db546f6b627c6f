// The encoder thread: builds and compresses the Sinks' batches off the event loop that records
// (rebuilding object states, serializing and gzipping 20,000 records a second is CPU work that
// would otherwise slow recording). A read-only connection of its own; one request at a time.
// Started by EncoderPool (encoder-pool.ts), which owns the protocol.
import { parentPort, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { openDatabase } from '../store/db.ts';
import { SinkEncoder } from './encoder.ts';
import type { EncoderRequest, EncoderResponse } from './encoder-pool.ts';

const port = parentPort;
if (!port) throw new Error('encoder-worker.ts runs as a worker thread of EncoderPool');

const { path } = workerData as { path: string };
const db = openDatabase(path, { readonly: true });
const encoder = new SinkEncoder(db);

function answer(req: EncoderRequest): EncoderResponse {
  if (req.op === 'count') {
    return { id: req.id, ok: true, count: encoder.count(req.after, req.hi, req.filter) };
  }
  const r = encoder.scan(req.scan);
  const text =
    req.format === 'json'
      ? `[${r.lines.join(',')}]`
      : r.lines.length > 0
        ? `${r.lines.join('\n')}\n`
        : '';
  const raw = Buffer.from(text, 'utf8');
  const body = req.gzip ? gzipSync(raw, { level: 6 }) : raw;
  return {
    id: req.id,
    ok: true,
    batch: {
      end: r.end,
      records: r.records,
      firstSeq: r.firstSeq,
      lastSeq: r.lastSeq,
      firstTime: r.firstTime,
      bytes: raw.length,
      // A copy of its own: small Buffers share Node's pool, which cannot be transferred.
      payload: new Uint8Array(body),
    },
  };
}

port.on('message', (req: EncoderRequest) => {
  let res: EncoderResponse;
  try {
    res = answer(req);
  } catch (err) {
    res = { id: req.id, ok: false, message: (err as Error).message };
  }
  const transfer = res.ok && 'batch' in res ? [res.batch.payload.buffer as ArrayBuffer] : [];
  port.postMessage(res, transfer);
});
