// npm run demo: Hindsight on this machine, no cluster needed. It builds what it needs (the web UI,
// and on first use the local control plane's binaries from upstream sources), starts a local
// control plane (test/cluster: real etcd, kube-apiserver, controllers, kwok for Nodes and Pods),
// the operator recording it (the workloads sample policy, --auth=none on loopback), and a
// scripted incident (workload.ts). Prints the UI's address and CLI commands to try; Ctrl-C stops
// everything and removes its data.
//   HINDSIGHT_DEMO_PORT  the UI and API port (default 8080)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../test/cluster/control-plane.ts';
import {
  DEMO_NAMESPACE,
  DELETED_NAMESPACE,
  keepChanging,
  playIncident,
  type Kubectl,
} from './workload.ts';

const ROOT = join(import.meta.dirname, '../..');
const PORT = Number(process.env.HINDSIGHT_DEMO_PORT ?? 8080);

/** kubectl of the local control plane, with `stdin` piped to it; fails with its stderr. */
function kubectlOf(cp: ControlPlane): Kubectl {
  return (args, stdin) =>
    new Promise((resolve, reject) => {
      const child = spawn(
        join(cp.state.binDir, 'kubectl'),
        [`--kubeconfig=${cp.kubeconfig}`, ...args],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err.trim()}`)),
      );
      child.stdin.end(stdin ?? '');
    });
}

async function buildUi(): Promise<void> {
  if (existsSync(join(ROOT, 'dist/ui/index.html'))) return;
  console.log('Building the web UI…');
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

/** What the demo has started, so that one cleanup, on Ctrl-C or a failure, stops all of it. */
interface Started {
  dir?: string;
  cp?: ControlPlane;
  operator?: ChildProcess;
}

const started: Started = {};
let stopping: Promise<never> | null = null;

/** Stops whatever was started, removes the demo's files, and exits with `code`. */
function stop(code: number, why?: string): Promise<never> {
  stopping ??= (async () => {
    if (why) console.error(`The demo failed: ${why}`);
    console.log('\nStopping…');
    const { operator, cp, dir } = started;
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator.once('exit', r));
      operator.kill('SIGTERM');
      await exited;
    }
    await cp?.destroy().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log('Stopped; the demo’s cluster and history are removed.');
    process.exit(code);
  })();
  return stopping;
}

async function main(): Promise<void> {
  if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
    throw new Error(
      `HINDSIGHT_DEMO_PORT must be a port number, got '${process.env.HINDSIGHT_DEMO_PORT}'`,
    );
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  await buildUi();
  const dir = (started.dir = await mkdtemp(join(tmpdir(), 'hindsight-demo-')));
  console.log(
    'Starting a local control plane (the first run builds it from source: tens of minutes)…',
  );
  const cp = (started.cp = await startControlPlane({
    dir: join(dir, 'cluster'),
    owner: process.pid,
  }));
  const kubectl = kubectlOf(cp);
  await kubectl(['apply', '-f', join(ROOT, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/historypolicies.hindsight.dev']);
  await kubectl(['apply', '-f', join(ROOT, 'config/samples/historypolicy-workloads.yaml')]);

  const operator = (started.operator = spawn(
    process.execPath,
    [
      '--max-semi-space-size=16',
      join(ROOT, 'src/main.ts'),
      '--kubeconfig',
      cp.kubeconfig,
      '--data-dir',
      join(dir, 'data'),
      '--listen',
      `127.0.0.1:${PORT}`,
      '--auth',
      'none',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  ));
  operator.once('exit', (code) => {
    if (!stopping) void stop(1, `the operator exited (${code})`);
  });
  await waitUntilServing(`http://127.0.0.1:${PORT}/readyz`);

  const url = `http://127.0.0.1:${PORT}`;
  console.log(`Hindsight is recording. Open ${url}/ (the API is under /api/v1).`);
  console.log('Playing an incident…');
  await playIncident(kubectl, (line) => console.log(`  ${line}`));
  const cli = `npm run -s cli -- --server ${url}`;
  console.log(`The incident is recorded. Try:
  ${url}/?namespace=${DEMO_NAMESPACE}&range=30m
  ${cli} rollouts deployment/web -n ${DEMO_NAMESPACE}
  ${cli} events -n ${DEMO_NAMESPACE} --since 15m
  ${cli} history deployment/web -n ${DEMO_NAMESPACE}
  ${cli} diff deployment/web -n ${DEMO_NAMESPACE} --from 10m
  ${cli} changes -n ${DELETED_NAMESPACE} --since 15m
  export KUBECONFIG=${cp.kubeconfig}   # kubectl and hindsight against the demo's cluster
A rollout in namespace shop follows every 20 s. Ctrl-C stops everything.`);
  await keepChanging(kubectl, () => stopping !== null);
}

/** Polls `url` until it answers 200 (the operator is ready), for up to a minute. */
async function waitUntilServing(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`the operator did not become ready at ${url} within a minute`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

main().catch((err: unknown) => {
  // Ctrl-C also stops the kubectl the incident waits on: that is not a failure.
  if (stopping) return;
  void stop(1, err instanceof Error ? err.message : String(err));
});
