// /readyz and failing watches: a watch that fails makes the operator not ready only once it has
// failed for longer than the threshold, and ready again once it recovers. The watch set's clock
// is the test's, so the threshold is crossed without waiting for it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { Readiness } from '../../src/http/health.ts';
import { KubeHttp } from '../../src/kube/http.ts';
import type { ReflectorState } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import {
  WATCH_FAILURE_THRESHOLD_MS,
  WatchSet,
  watchesReadiness,
} from '../../src/recorder/watch-set.ts';
import { FakeApiServer } from './fixtures/fake-apiserver.ts';
import {
  closeRecording,
  openRecording,
  watchTarget,
  type TempRecording,
} from './fixtures/recording.ts';

const CONFIGMAPS = watchTarget('', 'ConfigMap', 'configmaps', 'shop');

let api: FakeApiServer;
let recording: TempRecording;
let watches: WatchSet;
let server: Server;
let clock = 1_000_000;
/** Woken on every change of a watch's state. */
let changed = () => {};

beforeEach(async () => {
  api = await FakeApiServer.start();
  recording = openRecording('hindsight-readyz-');
  const kc = api.kubeConfig();
  watches = new WatchSet({
    kc,
    http: new KubeHttp(kc),
    recorder: recording.recorder,
    writer: recording.writer,
    log: createLogger('error'),
    now: () => clock,
    onChange: () => changed(),
  });
  const readiness = new Readiness();
  readiness.set('watches', watchesReadiness(watches));
  server = createApp({ registry: new Registry(), readiness }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
});

afterEach(async () => {
  await watches.stopAll();
  await new Promise((r) => server.close(r));
  await api.close();
  await closeRecording(recording);
});

/** Resolves once the watch of CONFIGMAPS is in `state`. */
async function untilState(state: ReflectorState): Promise<void> {
  while (watches.status(CONFIGMAPS.key)?.state !== state) {
    await new Promise<void>((resolve) => (changed = resolve));
  }
}

async function readyz(): Promise<{ status: number; watches: unknown }> {
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
  const body = (await res.json()) as { checks: { watches: unknown } };
  return { status: res.status, watches: body.checks.watches };
}

it('stays ready while a watch has failed for up to the threshold, not after it, and again once it recovers', async () => {
  api.failWith = 503;
  await watches.update([CONFIGMAPS]);
  await untilState('Error');
  const failedAt = watches.status(CONFIGMAPS.key)!.since;
  expect(failedAt).toBe(clock);
  expect(await readyz()).toEqual({ status: 200, watches: { ok: true } });

  clock = failedAt + WATCH_FAILURE_THRESHOLD_MS;
  expect(await readyz()).toEqual({ status: 200, watches: { ok: true } });

  clock = failedAt + WATCH_FAILURE_THRESHOLD_MS + 1;
  expect(await readyz()).toEqual({
    status: 503,
    watches: {
      ok: false,
      message: `watches failing for more than 5 minutes: ${CONFIGMAPS.key}`,
    },
  });

  // The watch recovers when the API server answers again: ready, however long it had failed.
  api.failWith = null;
  await untilState('Watching');
  clock += WATCH_FAILURE_THRESHOLD_MS;
  expect(await readyz()).toEqual({ status: 200, watches: { ok: true } });
}, 20_000);

it('counts the threshold from when a watch started failing, not from when it was opened', async () => {
  await watches.update([CONFIGMAPS]);
  await untilState('Watching');
  // Hours of watching, then the API server goes away.
  clock += 12 * WATCH_FAILURE_THRESHOLD_MS;
  api.failWith = 503;
  api.endWatches();
  await untilState('Error');
  expect(watches.status(CONFIGMAPS.key)!.since).toBe(clock);
  expect((await readyz()).status).toBe(200);
  clock += WATCH_FAILURE_THRESHOLD_MS;
  expect((await readyz()).status).toBe(200);
  clock += 1;
  expect((await readyz()).status).toBe(503);
}, 20_000);
