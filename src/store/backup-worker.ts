// Takes one backup off the main thread: VACUUM INTO writes a compact copy of one read snapshot
// (WAL lets recording go on meanwhile; unlike the page-by-page backup API it never restarts when
// the recorder commits), then the copy is opened to report what it holds.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { HEAD_SEQ_SQL } from './head.ts';

const { source, destination } = workerData as { source: string; destination: string };

try {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(destination);
  } finally {
    db.close();
  }
  const copy = new Database(destination, { readonly: true, fileMustExist: true });
  try {
    const row = copy.prepare(HEAD_SEQ_SQL).get() as { seq: number };
    parentPort!.postMessage({
      ok: true,
      seq: row.seq,
      schema: copy.pragma('user_version', { simple: true }) as number,
    });
  } finally {
    copy.close();
  }
} catch (err) {
  parentPort!.postMessage({ ok: false, message: (err as Error).message });
}
