// The system under test, as the operator assembles it: a history database opened by
// openDatabase (same pragmas and schema), a HistoryWriter, and a Recorder with the operator's
// defaults, its Prometheus metrics, and one compiled HistoryPolicy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryPolicySpec } from '../../src/api/history-policy.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics/registry.ts';
import { compilePolicy } from '../../src/recorder/policy.ts';
import { Recorder } from '../../src/recorder/recorder.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HistoryWriter } from '../../src/store/writer.ts';
import { VERSION } from '../../src/version.ts';

/**
 * The policy of every ingest figure: two exclusion rules (evaluated on every object), two
 * ignore-fields on top of the defaults (managedFields, resourceVersion, Node heartbeats).
 */
export const BENCH_POLICY: HistoryPolicySpec = {
  resources: [
    { group: '', kinds: ['Pod', 'Node'] },
    { group: 'apps', kinds: ['Deployment', 'ReplicaSet'] },
  ],
  events: true,
  exclusionRules: [
    { name: 'skip-kube-system', rule: { '==': [{ var: 'metadata.namespace' }, 'kube-system'] } },
    {
      name: 'skip-canary-pods',
      kinds: ['Pod'],
      rule: { '==': [{ var: 'metadata.labels.track' }, 'canary'] },
    },
  ],
  ignoreFields: [
    'status.conditions[*].lastProbeTime',
    'metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration',
  ],
};

let metrics: Metrics | null = null;

/** One registry per process, as in the operator (default metrics register process-wide hooks). */
export function benchMetrics(): Metrics {
  metrics ??= createMetrics(VERSION);
  return metrics;
}

export interface Bench {
  dir: string;
  path: string;
  db: Db;
  recorder: Recorder;
}

export interface BenchOptions {
  /** Overrides the Recorder's batch delay (the operator uses the default). */
  batchDelayMs?: number;
  /** The policy recorded with; BENCH_POLICY unless given. */
  policy?: HistoryPolicySpec;
}

/** A fresh history database in a temporary directory, with the recorder the operator runs. */
export function openBench(opts: BenchOptions = {}): Bench {
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-bench-'));
  const path = join(dir, 'history.db');
  const db = openDatabase(path);
  const recorder = new Recorder({
    writer: new HistoryWriter(db),
    log: createLogger('error'),
    metrics: benchMetrics().recorder,
    ...(opts.batchDelayMs === undefined ? {} : { batchDelayMs: opts.batchDelayMs }),
  });
  const compiled = compilePolicy('bench', 1, opts.policy ?? BENCH_POLICY);
  const problems = [...compiled.problems, ...compiled.ruleProblems];
  if (problems.length > 0) {
    throw new Error(`The benchmark policy does not compile: ${JSON.stringify(problems)}`);
  }
  recorder.setPolicies([compiled.policy]);
  return { dir, path, db, recorder };
}

export async function closeBench(b: Bench): Promise<void> {
  await b.recorder.stop();
  b.db.close();
  rmSync(b.dir, { recursive: true, force: true });
}

export function count(db: Db, table: 'versions' | 'event_occurrences' | 'objects'): number {
  return db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? 0;
}
