// /readyz and failing watches against the local API server: a watch that fails makes the
// operator not ready only once it has failed for longer than the threshold, and ready again once
// it recovers. The failure is real: the watch's ServiceAccount may not list ConfigMaps in the
// namespace (403) until the test binds it a Role. The watch set's clock is the test's, so the
// threshold is crossed without waiting for it. The watch reaches the API server through a
// loopback TCP proxy that only forwards bytes, so the test can cut a watch that is open, as a
// network failure would.
//
// A 404 (a resource that does not exist) is no such failure: the watch is NotFound, which
// readiness does not count, since the resource may come later with its CRD.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { Readiness } from '../../src/http/health.ts';
import { KubeError } from '../../src/kube/errors.ts';
import { KubeHttp } from '../../src/kube/http.ts';
import type { ReflectorState } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import {
  WATCH_FAILURE_THRESHOLD_MS,
  WatchSet,
  watchesReadiness,
} from '../../src/recorder/watch-set.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import {
  closeRecording,
  openRecording,
  watchTarget,
  type TempRecording,
} from '../unit/fixtures/recording.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { CuttableProxy } from './operator-process.ts';
import { roleBinding, serviceAccount, serviceAccountToken } from './world.ts';

const admin = kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const ns = uniqueName('readyz');
const watcher = { name: 'watcher', namespace: ns };
const CONFIGMAPS = watchTarget('', 'ConfigMap', 'configmaps', ns);
/** What the watch needs in its namespace. */
const ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'configmap-watcher', namespace: ns },
  rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] }],
};
const BINDING = roleBinding('configmap-watcher', ns, 'configmap-watcher', watcher, 'Role');

let cp: ControlPlane;
let proxy: CuttableProxy;
let token: string;
let recording: TempRecording;
let watches: WatchSet;
let server: Server;
let clock = 1_000_000;
/** Changes of the watch's state, and failures of it, so far. */
let changes = 0;
let failures = 0;
/** Woken on every change of the watch's state and every failure. */
let changed = () => {};

/** A kubeconfig of the watcher's token for `server`. */
function watcherConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters.map((c) => ({ ...c, server })),
    users: [{ name: 'watcher', token }],
    contexts: [{ name: 'watcher', cluster: admin.getCurrentCluster()!.name, user: 'watcher' }],
    currentContext: 'watcher',
  });
  return kc;
}

beforeAll(async () => {
  cp = await controlPlane();
  proxy = await CuttableProxy.start(new URL(cp.state.server));
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await apply(serviceAccount(watcher), ROLE);
  token = await serviceAccountToken(cp, watcher);
});

afterAll(async () => {
  await proxy?.close();
  await core.deleteNamespace({ name: ns }).catch(() => {});
});

