// `npm run bench` (full) and `npm run bench -- --quick` (about a minute, smaller sizes): drives
// the real recorder and store with deterministic workloads and prints the figures of
// the performance design next to their targets; also writes test-results/bench.json.
// `--only=ingest,scenarios,memory` runs a subset; `--profile=DIR` writes a CPU profile of one
// extra, uncounted ingest run of each profile (see profile-summary.ts).
import { fileURLToPath } from 'node:url';
import { ingest, type IngestSummary } from './ingest.ts';
import { measureMemory, OPERATOR_FLAGS, type MemoryFigures } from './memory.ts';
import { describeMachine, machine, printTable, writeJson } from './report.ts';
import {
  duplicatesScenario,
  eventsScenario,
  heartbeatScenario,
  type ScenarioResult,
} from './scenarios.ts';
import { capturedWorkload, REPLAY_POLICY } from './replay.ts';
import { encode } from './stream.ts';
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
};

const OUTPUT = fileURLToPath(new URL('../../test-results/bench.json', import.meta.url));
const SECTIONS = ['ingest', 'scenarios', 'memory'] as const;

/** Seeds of the two churn profiles: fixed, so every run feeds the same bytes. */
const SEEDS = { small: 42, large: 43 };

interface Args {
  config: Config;
  sections: Set<string>;
  profileDir: string | undefined;
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
  return { config, sections, profileDir };
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
  const { config, sections, profileDir } = parseArgs(process.argv.slice(2));
  const m = machine();
  const started = new Date();
  console.log(`Hindsight benchmark, ${config.mode} mode, ${started.toISOString()}`);
  console.log(describeMachine(m));
  if (config.mode === 'quick') {
    console.log(
      `Quick mode: ${config.smallChanges} / ${config.largeChanges} changes, memory at ` +
        `${config.memorySizes.join(' / ')} objects, relist of ${config.memorySizes.at(-1)}; ` +
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
  const results: Results = { config, ingest: ingestResults, scenarios, memory };
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
  console.log('\nAPI query latency while ingesting: not measured: needs the REST API');
  console.log('End-to-end latency (API write → queryable): not measured: needs the REST API');
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
    notMeasured: {
      queryLatency: 'not measured: needs the REST API',
      endToEndLatency: 'not measured: needs the REST API',
    },
    targets: targets.json,
  });
  const seconds = (Date.now() - started.getTime()) / 1000;
  console.log(`\nWrote ${OUTPUT} (${seconds.toFixed(0)} s in all)`);
}

await main();
