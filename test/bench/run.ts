// `npm run bench` (full) and `npm run bench -- --quick` (about a minute, smaller sizes): drives
// the real recorder and store with deterministic workloads and prints the figures of
// the performance design next to their targets; also writes test-results/bench.json.
// `--only=ingest,scenarios,memory` runs a subset (sections: ingest, scenarios, memory, queries,
// export, e2e); `--profile=DIR` writes a CPU profile of one
// extra, uncounted ingest run of each profile (see profile-summary.ts); `--dump-stream FILE`
// writes the watch events the ingest section feeds, and measures nothing (dump.ts).
import { fileURLToPath } from 'node:url';
import { measureEndToEnd, type EndToEndFigures } from './end-to-end.ts';
import {
  describeExport,
  exportRows,
  ingestWithSinksRows,
  measureExport,
  type ExportFigures,
} from './export.ts';
import { ingest, type IngestSummary } from './ingest.ts';
import { measureMemory, OPERATOR_FLAGS, type MemoryFigures } from './memory.ts';
import {
  describeQueries,
  queryLatency,
  queryRows,
  type QueryLatencyConfig,
  type QueryLatencyResult,
} from './queries.ts';
import { describeMachine, machine, printTable, writeJson } from './report.ts';
import {
  duplicatesScenario,
  eventsScenario,
  heartbeatScenario,
  type ScenarioResult,
} from './scenarios.ts';
import { capturedWorkload, REPLAY_POLICY } from './replay.ts';
import { dumpStreams } from './dump.ts';
import { encode, type EncodedWorkload } from './stream.ts';
import { ingestRows, memoryRows, relistRows, scenarioRows } from './summary.ts';
import { storageBreakdownRows, storageFigures, storageRows, targetRows } from './summary.ts';
import type { Results } from './summary.ts';
import { podChurn } from './workloads.ts';

export interface Config {
  mode: 'quick' | 'full';
  /** Watch events of the small- and large-Pod churn profiles. */
  smallChanges: number;
  largeChanges: number;
  reps: number;
  scenarioReps: number;
  scenarioChanges: number;
  duplicates: number;
  /** Tracked objects of the memory figure; the largest is also relisted. */
  memorySizes: number[];
  /** Processes per memory size; the median RSS is reported. */
  memoryReps: number;
  /** Also record the largest size without the operator's Node flags (diagnostic). */
  defaultFlagsMemory: boolean;
  /** End-to-end latency on the local control plane: writes per second, and for how long. */
  e2eRate: number;
  e2eSeconds: number;
  /** Query latency on a day of history while ingesting 200 changes/s. */
  queries: QueryLatencyConfig;
  /** Watch events of Pod churn with kubelet Events recorded, then exported to Sinks. */
  exportChanges: number;
}

const QUICK: Config = {
  mode: 'quick',
  smallChanges: 20_000,
  largeChanges: 10_000,
  reps: 3,
  scenarioReps: 1,
  scenarioChanges: 5_000,
  duplicates: 2_000,
  memorySizes: [10_000, 50_000],
  memoryReps: 1,
  defaultFlagsMemory: false,
  e2eRate: 200,
  e2eSeconds: 10,
  queries: { churnEvents: 12_000, namespaces: 2, seconds: 6 },
  exportChanges: 30_000,
};

const FULL: Config = {
  mode: 'full',
  smallChanges: 100_000,
  largeChanges: 50_000,
  reps: 3,
  scenarioReps: 3,
  scenarioChanges: 50_000,
  duplicates: 10_000,
  memorySizes: [10_000, 50_000, 150_000],
  memoryReps: 3,
  defaultFlagsMemory: true,
  e2eRate: 200,
  e2eSeconds: 60,
  queries: { churnEvents: 600_000, namespaces: 2, seconds: 60 },
  exportChanges: 160_000,
};

const OUTPUT = fileURLToPath(new URL('../../test-results/bench.json', import.meta.url));
const SECTIONS = ['ingest', 'scenarios', 'memory', 'queries', 'export', 'e2e'] as const;

