// The reflector's backpressure (ADR 0004) against the local API server: when the recorder falls
// behind, the reflector stops taking events at its high-water mark by closing the watch, waits
// until what it buffered is committed, and watches again from the last buffered resourceVersion,
// losing nothing and listing nothing again. The reflector reaches the API server through a
// loopback TCP proxy that only forwards bytes, so the test can see its watch connection close.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KubeHttp } from '../../src/kube/http.ts';
import { Reflector, type ReflectorItem } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import { kubeConfig, uniqueName, waitFor, controlPlane } from './cluster.ts';
import { CuttableProxy } from './operator-process.ts';

const HIGH_WATER = 3;
const COUNT = 10;

const admin = kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const ns = uniqueName('backpressure');
let proxy: CuttableProxy;
let reflector: Reflector | undefined;
/** Lets the blocked recorder commit; stop() waits for that. */
let unblock = () => {};

/** The admin's kubeconfig with its server replaced by `server`. */
function through(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters.map((c) => ({ ...c, server })),
    users: admin.users,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  return kc;
}

beforeAll(async () => {
  const cp = await controlPlane();
  proxy = await CuttableProxy.start(new URL(cp.state.server));
  await core.createNamespace({ body: { metadata: { name: ns } } });
  // The controller manager publishes kube-root-ca.crt into every new namespace: let it, so the
  // only events after the checkpoint are the test's own.
  await waitFor('kube-root-ca.crt to be published', 30_000, async () =>
    (await core.listNamespacedConfigMap({ namespace: ns })).items.some(
      (c) => c.metadata?.name === 'kube-root-ca.crt',
    ),
  );
});

afterAll(async () => {
  unblock();
  await reflector?.stop();
  await proxy?.close();
  await core.deleteNamespace({ name: ns }).catch(() => {});
});

/** The objects among `items`: bookmarks the API server may send in between are no changes. */
const changes = (items: ReflectorItem[]) =>
  items.flatMap((i) =>
    'object' in i
      ? [{ type: i.type, name: i.object.metadata?.name, rv: i.object.metadata?.resourceVersion }]
      : [],
  );
const names = (items: ReflectorItem[]) => changes(items).map((c) => c.name);

it('closes the watch at its high-water mark while the recorder is blocked, and resumes from the last buffered resourceVersion once it drained', async () => {
  const checkpoint = (await core.listNamespacedConfigMap({ namespace: ns })).metadata!
    .resourceVersion!;
  // Every change is made before the reflector starts: the watch from the checkpoint is offered
  // all of them at once, more than the buffer may hold.
  const created: { name: string; rv: string }[] = [];
  for (let i = 1; i <= COUNT; i++) {
    const name = `cm-${String(i).padStart(2, '0')}`;
    const cm = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name }, data: { i: String(i) } },
    });
    created.push({ name, rv: cm.metadata!.resourceVersion! });
  }

  const handed: ReflectorItem[] = [];
  const blocked = new Promise<void>((resolve) => (unblock = resolve));
  const restarts: { reason: string; handed: (string | undefined)[] }[] = [];
  const relists: string[] = [];
  const kc = through(`https://127.0.0.1:${proxy.port}`);
  reflector = new Reflector({
    kc,
    http: new KubeHttp(kc),
    target: {
      key: `/configmaps@${ns}`,
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      resource: 'configmaps',
      namespace: ns,
    },
    // A recorder that cannot commit until the test lets it.
    sink: async (_t, items) => {
      handed.push(...items);
      await blocked;
    },
    checkpoint: () => ({ rv: checkpoint, time: Date.now() }),
    log: createLogger('error'),
    metrics: {
      // Counted just before the watch is opened again: what had been committed by then.
      watchRestart: (_k, reason) => restarts.push({ reason, handed: names(handed) }),
      relist: (_k, reason) => relists.push(reason),
      listDuration() {},
    },
    highWater: HIGH_WATER,
    chunk: 1,
  });
  reflector.start();

  await waitFor('the first ConfigMap to reach the recorder', 30_000, () =>
    Promise.resolve(changes(handed).length > 0),
  );
  // The client library lets an aborted watch's connection go about 4 s after the abort, so this
  // waits rather than looks once.
  await waitFor(
    'the watch to be closed while the recorder is blocked (else the reflector buffers without bound)',
    20_000,
    () => Promise.resolve(proxy.open === 0),
  );
  // One chunk is with the recorder and nothing was reopened: the rest stays with the API server.
  expect(names(handed)).toEqual(['cm-01']);
  expect(restarts).toEqual([]);

  unblock();
  await waitFor('every ConfigMap to reach the recorder', 30_000, () =>
    Promise.resolve(changes(handed).length >= COUNT),
  );
  // Reopened only once the buffer was committed: the one chunk and the buffer at its mark.
  expect(restarts[0]).toEqual({
    reason: 'backpressure',
    handed: created.slice(0, 1 + HIGH_WATER).map((c) => c.name),
  });
  // The second watch may meet its own mark; it never fails or lists again.
  expect(restarts.map((r) => r.reason)).toEqual(restarts.map(() => 'backpressure'));
  expect(relists).toEqual([]);
  // Every change exactly once, in order: what the first watch did not take came on the next,
  // which started from the last resourceVersion the first one buffered.
  expect(changes(handed)).toEqual(created.map((c) => ({ type: 'ADDED', ...c })));
});
