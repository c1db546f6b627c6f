// One query thread: a read-only connection of its own and the HistoryQueries over it. It answers
// one request at a time (better-sqlite3 is synchronous), so a long query stalls this thread only,
// never the recorder's event loop. Started by QueryPool (query-pool.ts), which owns the protocol.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.ts';
import { QueryError } from './queries/types.ts';
import { HistoryQueries } from './queries.ts';
import {
  grantAccess,
  type QueryRequest,
  type QueryResponse,
  type WireError,
  type WorkerReady,
} from './query-wire.ts';

const port = parentPort;
if (!port) throw new Error('query-worker.ts runs as a worker thread of QueryPool');

const { path, maxAnswerBytes } = workerData as { path: string; maxAnswerBytes: number };
const db = openDatabase(path, { readonly: true });
const queries = new HistoryQueries(db);

function wireError(err: unknown): WireError {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      ...(err instanceof QueryError ? { field: err.field } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

function call(req: QueryRequest): unknown {
  const access = grantAccess(req.grant);
  const args = [...req.args, access] as never[];
  const method = queries[req.method].bind(queries) as (...a: never[]) => unknown;
  const value = method(...args);
  if (req.json) {
    if (value === undefined) return undefined;
    const text = JSON.stringify(value);
    // Sent whole from one string: an answer past the cap would hold the event loop and memory.
    if (Buffer.byteLength(text) > maxAnswerBytes) {
      const mib = (n: number) => (n / 1048576).toFixed(1);
      throw new QueryError(
        'limit',
        `the answer would be ${mib(Buffer.byteLength(text))} MiB, more than the ${mib(maxAnswerBytes)} MiB one answer may be: ask for a smaller limit, fewer kinds or a narrower window`,
      );
    }
    return text;
  }
  // A SinceResult is an array with a `next` property, which structured cloning would drop.
  if (req.method === 'since') {
    const r = value as unknown[] & { next: number };
    return { items: [...r], next: r.next };
  }
  return value;
}

port.on('message', (req: QueryRequest) => {
  const start = process.threadCpuUsage();
  const cpuMs = () => {
    const used = process.threadCpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  let res: QueryResponse;
  try {
    const value = call(req);
    res = { id: req.id, ok: true, value, cpuMs: cpuMs() };
  } catch (err) {
    res = { id: req.id, ok: false, error: wireError(err), cpuMs: cpuMs() };
  }
  port.postMessage(res);
});

port.on('close', () => db.close());
port.postMessage({ ready: true } satisfies WorkerReady);
