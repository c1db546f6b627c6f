// npm run demo: a local control plane, the operator recording it (the workloads sample policy,
// --auth=none on loopback), and a scripted workload — a Deployment created, rolled out, scaled
// and broken by a bad image — so there is history to look at in the UI, the API and the CLI.
// Stops everything on Ctrl-C. Needs the control plane binaries (npm run cluster:build).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { build } from 'vite';
import { startControlPlane } from './control-plane.ts';

const ROOT = join(import.meta.dirname, '../..');
const PORT = Number(process.env.HINDSIGHT_DEMO_PORT ?? 8080);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/ui/index.html'))) {
    console.log('Building the web UI…');
    await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn' });
  }
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-demo-'));
  console.log('Starting a local control plane…');
  const cp = await startControlPlane({ dir: join(dir, 'cluster'), owner: process.pid });
  const kubectl = (...args: string[]) => cp.kubectl(args);
  await kubectl('apply', '-f', join(ROOT, 'crds'));
  await kubectl('wait', '--for=condition=Established', 'crd/historypolicies.hindsight.dev');
  await kubectl('apply', '-f', join(ROOT, 'config/samples/historypolicy-workloads.yaml'));

  const operator = spawn(
    process.execPath,
    [
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
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    operator.kill('SIGTERM');
    await new Promise((r) => operator.once('exit', r));
    await cp.destroy();
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  operator.once('exit', (code) => {
    if (!stopping) {
      console.error(`The operator exited (${code}).`);
      void stop();
    }
  });

  console.log(`Hindsight is recording. Open http://127.0.0.1:${PORT}/ (API under /api/v1).`);
  console.log(`  export KUBECONFIG=${cp.kubeconfig}`);
  console.log(`  hindsight --server http://127.0.0.1:${PORT} history deployment/web -n demo`);
  await kubectl('create', 'namespace', 'demo');
  await kubectl('create', 'deployment', 'web', '-n', 'demo', '--image=nginx:1.27', '--replicas=3');
  for (let round = 1; !stopping; round++) {
    await sleep(20_000);
    const step = round % 4;
    if (step === 1)
      await kubectl('set', 'image', 'deployment/web', '-n', 'demo', `nginx=nginx:1.${27 + round}`);
    if (step === 2)
      await kubectl('scale', 'deployment/web', '-n', 'demo', `--replicas=${2 + (round % 3)}`);
    if (step === 3)
      await kubectl('label', 'deployment/web', '-n', 'demo', `round=${round}`, '--overwrite');
    if (step === 0) await kubectl('set', 'env', 'deployment/web', '-n', 'demo', `ROUND=${round}`);
    console.log(`Workload round ${round} applied.`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