/** Seeds of the two churn profiles: fixed, so every run feeds the same bytes. */
const SEEDS = { small: 42, large: 43 };

interface Args {
  config: Config;
  sections: Set<string>;
  profileDir: string | undefined;
  /** --dump-stream FILE: write the ingest section's watch events there instead of measuring. */
  dumpStream: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const config = argv.includes('--quick') ? QUICK : FULL;
  const profileDir = argv.find((a) => a.startsWith('--profile='))?.slice('--profile='.length);
  const only = argv.find((a) => a.startsWith('--only='));
  const sections = new Set(only ? only.slice('--only='.length).split(',') : SECTIONS);
  for (const s of sections) {
    if (!(SECTIONS as readonly string[]).includes(s)) {
      throw new Error(`Unknown section '${s}' in --only; use some of ${SECTIONS.join(', ')}`);
    }
  }
  const at = argv.findIndex((a) => a === '--dump-stream' || a.startsWith('--dump-stream='));
  let dumpStream: string | undefined;
  if (at >= 0) {
    const arg = argv[at]!;
    dumpStream = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
    if (!dumpStream || dumpStream.startsWith('--')) {
      throw new Error('--dump-stream needs a FILE to write the watch events to');
    }
  }
  return { config, sections, profileDir, dumpStream };
}

/** The workloads of the ingest section that --dump-stream writes: small-Pod churn, captured. */
function dumpedWorkloads(config: Config): EncodedWorkload[] {
  return [
    encode('small Pods', podChurn('small', SEEDS.small), config.smallChanges),
    capturedWorkload(),
  ];
}

async function runIngest(config: Config, profileDir?: string): Promise<IngestSummary[]> {
  const out: IngestSummary[] = [];
  for (const size of ['small', 'large'] as const) {
    const changes = size === 'small' ? config.smallChanges : config.largeChanges;
    const w = encode(`${size} Pods`, podChurn(size, SEEDS[size]), changes);
    console.error(`… ingest: ${size} Pods, ${changes} changes × ${config.reps}`);
    out.push(await ingest(w, config.reps, { floor: true, profileDir }));
  }
  const captured = capturedWorkload();
  console.error(`… ingest: captured watch streams, ${captured.changes} changes × ${config.reps}`);
  out.push(await ingest(captured, config.reps, { floor: true, profileDir, policy: REPLAY_POLICY }));
  return out;
}

async function runScenarios(config: Config): Promise<ScenarioResult[]> {
  console.error('… other workloads: Events, Node heartbeats, resync duplicates');
  return [
    await eventsScenario(config.scenarioChanges, config.scenarioReps),
    await heartbeatScenario(config.scenarioChanges, config.scenarioReps),
    await duplicatesScenario(config.duplicates, config.scenarioReps),
  ];
}