beforeEach(async () => {
  changes = failures = 0;
  recording = openRecording('hindsight-readyz-');
  const kc = watcherConfig(`https://127.0.0.1:${proxy.port}`);
  watches = new WatchSet({
    kc,
    http: new KubeHttp(kc),
    recorder: recording.recorder,
    writer: recording.writer,
    log: createLogger('error'),
    metrics: {
      watchRestart: (_k, reason) => {
        if (reason === 'error') failures++;
        changed();
      },
      relist() {},
      listDuration() {},
    },
    now: () => clock,
    onChange: () => {
      changes++;
      changed();
    },
  });
  const readiness = new Readiness();
  readiness.set('watches', watchesReadiness(watches));
  server = createApp({ registry: new Registry(), readiness }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
});

afterEach(async () => {
  await watches.stopAll();
  await new Promise((r) => server.close(r));
  await closeRecording(recording);
  await cp.kubectl([
    'delete',
    'rolebinding',
    BINDING.metadata.name,
    '-n',
    ns,
    '--ignore-not-found',
  ]);
});

/** Resolves once `done()` holds, checked on every change of the watch. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise<void>((resolve) => (changed = resolve));
}

const untilState = (state: ReflectorState) =>
  until(() => watches.status(CONFIGMAPS.key)?.state === state);

/**
 * Resolves at the `n`-th failure in a row from now. From the third on, the reflector backs off
 * for a second or more before it tries again, and every try changes the watch's state (and when
 * it entered it): the checks made right after it see one state throughout.
 */
async function untilFailed(n = 3): Promise<void> {
  const target = failures + n;
  await until(() => failures >= target);
}

/** Runs `checks` and fails if the watch changed state meanwhile, which would void them. */
async function steadily(checks: () => Promise<void>): Promise<void> {
  const before = changes;
  await checks();
  expect(changes, 'the watch changed state during the checks').toBe(before);
}

async function readyz(): Promise<{ status: number; watches: unknown }> {
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
  const body = (await res.json()) as { checks: { watches: unknown } };
  return { status: res.status, watches: body.checks.watches };
}

/** Waits until the API server refuses the watcher's list of ConfigMaps (RBAC caches updated). */
async function untilRefused(): Promise<void> {
  const direct = new KubeHttp(watcherConfig(cp.state.server));
  await waitFor('the watcher to be refused ConfigMaps', 30_000, async () => {
    try {
      await direct.get(`/api/v1/namespaces/${ns}/configmaps`, { limit: 1 });
      return false;
    } catch (err) {
      if (err instanceof KubeError && err.reason === 'Forbidden') return true;
      throw err;
    }
  });
}

it('stays ready while a watch has failed for up to the threshold, not after it, and again once it recovers', async () => {
  await watches.update([CONFIGMAPS]);
  await untilFailed();
  const failed = watches.status(CONFIGMAPS.key)!;
  expect(failed.state).toBe('Forbidden');
  expect(failed.message).toMatch(/forbidden/);
  expect(failed.since).toBe(clock);
  await steadily(async () => {
    expect(await readyz()).toEqual({ status: 200, watches: { ok: true } });

    clock = failed.since + WATCH_FAILURE_THRESHOLD_MS;
    expect(await readyz()).toEqual({ status: 200, watches: { ok: true } });

    clock = failed.since + WATCH_FAILURE_THRESHOLD_MS + 1;
    expect(await readyz()).toEqual({
      status: 503,
      watches: {
        ok: false,
        message: `watches failing for more than 5 minutes: ${CONFIGMAPS.key}`,
      },
    });
  });

  // The watch recovers once it may list and watch: ready, however long it had failed.
  await apply(BINDING);
  await untilState('Watching');
  clock += WATCH_FAILURE_THRESHOLD_MS;
  expect(await readyz()).toEqual({ status: 200, watches: { ok: true } });
});

it('counts the threshold from when a watch started failing, not from when it was opened', async () => {
  await apply(BINDING);
  await watches.update([CONFIGMAPS]);
  await untilState('Watching');
  // Hours of watching; then the Role is unbound and the connection lost, so the watch cannot be
  // opened again.
  clock += 12 * WATCH_FAILURE_THRESHOLD_MS;
  await cp.kubectl(['delete', 'rolebinding', BINDING.metadata.name, '-n', ns]);
  await untilRefused();
  expect(watches.status(CONFIGMAPS.key)!.state).toBe('Watching');
  // Besides the watch, idle connections of earlier requests may be open: cut them all.
  expect(proxy.cut()).toBeGreaterThan(0);
  await untilFailed();
  const failed = watches.status(CONFIGMAPS.key)!;
  expect(failed.state).toBe('Forbidden');
  expect(failed.since).toBe(clock);
  await steadily(async () => {
    expect((await readyz()).status).toBe(200);
    clock += WATCH_FAILURE_THRESHOLD_MS;
    expect((await readyz()).status).toBe(200);
    clock += 1;
    expect((await readyz()).status).toBe(503);
  });
  // Recovery is shown by the test above.
});

// Every retry of a failing watch asks the server again; until it answers with a list or an
// accepted watch, the watch stays failing and keeps when it began to.
it('stays not ready while a watch that failed past the threshold goes on failing', async () => {
  await watches.update([CONFIGMAPS]);
  await untilFailed();
  const failedAt = watches.status(CONFIGMAPS.key)!.since;
  clock = failedAt + WATCH_FAILURE_THRESHOLD_MS + 1;
  expect((await readyz()).status).toBe(503);
  await untilFailed(1);
  expect(watches.status(CONFIGMAPS.key)!.state).toBe('Forbidden');
  expect((await readyz()).status).toBe(503);
});
