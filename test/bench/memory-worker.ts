// Child process of the memory figure (memory.ts): records a fleet of N running Pods through the
// recorder, collects garbage and reports its RSS, then optionally relists the fleet unchanged.
// Run alone so that nothing else the benchmark allocated is counted:
//   node --expose-gc test/bench/memory-worker.ts <objects> [--relist]
import { statSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { feedFleet, recordedRv, relistFleet, restoredRv } from './fleet.ts';
import { closeBench, count, openBench } from './harness.ts';

export interface MemorySample {
  rss: number;
  heapTotal: number;
  /** Resident part of V8's young generation, which V8 sizes from the machine's memory. */
  newSpace: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface RelistFigures {
  seconds: number;
  cpuSeconds: number;
  objects: number;
  versionsWritten: number;
}

export interface WorkerResult {
  objects: number;
  alive: number;
  /** Size of the history database: SQLite's page cache holds at most this (and 32 MB). */
  dbBytes: number;
  recordSeconds: number;
  memory: MemorySample;
  relist?: { sameRv: RelistFigures; newRv: RelistFigures; memoryAfter: MemorySample };
}

const SEED = 7;

async function settledMemory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory-worker needs --expose-gc to measure a collected heap');
  // Several rounds with a pause: finalizers and native frees (SQLite statements, zstd contexts)
  // run between them.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    newSpace:
      getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

async function main(): Promise<void> {
  const objects = Number(process.argv[2]);
  if (!Number.isInteger(objects) || objects < 0) {
    throw new Error(`memory-worker: expected a number of objects, got '${process.argv[2]}'`);
  }
  const b = openBench();
  try {
    const recordSeconds = await feedFleet(b.recorder, SEED, objects);
    const alive =
      b.db
        .prepare<[], { n: number }>('SELECT count(*) AS n FROM objects WHERE deleted_at IS NULL')
        .get()?.n ?? 0;
    b.db.pragma('wal_checkpoint(TRUNCATE)');
    const result: WorkerResult = {
      objects,
      alive,
      dbBytes: statSync(b.path).size,
      recordSeconds,
      memory: await settledMemory(),
    };
    if (process.argv.includes('--relist')) {
      const relist = async (rvOf: (i: number) => string): Promise<RelistFigures> => {
        const before = count(b.db, 'versions');
        const r = await relistFleet(b.recorder, SEED, objects, rvOf);
        return { ...r, versionsWritten: count(b.db, 'versions') - before };
      };
      const sameRv = await relist(recordedRv);
      const newRv = await relist(restoredRv);
      result.relist = { sameRv, newRv, memoryAfter: await settledMemory() };
    }
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await closeBench(b);
  }
}

await main();
