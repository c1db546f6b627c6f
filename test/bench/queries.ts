// API query latency on a day of history while the recorder ingests 200 changes/s: the figure of
// performance.md. A day of Pod churn with kubelet Events (day.ts) is recorded through the real
// Recorder with its times spread over the past 24 hours; then the same workload goes on at
// 200 changes/s of wall-clock time while two clients ask through QueryPool's JSON answers, as the
// API does (the HTTP layer itself is not exercised: express only sends the text), each waiting
// for its answer before asking again: one alternates the heavy queries (24-hour timeline, state
// at an instant) back to back, the other the light ones (1-hour timeline, one object's history)
// ten times a second, so light queries are measured while a heavy one holds the other thread. Besides the latency, the
// query thread's CPU time per query, which other work on a shared machine does not inflate. The
// event loop's delay meanwhile shows whether queries stall recording. One uncounted round of the
// four queries comes first (threads started, statements prepared).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { QueryPool, type JsonText } from '../../src/store/query-pool.ts';
import type { Access } from '../../src/store/queries.ts';
import { DayWorkload, record } from './day.ts';
import { closeBench, openBench } from './harness.ts';
import { EPOCH_MS } from './k8s-json.ts';
import { num } from './report.ts';
import { Prng } from './prng.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The steady tier of performance.md. */
const LIVE_RATE = 200;
const ALL: Access = { allows: () => true };
/** Light queries asked per second; heavy ones are asked one after another. */
const LIGHT_RATE = 10;

export interface QueryLatencyConfig {
  /**
   * Events of the Pod churn recorded as the past day (its clock runs 5 ms per such event); the
   * kubelet Events about its Pods come on top, about 0.65 per churn event.
   */
  churnEvents: number;
  /** The workload's 20 namespaces are folded into this many. */
  namespaces: number;
  /** Seconds of querying while ingesting. */
  seconds: number;
}

export interface QueryFigure {
  name: string;
  /** p99 target in ms; null where performance.md sets none. */
  targetMs: number | null;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU time of the query thread, serialization included: p50 and p99. */
  cpuP50: number;
  cpuP99: number;
  /** Mean size of the JSON answer. */
  bytes: number;
}

