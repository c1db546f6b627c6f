// The captured watch streams of the local control plane (capture-watch.ts made the fixture),
// as a workload of NDJSON streams for the ingest figure: the same bytes, per watch, that the
// API server sent while Deployments rolled out and scaled, kwok ran their Pods, ConfigMaps were
// edited and the controllers emitted Events.
import { readFileSync } from 'node:fs';
import { zstdDecompressSync } from 'node:zlib';
import type { HistoryPolicySpec } from '../../src/api/history-policy.ts';
import type { WatchTarget } from '../../src/kube/reflector.ts';
import { BENCH_POLICY } from './harness.ts';
import { CHUNK, type EncodedWorkload } from './stream.ts';

export const FIXTURE = new URL('fixtures/watch-capture.zst', import.meta.url);

/** What capture-watch.ts watches, and the WatchTarget each stream is fed as. */
export const CAPTURED_WATCHES: readonly WatchTarget[] = [
  ['', 'v1', 'Pod', 'pods'],
  ['', 'v1', 'Event', 'events'],
  ['', 'v1', 'ConfigMap', 'configmaps'],
  ['', 'v1', 'Node', 'nodes'],
  ['apps', 'v1', 'Deployment', 'deployments'],
  ['apps', 'v1', 'ReplicaSet', 'replicasets'],
].map(([group = '', version = '', kind = '', resource = '']) => ({
  key: `${group}/${resource}`,
  group,
  version,
  kind,
  resource,
  namespace: null,
}));

/** The benchmark policy with ConfigMaps too, which the capture edits. */
export const REPLAY_POLICY: HistoryPolicySpec = {
  ...BENCH_POLICY,
  resources: [...BENCH_POLICY.resources, { group: '', kinds: ['ConfigMap'] }],
};

/** The fixture as one stream per watch, in chunks of CHUNK lines. */
export function capturedWorkload(): EncodedWorkload {
  const text = zstdDecompressSync(readFileSync(FIXTURE)).toString('utf8');
  const byKey = new Map(CAPTURED_WATCHES.map((t) => [t.key, { target: t, lines: [] as string[] }]));
  let changes = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const space = line.indexOf(' ');
    const w = byKey.get(line.slice(0, space));
    if (!w) throw new Error(`${FIXTURE.pathname}: unknown watch '${line.slice(0, space)}'`);
    w.lines.push(line.slice(space + 1));
    changes++;
  }
  const streams = new Map<WatchTarget, Buffer[]>();
  let bytes = 0;
  for (const { target, lines } of byKey.values()) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < lines.length; i += CHUNK) {
      const buf = Buffer.from(lines.slice(i, i + CHUNK).join('\n'), 'utf8');
      bytes += buf.length + 1;
      chunks.push(buf);
    }
    if (chunks.length) streams.set(target, chunks);
  }
  return { name: 'captured watch', streams, changes, bytes };
}
