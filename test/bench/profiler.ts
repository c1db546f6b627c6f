// Optional CPU profile of exactly the timed part of a figure (`npm run bench -- --profile=DIR`),
// for the bottleneck analysis: workload generation and the floor stay out of it. Summarize the
// file with profile-summary.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Runs `fn`, writing a .cpuprofile of it to `dir/name.cpuprofile` when `dir` is set. */
export async function profiled<T>(
  dir: string | undefined,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (dir === undefined) return fn();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await fn();
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
