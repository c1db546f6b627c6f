// Memory with N tracked objects, each size in fresh child processes (memory-worker.ts) so that
// nothing else the benchmark allocated is counted, and the relist of the largest fleet.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MemorySample, RelistFigures, WorkerResult } from './memory-worker.ts';

const WORKER = fileURLToPath(new URL('./memory-worker.ts', import.meta.url));

/**
 * The Node flags the operator runs with: those of `npm start` in package.json (a V8 young
 * generation capped at 16 MB per semi-space; left to itself V8 sizes it from the host's memory
 * and keeps ~130 MB of it resident on a 24 GiB machine). Every memory figure is measured with them.
 */
export const OPERATOR_FLAGS: readonly string[] = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1).filter((w) => w.startsWith('--'));
})();

export interface MemoryFigures {
  /** RSS of a process that opened the store and the recorder and recorded nothing. */
  baseline: MemorySample;
  /** Per size, the process with the median RSS of `reps`. */
  sizes: (Omit<WorkerResult, 'relist'> & { rssRuns: number[] })[];
  /** RSS growth per tracked object between consecutive sizes (median RSS). */
  slopes: { from: number; to: number; rssBytesPerObject: number; heapBytesPerObject: number }[];
  relist: {
    objects: number;
    sameRv: RelistFigures;
    newRv: RelistFigures;
    rssAfter: number;
  } | null;
  /** The largest size again without the operator's flags (V8's defaults), to explain RSS. */
  withoutOperatorFlags: { objects: number; flags: readonly string[]; memory: MemorySample } | null;
}

function runWorker(
  objects: number,
  relist: boolean,
  flags: readonly string[] = OPERATOR_FLAGS,
): Promise<WorkerResult> {
  const args = ['--expose-gc', ...flags, WORKER, String(objects)];
  if (relist) args.push('--relist');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || last === '') {
        reject(new Error(`memory-worker with ${objects} objects exited with ${code}: ${out}`));
      } else resolve(JSON.parse(last) as WorkerResult);
    });
  });
}

/** The run with the median RSS (the lower middle one for an even count). */
function medianRun(runs: WorkerResult[]): WorkerResult {
  const sorted = [...runs].sort((a, b) => a.memory.rss - b.memory.rss);
  return sorted[Math.floor((sorted.length - 1) / 2)] as WorkerResult;
}

/**
 * RSS at each of `sizes` (ascending), `reps` processes each; the first process of the largest
 * size also relists its fleet. With `capped`, the largest size once more with V8's default
 * young generation instead of the operator's flags.
 */
export async function measureMemory(
  sizes: number[],
  opts: { reps: number; capped: boolean },
): Promise<MemoryFigures> {
  const baseline = (await runWorker(0, false)).memory;
  const largest = sizes.at(-1);
  const perSize: MemoryFigures['sizes'] = [];
  let relisted: WorkerResult | undefined;
  for (const n of sizes) {
    const runs: WorkerResult[] = [];
    for (let i = 0; i < opts.reps; i++) {
      const r = await runWorker(n, n === largest && i === 0);
      if (r.relist) relisted = r;
      runs.push(r);
    }
    const mid = medianRun(runs);
    perSize.push({
      objects: mid.objects,
      alive: mid.alive,
      dbBytes: mid.dbBytes,
      recordSeconds: mid.recordSeconds,
      memory: mid.memory,
      rssRuns: runs.map((r) => r.memory.rss),
    });
  }
  const slopes = perSize.slice(1).map((b, i) => {
    const a = perSize[i] as MemoryFigures['sizes'][number];
    const objects = b.objects - a.objects;
    return {
      from: a.objects,
      to: b.objects,
      rssBytesPerObject: (b.memory.rss - a.memory.rss) / objects,
      heapBytesPerObject: (b.memory.heapUsed - a.memory.heapUsed) / objects,
    };
  });
  const defaults =
    opts.capped && largest !== undefined ? await runWorker(largest, false, []) : null;
  return {
    baseline,
    sizes: perSize,
    slopes,
    relist: relisted?.relist
      ? {
          objects: relisted.objects,
          sameRv: relisted.relist.sameRv,
          newRv: relisted.relist.newRv,
          rssAfter: relisted.relist.memoryAfter.rss,
        }
      : null,
    withoutOperatorFlags: defaults
      ? { objects: defaults.objects, flags: [], memory: defaults.memory }
      : null,
  };
}
