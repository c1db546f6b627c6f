// The demo's scripted workload: what an incident looks like in the history. A Deployment created
// and rolled out once successfully, then a rollout that cannot create its Pods (a ResourceQuota)
// and fails on its progress deadline with Warning Events, and a namespace created and deleted
// with what was in it. Then a rollout in namespace shop every 20 s, so the timeline keeps moving.

/** Runs kubectl against the demo's cluster; stdin, when given, is piped to it. */
export type Kubectl = (args: string[], stdin?: string) => Promise<string>;

export const DEMO_NAMESPACE = 'demo';
export const DELETED_NAMESPACE = 'scratch';

const json = (o: unknown) => JSON.stringify(o);

function deployment(namespace: string, name: string, replicas: number, image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace, name },
    spec: {
      replicas,
      progressDeadlineSeconds: 15,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

/** `kubectl rollout status`: true when the rollout completed, false when it failed. */
async function rolledOut(kubectl: Kubectl, namespace: string, name: string): Promise<boolean> {
  try {
    await kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=90s']);
    return true;
  } catch {
    return false;
  }
}

/** The scripted incident, step by step; `say` reports each step as it is done. */
export async function playIncident(kubectl: Kubectl, say: (line: string) => void): Promise<void> {
  const ns = DEMO_NAMESPACE;
  await kubectl(
    ['apply', '-f', '-'],
    json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
  );
  await kubectl(['apply', '-f', '-'], json(deployment(ns, 'web', 3, 'registry.example/web:1')));
  if (!(await rolledOut(kubectl, ns, 'web')))
    throw new Error('the first rollout of demo/web did not complete');
  say('Created deployment demo/web with 3 replicas of web:1.');

  await kubectl(['set', 'image', 'deployment/web', '-n', ns, 'app=registry.example/web:2']);
  if (!(await rolledOut(kubectl, ns, 'web')))
    throw new Error('the rollout of web:2 did not complete');
  say('Rolled out web:2: complete.');

  // Room for exactly the Pods there are: the next rollout's first new Pod is refused.
  await kubectl(
    ['apply', '-f', '-'],
    json({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { namespace: ns, name: 'pods' },
      spec: { hard: { pods: '3' } },
    }),
  );
  await kubectl(['set', 'image', 'deployment/web', '-n', ns, 'app=registry.example/web:3']);
  if (await rolledOut(kubectl, ns, 'web'))
    throw new Error('the rollout of web:3 was expected to fail');
  say(
    'Rolled out web:3: failed (the quota refused its Pods: FailedCreate, ProgressDeadlineExceeded).',
  );

  const gone = DELETED_NAMESPACE;
  await kubectl(
    ['apply', '-f', '-'],
    json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: gone } }),
  );
  await kubectl(
    ['apply', '-f', '-'],
    json(deployment(gone, 'batch', 1, 'registry.example/batch:1')),
  );
  await kubectl(
    ['apply', '-f', '-'],
    json({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: gone, name: 'batch' },
      spec: { selector: { app: 'batch' }, ports: [{ port: 80 }] },
    }),
  );
  await rolledOut(kubectl, gone, 'batch');
  await kubectl(['delete', 'namespace', gone, '--wait=true', '--timeout=60s']);
  say(`Created namespace ${gone} with a Deployment and a Service, then deleted it.`);
}

/** A rollout every `everyMs` in namespace `shop` until `stopped()`: the timeline keeps moving. */
export async function keepChanging(
  kubectl: Kubectl,
  stopped: () => boolean,
  everyMs = 20_000,
): Promise<void> {
  await kubectl(
    ['apply', '-f', '-'],
    json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }),
  );
  for (let round = 1; !stopped(); round++) {
    const manifest = deployment('shop', 'api', 2 + (round % 2), `registry.example/api:${round}`);
    await kubectl(['apply', '-f', '-'], json(manifest));
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
