// End-to-end latency on the local control plane: a write acknowledged by the Kubernetes API
// server → the change readable from Hindsight's API. The real operator runs as a process (the
// least-privilege ServiceAccount, a HistoryPolicy for ConfigMaps of one namespace); writers patch
// ConfigMaps at a steady rate; a reader follows Hindsight's live stream (/api/v1/stream) and
// matches each version to its write by name and resourceVersion. Latency is from the API
// server's answer to the write until the version arrived on the stream, so it includes the
// watch, the recorder's batching and commit, and the stream's poll of the store.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { SseParser } from '../../src/cli/sse.ts';
import type { SinceItem } from '../../src/store/queries.ts';
import { startControlPlane } from '../cluster/control-plane.ts';
import { OperatorProcess, operatorKubeconfig } from '../integration/operator-process.ts';
import { OPERATOR_FLAGS } from './memory.ts';

export interface EndToEndFigures {
  /** Writes per second asked for, and achieved by the API server. */
  targetRate: number;
  achievedRate: number;
  writes: number;
  /** Writes seen on Hindsight's stream within the grace period after the last write. */
  seen: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  seconds: number;
  /** The operator's resident memory at the end (its own process_resident_memory_bytes). */
  operatorRssBytes: number;
}

const CONFIGMAPS = 200;
const IN_FLIGHT = 32;

export async function measureEndToEnd(rate: number, seconds: number): Promise<EndToEndFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-bench-e2e-'));
  const cp = await startControlPlane({ dir: join(dir, 'cluster'), owner: process.pid });
  let op: OperatorProcess | null = null;
  const stream = new AbortController();
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const kubeconfig = await operatorKubeconfig(cp);
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, '../integration/fixtures/configmaps-clusterrole.yaml'),
    ]);
    const ns = 'bench-e2e';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const policy = join(dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        apiVersion: 'hindsight.dev/v1alpha1',
        kind: 'HistoryPolicy',
        metadata: { name: 'bench-e2e' },
        spec: {
          resources: [{ group: '', kinds: ['ConfigMap'] }],
          events: false,
          namespaces: { include: [ns] },
        },
      }),
    );
    await cp.kubectl(['apply', '-f', policy]);
    op = await OperatorProcess.start({
      kubeconfig,
      dataDir: join(dir, 'data'),
      args: ['--auth', 'none'],
      // As `npm start` runs it, so its RSS is the operator's.
      nodeArgs: OPERATOR_FLAGS,
    });
    for (let i = 0; i < CONFIGMAPS; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: `cm-${i + j}` }, data: { value: '0' } },
          }),
        ),
      );
    }
    // Wait until the operator recorded the creations: the stream then carries only the probes.
    const url = `${op.url}/api/v1/stream?namespace=${ns}&kinds=ConfigMap`;
    for (let n = 0; n < 600; n++) {
      const res = await fetch(`${op.url}/api/v1/resources?namespace=${ns}&limit=500`);
      const page = res.ok ? ((await res.json()) as { items: { name: string }[] }) : { items: [] };
      // The namespace also holds the controller manager's kube-root-ca.crt.
      if (page.items.filter((o) => o.name.startsWith('cm-')).length === CONFIGMAPS) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const arrived = new Map<string, number>();
    const reading = follow(url, stream.signal, (item) => {
      const o = item.version;
      if (o && item.object) arrived.set(`${item.object.name}@${o.rv}`, Date.now());
    });
    await new Promise((r) => setTimeout(r, 500));

    const acked = new Map<string, number>();
    const started = Date.now();
    const interval = 1000 / rate;
    let next = started;
    let i = 0;
    const inFlight = new Set<Promise<void>>();
    while (Date.now() - started < seconds * 1000) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += interval;
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      const name = `cm-${i % CONFIGMAPS}`;
      const value = String(++i);
      const p = core
        .patchNamespacedConfigMap({
          namespace: ns,
          name,
          body: [{ op: 'replace', path: '/data/value', value }],
        })
        .then((cm) => {
          acked.set(`${name}@${cm.metadata?.resourceVersion}`, Date.now());
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    const wrote = (Date.now() - started) / 1000;
    // Grace period for the last writes to arrive.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && [...acked.keys()].some((k) => !arrived.has(k))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stream.abort();
    await reading;
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    const rss = /^process_resident_memory_bytes (\d+)/m.exec(metrics);
    const latencies = [...acked]
      .filter(([k]) => arrived.has(k))
      .map(([k, t]) => Math.max(0, arrived.get(k)! - t))
      .sort((a, b) => a - b);
    return {
      targetRate: rate,
      achievedRate: acked.size / wrote,
      writes: acked.size,
      seen: latencies.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies.at(-1) ?? NaN,
      seconds: wrote,
      operatorRssBytes: rss ? Number(rss[1]) : NaN,
    };
  } finally {
    stream.abort();
    await op?.stop();
    await cp.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads the live stream until aborted, calling `on` for every item as it arrives. */
async function follow(
  url: string,
  signal: AbortSignal,
  on: (item: SinceItem) => void,
): Promise<void> {
  try {
    const res = await fetch(url, { signal });
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for await (const chunk of res.body!) {
      for (const m of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        on(JSON.parse(m.data) as SinceItem);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

/** The value at quantile q (0..1) of ascending `sorted`, nearest rank. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
