// Hands streams to the recorder the way src/kube/reflector.ts does, without an API server: per
// watch, events are parsed into a buffer as they "arrive" while a pump hands the recorder at
// most 500 items at a time and waits for their commit. At the reflector's high-water mark (5,000
// buffered items) reading stops until the buffer has drained, where the reflector would close
// and reopen its watch. Lists are fed page by page, each drained before the next is read.
import type { ReflectorItem, WatchTarget } from '../../src/kube/reflector.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import { CHUNK, parseChunk, type EncodedWorkload } from './stream.ts';

/** The reflector's defaults (src/kube/reflector.ts). */
const HIGH_WATER = 5000;

/** A buffer and pump per watch, as in the reflector. */
class Pipe {
  private readonly recorder: Recorder;
  private readonly target: WatchTarget;
  private readonly buffer: ReflectorItem[] = [];
  private pumping: Promise<void> | null = null;

  constructor(recorder: Recorder, target: WatchTarget) {
    this.recorder = recorder;
    this.target = target;
  }

  get size(): number {
    return this.buffer.length;
  }

  push(items: ReflectorItem[]): void {
    for (const item of items) this.buffer.push(item);
    // The reflector pumps from its watch callback and logs a failure; write() never rejects.
    void this.pump();
  }

  private pump(): Promise<void> {
    this.pumping ??= (async () => {
      try {
        while (this.buffer.length > 0) {
          await this.recorder.write(this.target, this.buffer.splice(0, CHUNK));
        }
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  async drain(): Promise<void> {
    while (this.buffer.length > 0 || this.pumping) await this.pump();
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** Lets timers and commits run between two chunks, as socket reads arrive as separate tasks. */
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface FeedStats {
  seconds: number;
  /** CPU time of the process meanwhile: below `seconds`, the pipeline waited (batch delay). */
  cpuSeconds: number;
  /** Times a buffer reached the high-water mark (each a watch restart in the operator). */
  backpressure: number;
}

/** Feeds every watch stream of `w` concurrently; resolves when all of it is committed. */
export async function feedWatches(recorder: Recorder, w: EncodedWorkload): Promise<FeedStats> {
  let backpressure = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    [...w.streams].map(async ([target, chunks]) => {
      const pipe = new Pipe(recorder, target);
      for (const chunk of chunks) {
        if (pipe.size >= HIGH_WATER) {
          backpressure++;
          await pipe.drain();
        }
        pipe.push(parseChunk(chunk, Date.now()));
        await nextTask();
      }
      await pipe.drain();
    }),
  );
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSince(cpu), backpressure };
}

/**
 * Feeds a list of one watch, page by page, then the end of the relist. Pages may be produced
 * lazily; only parsing and recording are timed (`seconds`), as producing a page stands for the
 * API server's work.
 */
export async function feedList(
  recorder: Recorder,
  target: WatchTarget,
  pages: Iterable<Buffer>,
  gap: { start: number; reason: string } | null,
): Promise<{ seconds: number; cpuSeconds: number; objects: number }> {
  const pipe = new Pipe(recorder, target);
  const seen = new Set<string>();
  let busy = 0;
  let cpuSeconds = 0;
  let listRv = '';
  for (const page of pages) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const list = JSON.parse(page.toString('utf8')) as {
      metadata: { resourceVersion: string };
      items: { metadata: { uid: string } }[];
    };
    const time = Date.now();
    const items: ReflectorItem[] = [];
    for (const object of list.items) {
      seen.add(object.metadata.uid);
      items.push({ type: 'SYNC', object, time });
    }
    listRv = list.metadata.resourceVersion;
    pipe.push(items);
    await pipe.drain();
    busy += performance.now() - started;
    cpuSeconds += cpuSince(cpu);
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  pipe.push([{ type: 'RELIST_DONE', rv: listRv, seen, time: Date.now(), gap }]);
  await pipe.drain();
  busy += performance.now() - started;
  cpuSeconds += cpuSince(cpu);
  return { seconds: busy / 1000, cpuSeconds, objects: seen.size };
}