async function main(): Promise<void> {
  const { config, sections, profileDir, dumpStream } = parseArgs(process.argv.slice(2));
  if (dumpStream) {
    const { lines, bytes } = await dumpStreams(dumpStream, dumpedWorkloads(config));
    console.log(
      `Wrote ${lines} watch events (${(bytes / 1048576).toFixed(1)} MiB) of the small-Pod churn (${config.smallChanges}, ${config.mode} mode) and the captured watch streams to ${dumpStream}`,
    );
    return;
  }
  const m = machine();
  const started = new Date();
  console.log(`Hindsight benchmark, ${config.mode} mode, ${started.toISOString()}`);
  console.log(describeMachine(m));
  if (config.mode === 'quick') {
    console.log(
      `Quick mode: ${config.smallChanges} / ${config.largeChanges} changes, memory at ` +
        `${config.memorySizes.join(' / ')} objects, relist of ${config.memorySizes.at(-1)}, ` +
        `a day of ${config.queries.churnEvents} churn events queried for ${config.queries.seconds} s; ` +
        'the targets are stated for the full sizes (npm run bench).',
    );
  }
  const ingestResults = sections.has('ingest') ? await runIngest(config, profileDir) : [];
  const scenarios = sections.has('scenarios') ? await runScenarios(config) : [];
  let memory: MemoryFigures | null = null;
  if (sections.has('memory')) {
    console.error(
      `… memory: ${config.memorySizes.join(', ')} objects, ${config.memoryReps} process(es) each`,
    );
    memory = await measureMemory(config.memorySizes, {
      reps: config.memoryReps,
      capped: config.defaultFlagsMemory,
    });
  }
  let queries: QueryLatencyResult | null = null;
  if (sections.has('queries')) {
    console.error(
      `… query latency: a day of ${config.queries.churnEvents} churn events and their Events, then ${config.queries.seconds} s of queries while ingesting 200 changes/s`,
    );
    queries = await queryLatency(config.queries);
  }
  let exported: ExportFigures | null = null;
  if (sections.has('export')) {
    console.error(
      `… export: ${config.exportChanges} changes of Pod churn with kubelet Events, to a file and to versitygw (S3)`,
    );
    exported = await measureExport(config.exportChanges, config.reps);
  }
  let e2e: EndToEndFigures | null = null;
  if (sections.has('e2e')) {
    console.error(
      `… end to end: local control plane, ${config.e2eRate} writes/s for ${config.e2eSeconds} s`,
    );
    e2e = await measureEndToEnd(config.e2eRate, config.e2eSeconds);
  }
  const results: Results = {
    config,
    ingest: ingestResults,
    scenarios,
    memory,
    queries,
    export: exported,
    e2e,
  };
  if (ingestResults.length) {
    printTable(
      'Sustained ingest (full pipeline, JSON.parse included) and its floor',
      ...ingestRows(results),
    );
    printTable('Storage per version', ...storageRows(results));
    printTable('Where the bytes go, per version (SQLite dbstat)', ...storageBreakdownRows(results));
  }
  if (scenarios.length) printTable('Other workloads', ...scenarioRows(results));
  if (memory) {
    printTable(
      `Memory with tracked objects (fresh process each, after GC, node ${OPERATOR_FLAGS.join(' ')} as npm start)`,
      ...memoryRows(results),
    );
    printTable('Relist of unchanged objects', ...relistRows(results));
  }
  if (queries) {
    printTable('API query latency while ingesting 200 changes/s', ...queryRows(queries));
    console.log(describeQueries(queries));
  }
  if (exported) {
    printTable(
      'Export to Sinks: SinkRunner delivering a recorded history (default batch, maxDelay 0) and its floors',
      ...exportRows(exported),
    );
    console.log(describeExport(exported));
    printTable(
      'Recording with two Sinks exporting meanwhile (one file, one S3) and without',
      ...ingestWithSinksRows(exported),
    );
  }
  if (e2e) {
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    printTable(
      "End to end on the local control plane: API write acknowledged → on Hindsight's API (live stream)",
      [
        'writes/s asked',
        'writes/s achieved',
        'writes',
        'seen',
        'p50',
        'p99',
        'max',
        'operator RSS',
        'target',
      ],
      [
        [
          String(e2e.targetRate),
          e2e.achievedRate.toFixed(0),
          String(e2e.writes),
          String(e2e.seen),
          ms(e2e.p50Ms),
          ms(e2e.p99Ms),
          ms(e2e.maxMs),
          `${(e2e.operatorRssBytes / 2 ** 20).toFixed(0)} MB`,
          'p99 ≤ 1 s at 200/s',
        ],
      ],
    );
  }
  const targets = targetRows(results);
  printTable('Targets (performance.md)', ...targets.table);
  writeJson(OUTPUT, {
    mode: config.mode,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: m,
    config,
    ingest: ingestResults,
    storage: storageFigures(results),
    scenarios,
    memory,
    queries,
    export: exported,
    endToEnd: e2e,
    targets: targets.json,
  });
  const seconds = (Date.now() - started.getTime()) / 1000;
  console.log(`\nWrote ${OUTPUT} (${seconds.toFixed(0)} s in all)`);
}

await main();
