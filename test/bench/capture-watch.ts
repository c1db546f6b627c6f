// Captures the raw watch streams of the local control plane (test/cluster) while a scripted
// workload runs, into the fixture the benchmark replays (replay.ts):
//
//   node test/bench/capture-watch.ts            # starts a control plane, removes it afterwards
//   node test/bench/capture-watch.ts --attach=DIR   # uses one started by npm run cluster:up
//
// Each watched resource is read with `kubectl get --raw '<path>?watch=true'`: the bytes the API
// server sends, one JSON watch event per line, starting with ADDED for what exists (as after a
// list). The workload, all through kubectl: Deployments created, rolled out (new env, new
// image), scaled up and down and deleted, their ReplicaSets and Pods made by the real
// controllers and run by kwok's fake Nodes, ConfigMaps created, edited and deleted, and the
// Events all of that produces. The fixture is zstd-compressed text, one line per watch event:
// the watch's key (`<group>/<resource>`, '' for core), a space, then the line as received.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, zstdCompressSync } from 'node:zlib';
import { ControlPlane, startControlPlane } from '../cluster/control-plane.ts';
import { CAPTURED_WATCHES, FIXTURE } from './replay.ts';

const NS = 'shop';
const DEPLOYMENTS = 10;
const CONFIGMAPS = 20;
const ROUNDS = 4;

function deployment(i: number, replicas: number): unknown {
  const name = `web-${i}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: name, tier: i % 2 ? 'back' : 'front' } },
    spec: {
      replicas,
      revisionHistoryLimit: 2,
      selector: { matchLabels: { app: name } },
      strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name, tier: i % 2 ? 'back' : 'front' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: `registry.example/web:1.${i}.0`,
              ports: [{ containerPort: 8080, name: 'http' }],
              env: [
                { name: 'LOG_LEVEL', value: 'info' },
                {
                  name: 'CONFIG',
                  valueFrom: { configMapKeyRef: { name: `cfg-${i}`, key: 'mode' } },
                },
              ],
              resources: {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { cpu: '500m', memory: '256Mi' },
              },
              readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
            },
          ],
        },
      },
    },
  };
}

function configMap(i: number, round: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cfg-${i}`, namespace: NS, labels: { app: `web-${i % DEPLOYMENTS}` } },
    data: { mode: round % 2 ? 'canary' : 'stable', round: String(round), limits: `${100 + round}` },
  };
}

/** One `kubectl get --raw` watch per resource, collecting its lines. */
function watch(
  cp: ControlPlane,
  key: string,
  path: string,
  lines: string[],
): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(
    join(cp.state.binDir, 'kubectl'),
    [`--kubeconfig=${cp.kubeconfig}`, 'get', '--raw', `${path}?watch=true&timeoutSeconds=3600`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let rest = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) lines.push(`${key} ${p}`);
  });
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { child, done };
}

async function applyAll(cp: ControlPlane, dir: string, objects: unknown[]): Promise<void> {
  const file = join(dir, 'objects.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await cp.kubectl(['apply', '-f', file]);
}

async function rollouts(cp: ControlPlane, names: string[]): Promise<void> {
  await Promise.all(
    names.map((n) =>
      cp.kubectl(['-n', NS, 'rollout', 'status', `deployment/${n}`, '--timeout=300s']),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function workload(cp: ControlPlane, dir: string, log: (m: string) => void): Promise<void> {
  const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `web-${i}`);
  await cp.kubectl(['create', 'namespace', NS]);
  await applyAll(cp, dir, [
    ...Array.from({ length: CONFIGMAPS }, (_, i) => configMap(i, 0)),
    ...Array.from({ length: DEPLOYMENTS }, (_, i) => deployment(i, 4)),
  ]);
  await rollouts(cp, names);
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}: rollouts, ConfigMap edits, scaling`);
    await applyAll(
      cp,
      dir,
      Array.from({ length: CONFIGMAPS }, (_, i) => configMap(i, round)),
    );
    for (const n of names) {
      await cp.kubectl(['-n', NS, 'set', 'env', `deployment/${n}`, `ROUND=${round}`]);
    }
    await rollouts(cp, names);
    const scaled = [0, 1].map((k) => names[(2 * round + k) % DEPLOYMENTS] ?? 'web-0');
    for (const n of scaled)
      await cp.kubectl(['-n', NS, 'scale', `deployment/${n}`, '--replicas=8']);
    await rollouts(cp, scaled);
    for (const n of scaled) {
      await cp.kubectl([
        '-n',
        NS,
        'set',
        'image',
        `deployment/${n}`,
        `app=registry.example/web:2.${round}.0`,
      ]);
    }
    await rollouts(cp, scaled);
    for (const n of scaled)
      await cp.kubectl(['-n', NS, 'scale', `deployment/${n}`, '--replicas=3']);
    await rollouts(cp, scaled);
  }
  log('deleting three Deployments and half the ConfigMaps');
  await cp.kubectl(['-n', NS, 'delete', 'deployment', 'web-7', 'web-8', 'web-9', '--wait=true']);
  for (let i = 0; i < CONFIGMAPS; i += 2) {
    await cp.kubectl(['-n', NS, 'delete', 'configmap', `cfg-${i}`]);
  }
  // Let the garbage collector remove the ReplicaSets and Pods, and Node heartbeats come in.
  await sleep(20_000);
}

async function main(): Promise<void> {
  const log = (m: string) => console.error(`capture: ${m}`);
  const attach = process.argv.find((a) => a.startsWith('--attach='))?.slice('--attach='.length);
  const cp = attach
    ? await ControlPlane.attach(attach)
    : await startControlPlane({
        dir: mkdtempSync(join(tmpdir(), 'hindsight-capture-')),
        owner: process.pid,
        nodes: 3,
        log,
      });
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-capture-objects-'));
  const lines: string[] = [];
  const watches = CAPTURED_WATCHES.map((w) => {
    const base = w.group === '' ? '/api/v1' : `/apis/${w.group}/${w.version}`;
    return watch(cp, `${w.group}/${w.resource}`, `${base}/${w.resource}`, lines);
  });
  try {
    await sleep(2000);
    await workload(cp, dir, log);
  } finally {
    for (const w of watches) w.child.kill('SIGTERM');
    await Promise.all(watches.map((w) => w.done));
    if (!attach) await cp.destroy();
  }
  const text = Buffer.from(lines.join('\n') + '\n', 'utf8');
  const out = fileURLToPath(FIXTURE);
  const compressed = zstdCompressSync(text, {
    params: { [constants.ZSTD_c_compressionLevel]: 19 },
  });
  writeFileSync(out, compressed);
  log(
    `${lines.length} watch events, ${text.length} bytes, ${compressed.length} compressed → ${out}`,
  );
}

await main();
