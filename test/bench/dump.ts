// `npm run bench -- --dump-stream FILE`: the exact watch events the ingest section feeds (the
// small-Pod churn, then the captured watch streams), as NDJSON, one watch event per line
// (`{"type":…,"object":…}` as the API server sends it), so other recorders can be measured on
// the same stream. Each workload's watches follow one another in the order they are fed; an
// object's apiVersion and kind say which watch it came from.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { EncodedWorkload } from './stream.ts';

/** Writes `workloads` to `file`; returns the lines and bytes written. */
export async function dumpStreams(
  file: string,
  workloads: EncodedWorkload[],
): Promise<{ lines: number; bytes: number }> {
  const out = createWriteStream(file);
  let bytes = 0;
  let lines = 0;
  const write = async (b: Buffer) => {
    bytes += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  const newline = Buffer.from('\n');
  for (const w of workloads) {
    for (const chunks of w.streams.values()) {
      for (const chunk of chunks) {
        await write(chunk);
        await write(newline);
      }
    }
    lines += w.changes;
  }
  out.end();
  await once(out, 'close');
  return { lines, bytes };
}
