// Vitest global setup of the integration project: one local control plane and one S3 server per
// test run.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.ts';
import { ensureVersitygw, startS3Server, type S3Endpoint } from './s3-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Directory of the running control plane (state.json, kubeconfig, logs). */
    clusterDir: string;
    kubeconfig: string;
    /** The S3 server (versitygw) the Sink tests export to; buckets are created by the tests. */
    s3: S3Endpoint;
    /** Its log, one line per request. */
    s3Log: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const versitygw = await ensureVersitygw(log);
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-cluster-'));
  const keep = Boolean(process.env.HINDSIGHT_KEEP_CLUSTER);
  const started = Date.now();
  // First: it is up in well under a second, so a broken S3 server fails before the slow control
  // plane starts.
  const s3 = await startS3Server({ dir: join(dir, 's3'), bin: versitygw });
  const cp = await startControlPlane({
    dir,
    owner: process.pid,
    keep,
    log,
  }).catch(async (err: unknown) => {
    await s3.stop();
    throw err;
  });
  process.stderr.write(
    `cluster: ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${dir}); S3 at ${s3.endpoint}\n`,
  );
  project.provide('clusterDir', dir);
  project.provide('kubeconfig', cp.kubeconfig);
  const { endpoint, region, accessKeyId, secretAccessKey } = s3;
  project.provide('s3', { endpoint, region, accessKeyId, secretAccessKey });
  project.provide('s3Log', s3.log);
  return async () => {
    await s3.stop();
    if (keep) {
      await cp.stop();
      process.stderr.write(`cluster: stopped; data and logs kept in ${dir}\n`);
    } else {
      await cp.destroy();
    }
  };
}
