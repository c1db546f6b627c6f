// Helpers for integration tests: clients for the control plane started by the global setup.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { ControlPlane, waitFor } from '../cluster/control-plane.ts';

export { waitFor };

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  return kc;
}

export function controlPlane(): Promise<ControlPlane> {
  return ControlPlane.attach(inject('clusterDir'));
}

/** A namespace name unique to this run, so tests never see each other's objects. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** `kubectl apply` of objects given as values (server-side validation, like a user's apply). */
export async function apply(...objects: unknown[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-apply-'));
  try {
    const file = join(dir, 'objects.json');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    return await (await controlPlane()).kubectl(['apply', '-f', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