export interface QueryLatencyResult {
  config: QueryLatencyConfig;
  namespace: string;
  /** What the queried namespace holds for the past day. */
  day: { objects: number; versions: number; occurrences: number };
  historySeconds: number;
  /** Watch events recorded as the past day, kubelet Events included. */
  historyChanges: number;
  /** Changes fed while querying, and the rate they were fed at. */
  live: { changes: number; changesPerSec: number };
  figures: QueryFigure[];
  /** Delay of the recording event loop while querying (ms). */
  eventLoopDelay: { p50: number; p99: number; max: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function queryLatency(config: QueryLatencyConfig): Promise<QueryLatencyResult> {
  const b = openBench();
  const end = Date.now();
  const span = config.churnEvents * 5;
  const scale = DAY_MS / span;
  const w = new DayWorkload((g) => end - DAY_MS + (g - EPOCH_MS) * scale, config.namespaces);
  let pool: QueryPool | null = null;
  try {
    const started = performance.now();
    let historyChanges = 0;
    for (;;) {
      const batch = w.take(1000, EPOCH_MS + span);
      if (batch.length === 0) break;
      historyChanges += batch.length;
      await record(b.recorder, batch);
    }
    const historySeconds = (performance.now() - started) / 1000;
    b.db.pragma('wal_checkpoint(TRUNCATE)');

    const namespace = 'team-0';
    const day = {
      objects: b.db
        .prepare<[string], { n: number }>('SELECT count(*) AS n FROM objects WHERE namespace = ?')
        .get(namespace)!.n,
      versions: b.db
        .prepare<[string], { n: number }>(
          'SELECT count(*) AS n FROM versions WHERE object_id IN (SELECT id FROM objects WHERE namespace = ?)',
        )
        .get(namespace)!.n,
      occurrences: b.db
        .prepare<[string], { n: number }>(
          'SELECT count(*) AS n FROM event_occurrences WHERE event_id IN (SELECT id FROM events WHERE namespace = ?)',
        )
        .get(namespace)!.n,
    };
    // Objects whose history is asked for: a sample of the namespace, Deployments to Pods.
    const uids = b.db
      .prepare<[string], { uid: string }>(
        `SELECT uid FROM objects WHERE namespace = ? ORDER BY id % 97, id LIMIT 500`,
      )
      .all(namespace)
      .map((r) => r.uid);

    let onAnswer: (a: { method: string; args: unknown[]; cpuMs: number }) => void = () => {};
    pool = new QueryPool({
      path: b.path,
      scopes: () => [],
      allowsAll: () => true,
      onAnswer: (a) => onAnswer(a),
    });
    const queries = pool.json;
    const rng = new Prng(5);
    const kinds: {
      name: string;
      targetMs: number | null;
      heavy: boolean;
      ask: () => Promise<JsonText | undefined>;
    }[] = [
      {
        name: '1-hour namespace timeline',
        targetMs: 100,
        heavy: false,
        ask: () => {
          const now = Date.now();
          const window = { from: now - HOUR_MS, to: now };
          return queries.timeline({ namespace, window, buckets: 60 }, ALL);
        },
      },
      {
        name: '24-hour namespace timeline',
        targetMs: 1000,
        heavy: true,
        ask: () => {
          const now = Date.now();
          const window = { from: now - DAY_MS, to: now };
          return queries.timeline({ namespace, window, buckets: 60 }, ALL);
        },
      },
      {
        name: "one object's history (100 versions)",
        targetMs: 20,
        heavy: false,
        ask: () => queries.versions(rng.pick(uids), { limit: 100 }, ALL),
      },
      {
        name: 'namespace state at an instant',
        targetMs: null,
        heavy: true,
        ask: () => queries.namespaceState(namespace, end - rng.int(0, DAY_MS), {}, ALL),
      },
    ];
    const samples = kinds.map(() => [] as number[]);
    const cpu = kinds.map(() => [] as number[]);
    const bytes = kinds.map(() => 0);
    // The kind of each answer, told apart by method and window.
    const kindOf = (method: string, args: unknown[]): number => {
      if (method === 'versions') return 2;
      if (method === 'namespaceState') return 3;
      const w = (args[0] as { window: { from: number; to: number } }).window;
      return w.to - w.from > HOUR_MS ? 1 : 0;
    };
    let measuring = false;
    onAnswer = (a) => {
      if (measuring) (cpu[kindOf(a.method, a.args)] as number[]).push(a.cpuMs);
    };

    // The live part: the workload goes on at wall-clock speed, 200 changes/s.
    const liveStart = Date.now();
    const g0 = w.workloadTime;
    w.clock = (g) => liveStart + (g - g0);
    let running = true;
    let fed = 0;
    const ingest = (async () => {
      while (running) {
        const due = Math.floor(((Date.now() - liveStart) / 1000) * LIVE_RATE) - fed;
        if (due > 0) {
          fed += due;
          await record(b.recorder, w.take(due));
        } else {
          await sleep(10);
        }
      }
    })();
    // One uncounted round first: a running operator's query threads have opened the database
    // and prepared their statements long before.
    for (const k of kinds) await k.ask();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    measuring = true;
    const deadline = performance.now() + config.seconds * 1000;
    const client = async (heavy: boolean) => {
      const mine = kinds.map((k, i) => ({ k, i })).filter(({ k }) => k.heavy === heavy);
      let next = performance.now();
      for (let n = 0; performance.now() < deadline; n++) {
        if (!heavy) {
          // Light queries at most LIGHT_RATE per second, as a user's clicks come.
          await sleep(Math.max(0, next - performance.now()));
          next = Math.max(next, performance.now() - 1000 / LIGHT_RATE) + 1000 / LIGHT_RATE;
        }
        const { k, i } = mine[n % mine.length] as (typeof mine)[number];
        const t = performance.now();
        const answer = await k.ask();
        (samples[i] as number[]).push(performance.now() - t);
        bytes[i] = (bytes[i] as number) + (answer?.text.length ?? 0);
      }
    };
    await Promise.all([client(true), client(false)]);
    measuring = false;
    loop.disable();
    running = false;
    await ingest;
    const liveSeconds = (Date.now() - liveStart) / 1000;

    return {
      config,
      namespace,
      day,
      historySeconds,
      historyChanges,
      live: { changes: fed, changesPerSec: fed / liveSeconds },
      figures: kinds.map((k, i) => {
        const s = [...(samples[i] as number[])].sort((a, b) => a - b);
        const c = [...(cpu[i] as number[])].sort((a, b) => a - b);
        return {
          name: k.name,
          targetMs: k.targetMs,
          samples: s.length,
          p50: percentile(s, 50),
          p99: percentile(s, 99),
          max: s.at(-1) ?? NaN,
          cpuP50: percentile(c, 50),
          cpuP99: percentile(c, 99),
          bytes: s.length ? (bytes[i] as number) / s.length : 0,
        };
      }),
      eventLoopDelay: {
        p50: loop.percentile(50) / 1e6,
        p99: loop.percentile(99) / 1e6,
        max: loop.max / 1e6,
      },
    };
  } finally {
    await pool?.close();
    await closeBench(b);
  }
}

const ms = (v: number) => `${num(v, v < 10 ? 1 : 0)} ms`;

export function queryRows(r: QueryLatencyResult): [string[], string[][]] {
  return [
    [
      'query',
      'samples',
      'p50',
      'p99',
      'max',
      'CPU p50',
      'CPU p99',
      'answer',
      'target p99',
      'verdict',
    ],
    r.figures.map((f) => [
      f.name,
      num(f.samples),
      ms(f.p50),
      ms(f.p99),
      ms(f.max),
      ms(f.cpuP50),
      ms(f.cpuP99),
      `${num(f.bytes / 1e3)} KB`,
      f.targetMs === null ? '—' : `≤ ${num(f.targetMs)} ms`,
      f.targetMs === null ? '—' : f.p99 <= f.targetMs ? 'met' : 'NOT met',
    ]),
  ];
}

export function describeQueries(r: QueryLatencyResult): string {
  return [
    `History: ${num(r.historyChanges)} changes over the past 24 h (recorded in ${num(r.historySeconds, 0)} s), ` +
      `${r.config.namespaces} namespaces; ${r.namespace} holds ${num(r.day.objects)} objects, ` +
      `${num(r.day.versions)} versions and ${num(r.day.occurrences)} Event occurrences.`,
    `While querying: ${num(r.live.changes)} changes fed at ${num(r.live.changesPerSec)} changes/s; ` +
      `event-loop delay of the recording thread p50 ${ms(r.eventLoopDelay.p50)}, p99 ${ms(r.eventLoopDelay.p99)}, max ${ms(r.eventLoopDelay.max)}.`,
  ].join('\n');
}
