// A fleet of running Pods recorded once and then listed again, unchanged: the relist after a
// watch expired or the operator restarted, and the duplicates a watch replays. The fleet is
// regenerated from its seed whenever it is needed, so 150k Pods never sit in memory at once.
import type { Recorder } from '../../src/recorder/recorder.ts';
import { feedList, feedWatches } from './feed.ts';
import { CHUNK, encode, encodeListPage } from './stream.ts';
import { fleet, TARGETS, type WatchEvent, type WatchType } from './workloads.ts';

/** The resourceVersion of fleet Pod `i` when recorded. */
export const recordedRv = (i: number): string => String(1_000_000 + i);
/** A new resourceVersion for the same content, as after the API server's storage was restored. */
export const restoredRv = (i: number): string => String(50_000_000 + i);

function* fleetEvents(
  seed: number,
  from: number,
  to: number,
  type: WatchType,
  rvOf: (i: number) => string,
): Generator<WatchEvent> {
  const pod = fleet(seed);
  for (let i = from; i < to; i++) yield { target: TARGETS.pods, type, object: pod(i, rvOf(i)) };
}

/**
 * Records `count` fleet Pods as watch events of `type`, a block at a time. Returns the seconds
 * spent feeding (encoding excluded).
 */
export async function feedFleet(
  recorder: Recorder,
  seed: number,
  count: number,
  type: WatchType = 'ADDED',
  rvOf: (i: number) => string = recordedRv,
): Promise<number> {
  // Encoded a chunk at a time, so the generator's own memory stays small next to the recorder's.
  const block = CHUNK;
  let seconds = 0;
  for (let from = 0; from < count; from += block) {
    const to = Math.min(count, from + block);
    const w = encode('fleet', fleetEvents(seed, from, to, type, rvOf), to - from);
    seconds += (await feedWatches(recorder, w)).seconds;
  }
  return seconds;
}

/** The list response for the fleet, page by page (500 Pods each, as the reflector asks). */
function* fleetPages(seed: number, count: number, rvOf: (i: number) => string): Generator<Buffer> {
  const pod = fleet(seed);
  const listRv = String(90_000_000 + count);
  for (let from = 0; from < count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK);
    const objects = [];
    for (let i = from; i < to; i++) objects.push(pod(i, rvOf(i)));
    yield encodeListPage('Pod', listRv, objects, to < count);
  }
}

/** Relists the fleet, as after a 410 Gone (with a gap): returns seconds of parsing and recording. */
export async function relistFleet(
  recorder: Recorder,
  seed: number,
  count: number,
  rvOf: (i: number) => string,
): Promise<{ seconds: number; cpuSeconds: number; objects: number }> {
  const gap = { start: Date.now() - 120_000, reason: 'ResourceVersionExpired' };
  return feedList(recorder, TARGETS.pods, fleetPages(seed, count, rvOf), gap);
}
