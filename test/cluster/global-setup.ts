// Vitest global setup of the integration project: one local control plane per test run.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Directory of the running control plane (state.json, kubeconfig, logs). */
    clusterDir: string;
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-cluster-'));
  const keep = Boolean(process.env.HINDSIGHT_KEEP_CLUSTER);
  const started = Date.now();
  const cp = await startControlPlane({
    dir,
    owner: process.pid,
    keep,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  process.stderr.write(
    `cluster: ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${dir})\n`,
  );
  project.provide('clusterDir', dir);
  project.provide('kubeconfig', cp.kubeconfig);
  return async () => {
    if (keep) {
      await cp.stop();
      process.stderr.write(`cluster: stopped; data and logs kept in ${dir}\n`);
    } else {
      await cp.destroy();
    }
  };
}
