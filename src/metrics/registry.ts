// Every Prometheus metric of Hindsight is defined here, on one registry owned by the process.
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  buildInfo: Gauge<'version' | 'node_version'>;
  kubeApiServerInfo: Gauge<'server' | 'git_version'>;
}

export function createMetrics(version: string): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: 'hindsight_build_info',
    help: 'Constant 1, labelled with the Hindsight and Node.js versions.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  buildInfo.set({ version, node_version: process.versions.node }, 1);
  const kubeApiServerInfo = new Gauge({
    name: 'hindsight_kube_apiserver_info',
    help: 'Constant 1, labelled with the Kubernetes API server Hindsight is connected to and its version.',
    labelNames: ['server', 'git_version'],
    registers: [registry],
  });
  return { registry, buildInfo, kubeApiServerInfo };
}
