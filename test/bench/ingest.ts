// Sustained ingest through the whole pipeline (parse, policy rules, ignore-fields, diff,
// compression, SQLite with its indexes), repeated on the same bytes, each time on a fresh
// database and followed by the floor measured on the rows that run produced.
import { feedWatches } from './feed.ts';
import { measureFloor, readRows, type FloorFigures } from './floor.ts';
import { closeBench, count, openBench, type BenchOptions } from './harness.ts';
import { profiled } from './profiler.ts';
import { storage, type StorageFigures } from './storage.ts';
import type { EncodedWorkload } from './stream.ts';
import { collectGarbage, median } from './stats.ts';

export interface IngestRun {
  seconds: number;
  cpuSeconds: number;
  changesPerSec: number;
  versions: number;
  occurrences: number;
  backpressure: number;
  storage: StorageFigures;
  floor: FloorFigures | null;
  /** changesPerSec / floor (c), both from this run. */
  ratio: number | null;
}

export interface IngestSummary {
  name: string;
  changes: number;
  streamBytes: number;
  runs: IngestRun[];
  /** Medians over the runs. */
  changesPerSec: number;
  versionsPerSec: number;
  floor: { parsePerSec: number; insertRowsPerSec: number; combinedPerSec: number } | null;
  ratio: number | null;
}

export interface IngestOptions extends BenchOptions {
  floor: boolean;
  /** Writes a CPU profile of an extra, uncounted ingest run into this directory. */
  profileDir?: string;
}

async function ingestOnce(
  w: EncodedWorkload,
  opts: IngestOptions,
  profile: boolean,
): Promise<IngestRun> {
  collectGarbage();
  const b = openBench(opts);
  try {
    const dir = profile ? opts.profileDir : undefined;
    const name = `ingest-${w.name.replaceAll(' ', '-').toLowerCase()}`;
    const fed = await profiled(dir, name, () => feedWatches(b.recorder, w));
    const changesPerSec = w.changes / fed.seconds;
    const st = storage(b);
    let floor: FloorFigures | null = null;
    if (opts.floor) {
      const rows = readRows(b.db);
      collectGarbage();
      floor = measureFloor(w, rows, b.dir);
    }
    return {
      seconds: fed.seconds,
      cpuSeconds: fed.cpuSeconds,
      changesPerSec,
      versions: st.versions,
      occurrences: count(b.db, 'event_occurrences'),
      backpressure: fed.backpressure,
      storage: st,
      floor,
      ratio: floor ? changesPerSec / floor.combinedPerSec : null,
    };
  } finally {
    await closeBench(b);
  }
}

/** Runs `reps` ingests of `w` (and their floors when `floor`), and summarizes them by median. */
export async function ingest(
  w: EncodedWorkload,
  reps: number,
  opts: IngestOptions,
): Promise<IngestSummary> {
  const runs: IngestRun[] = [];
  // The profiler slows what it samples: a profiled run is extra and not counted.
  if (opts.profileDir !== undefined) await ingestOnce(w, { ...opts, floor: false }, true);
  for (let i = 0; i < reps; i++) runs.push(await ingestOnce(w, opts, false));
  const floors = runs.map((r) => r.floor).filter((f): f is FloorFigures => f !== null);
  const ratios = runs.map((r) => r.ratio).filter((r): r is number => r !== null);
  return {
    name: w.name,
    changes: w.changes,
    streamBytes: w.bytes,
    runs,
    changesPerSec: median(runs.map((r) => r.changesPerSec)),
    versionsPerSec: median(runs.map((r) => r.versions / r.seconds)),
    floor: floors.length
      ? {
          parsePerSec: median(floors.map((f) => f.parsePerSec)),
          insertRowsPerSec: median(floors.map((f) => f.insertRowsPerSec)),
          combinedPerSec: median(floors.map((f) => f.combinedPerSec)),
        }
      : null,
    ratio: ratios.length ? median(ratios) : null,
  };
}
