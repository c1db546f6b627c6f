// Putting the operator, running as a local process, behind the Service the CLI reaches through
// the API server's service proxy.
import { networkInterfaces } from 'node:os';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { apply, waitFor } from './cluster.ts';

/** The Node the stand-in Pod runs on; delete it when done. */
export const HOST_NODE = 'hindsight-cli-host';

/** An IPv4 address of this machine other than loopback: the API server may proxy to it. */
export function machineAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address for the service proxy test');
}

/**
 * Puts the operator (a local process listening on `address`) behind Service
 * hindsight-system/hindsight, as its Pod would be in a cluster. The API server proxies only to
 * endpoints that are Pods with that IP, so a Pod is made to have it: host-network Pods take their
 * Node's address, and this Node (kept free of other Pods by a taint) has the machine's.
 */
export async function exposeThroughService(
  cp: ControlPlane,
  address: string,
  port: number,
  portName: 'http' | 'https' = 'https',
): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: HOST_NODE, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
    spec: { taints: [{ key: 'hindsight.dev/test-host', effect: 'NoSchedule' }] },
  });
  await cp.kubectl([
    'patch',
    'node',
    HOST_NODE,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: {
        addresses: [
          { type: 'InternalIP', address },
          { type: 'Hostname', address: HOST_NODE },
        ],
      },
    }),
  ]);
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'hindsight-0', namespace: 'hindsight-system', labels: { app: 'hindsight' } },
    spec: {
      nodeName: HOST_NODE,
      hostNetwork: true,
      tolerations: [{ key: 'hindsight.dev/test-host', operator: 'Exists' }],
      containers: [{ name: 'operator', image: 'hindsight:test' }],
    },
  });
  await waitFor(
    'the stand-in Pod to have the address',
    30_000,
    async () =>
      (await cp.kubectl([
        'get',
        'pod',
        '-n',
        'hindsight-system',
        'hindsight-0',
        '-o',
        'jsonpath={.status.podIP}',
      ])) === address,
  );
  await apply(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hindsight', namespace: 'hindsight-system' },
      spec: { ports: [{ name: portName, port: 443, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'hindsight-test',
        namespace: 'hindsight-system',
        labels: {
          'kubernetes.io/service-name': 'hindsight',
          'endpointslice.kubernetes.io/managed-by': 'hindsight-tests',
        },
      },
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: [address],
          conditions: { ready: true },
          targetRef: { kind: 'Pod', name: 'hindsight-0', namespace: 'hindsight-system' },
        },
      ],
      ports: [{ name: portName, port, protocol: 'TCP' }],
    },
  );
}
