// Helpers for integration tests: clients for the control plane started by the global setup.
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
