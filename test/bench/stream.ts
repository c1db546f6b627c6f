// Watch streams as bytes: each workload is serialized up front into the NDJSON a watch response
// carries (`{"type":…,"object":…}` per line), one stream per watch, so that the timed part of a
// figure starts from the same bytes the operator reads from the API server, and the floor
// parses exactly those bytes too.
import type { ReflectorItem, WatchTarget } from '../../src/kube/reflector.ts';
import type { WatchEvent } from './workloads.ts';

/** Lines per chunk: the reflector hands the recorder at most 500 items at a time. */
export const CHUNK = 500;

export interface EncodedWorkload {
  name: string;
  /** Per watch, its NDJSON stream in chunks of CHUNK lines. */
  streams: Map<WatchTarget, Buffer[]>;
  /** Watch events (lines) in all streams. */
  changes: number;
  bytes: number;
}

/** Serializes the first `changes` events of `events`. */
export function encode(
  name: string,
  events: Iterable<WatchEvent>,
  changes: number,
): EncodedWorkload {
  const pending = new Map<WatchTarget, string[]>();
  const streams = new Map<WatchTarget, Buffer[]>();
  let n = 0;
  let bytes = 0;
  const cut = (target: WatchTarget, lines: string[]) => {
    const buf = Buffer.from(lines.join('\n'), 'utf8');
    bytes += buf.length + 1;
    let list = streams.get(target);
    if (!list) streams.set(target, (list = []));
    list.push(buf);
    lines.length = 0;
  };
  for (const e of events) {
    if (n++ >= changes) break;
    let lines = pending.get(e.target);
    if (!lines) pending.set(e.target, (lines = []));
    lines.push(JSON.stringify({ type: e.type, object: e.object }));
    if (lines.length === CHUNK) cut(e.target, lines);
  }
  for (const [target, lines] of pending) if (lines.length) cut(target, lines);
  return { name, streams, changes: Math.min(n, changes), bytes };
}

/**
 * Parses one chunk of watch lines into reflector items, line by line as the client's watch does
 * (it splits the response into lines and parses each), without one string of the whole chunk.
 */
export function parseChunk(chunk: Buffer, time: number): ReflectorItem[] {
  const items: ReflectorItem[] = [];
  let start = 0;
  while (start < chunk.length) {
    let end = chunk.indexOf(NEWLINE, start);
    if (end < 0) end = chunk.length;
    const e = JSON.parse(chunk.toString('utf8', start, end)) as {
      type: 'ADDED' | 'MODIFIED' | 'DELETED';
      object: never;
    };
    items.push({ type: e.type, object: e.object, time });
    start = end + 1;
  }
  return items;
}

const NEWLINE = 0x0a;

/** One page of a list response (`{"kind":"PodList","items":[…]}`), serialized. */
export function encodeListPage(
  kind: string,
  rv: string,
  objects: unknown[],
  more: boolean,
): Buffer {
  const metadata: Record<string, string> = { resourceVersion: rv };
  if (more) metadata.continue = `page-after-${rv}`;
  return Buffer.from(
    JSON.stringify({ apiVersion: 'v1', kind: `${kind}List`, metadata, items: objects }),
    'utf8',
  );
}
