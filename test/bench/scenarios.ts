// The other workloads: Events whose count grows, Node heartbeats and resync duplicates. The last
// two must write no versions at all, which is checked, not assumed.
import { feedWatches } from './feed.ts';
import { feedFleet, recordedRv, relistFleet } from './fleet.ts';
import { closeBench, count, openBench } from './harness.ts';
import { encode } from './stream.ts';
import { collectGarbage, median } from './stats.ts';
import { eventChurn, nodeHeartbeats } from './workloads.ts';

export interface ScenarioResult {
  name: string;
  changes: number;
  /** Medians over the runs. */
  seconds: number;
  changesPerSec: number;
  /** Rows written by the timed part: versions, or Event occurrences for Events. */
  written: number;
  /** What `written` must be; null when any number is right. */
  expected: number | null;
  note: string;
}

async function repeat(
  reps: number,
  once: () => Promise<{ seconds: number; written: number }>,
): Promise<{ seconds: number; written: number }> {
  const runs = [];
  for (let i = 0; i < reps; i++) {
    collectGarbage();
    runs.push(await once());
  }
  // Every run writes the same rows (same bytes in, fresh database): report the first.
  return { seconds: median(runs.map((r) => r.seconds)), written: runs[0]?.written ?? 0 };
}

/** core/v1 Events, one in four recurring with a growing count: occurrences per change. */
export async function eventsScenario(changes: number, reps: number): Promise<ScenarioResult> {
  const w = encode('events', eventChurn(11), changes);
  const r = await repeat(reps, async () => {
    const b = openBench();
    try {
      const fed = await feedWatches(b.recorder, w);
      return { seconds: fed.seconds, written: count(b.db, 'event_occurrences') };
    } finally {
      await closeBench(b);
    }
  });
  return {
    name: 'Events with count updates',
    changes: w.changes,
    ...r,
    changesPerSec: w.changes / r.seconds,
    expected: null,
    note: 'written = Event occurrences',
  };
}

/** Nodes added, then heartbeats only: versions beyond the first of each Node must be zero. */
export async function heartbeatScenario(changes: number, reps: number): Promise<ScenarioResult> {
  const nodes = 500;
  const w = encode('heartbeats', nodeHeartbeats(13, nodes), changes);
  const r = await repeat(reps, async () => {
    const b = openBench();
    try {
      const fed = await feedWatches(b.recorder, w);
      return { seconds: fed.seconds, written: count(b.db, 'versions') - nodes };
    } finally {
      await closeBench(b);
    }
  });
  return {
    name: `Node heartbeats (${nodes} Nodes)`,
    changes: w.changes,
    ...r,
    changesPerSec: w.changes / r.seconds,
    expected: 0,
    note: `written = versions beyond the ${nodes} ADDED`,
  };
}

/**
 * A recorded fleet seen again with the same resourceVersions: replayed by a watch (MODIFIED),
 * then listed (SYNC items and the end of the relist). Only the second pass is timed.
 */
export async function duplicatesScenario(objects: number, reps: number): Promise<ScenarioResult> {
  const seed = 17;
  const r = await repeat(reps, async () => {
    const b = openBench();
    try {
      await feedFleet(b.recorder, seed, objects);
      const before = count(b.db, 'versions');
      const replay = await feedFleet(b.recorder, seed, objects, 'MODIFIED');
      const list = await relistFleet(b.recorder, seed, objects, recordedRv);
      return { seconds: replay + list.seconds, written: count(b.db, 'versions') - before };
    } finally {
      await closeBench(b);
    }
  });
  return {
    name: 'Resync duplicates (watch replay + SYNC)',
    changes: 2 * objects,
    ...r,
    changesPerSec: (2 * objects) / r.seconds,
    expected: 0,
    note: `${objects} Pods replayed as MODIFIED, then relisted`,
  };
}
