// The reflector's backpressure (ADR 0004): when the recorder falls behind, the reflector stops
// taking events at its high-water mark by closing the watch, waits until what it buffered is
// committed, and watches again from the last buffered resourceVersion, losing nothing.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { KubeHttp } from '../../src/kube/http.ts';
import { Reflector, type ReflectorItem } from '../../src/kube/reflector.ts';
import { createLogger } from '../../src/log.ts';
import { FakeApiServer, LIST_RV, type WatchEvent } from './fixtures/fake-apiserver.ts';
import { watchTarget } from './fixtures/recording.ts';

const CONFIGMAPS = watchTarget('', 'ConfigMap', 'configmaps', 'shop');
const HIGH_WATER = 3;

const event = (rv: number): WatchEvent => ({
  type: 'ADDED',
  object: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${rv}`, namespace: 'shop', uid: `uid-${rv}`, resourceVersion: `${rv}` },
  },
});
const rvOf = (i: ReflectorItem) => ('object' in i ? i.object.metadata?.resourceVersion : i.type);

/** Rejects with `message` if `p` has not settled within `ms`: a clear failure, not a hang. */
function within<T>(p: Promise<T>, message: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

let api: FakeApiServer;
let reflector: Reflector | undefined;
/** Lets the blocked recorder commit; stop() waits for that. */
let unblock = () => {};

beforeEach(async () => {
  api = await FakeApiServer.start();
});

afterEach(async () => {
  unblock();
  await reflector?.stop();
  reflector = undefined;
  await api.close();
});

it('closes the watch at its high-water mark while the recorder is blocked, and resumes from the last buffered resourceVersion once it drained', async () => {
  api.events = Array.from({ length: 10 }, (_, i) => event(101 + i));
  const handed: string[] = [];
  const blocked = new Promise<void>((resolve) => (unblock = resolve));
  let gotAll!: () => void;
  const all = new Promise<void>((resolve) => (gotAll = resolve));
  const restarts: string[] = [];
  const kc = api.kubeConfig();
  reflector = new Reflector({
    kc,
    http: new KubeHttp(kc),
    target: CONFIGMAPS,
    // A recorder that cannot commit until the test lets it.
    sink: async (_t, items) => {
      for (const i of items) handed.push(rvOf(i) ?? '?');
      if (handed.includes('110')) gotAll();
      await blocked;
    },
    checkpoint: () => ({ rv: LIST_RV, time: 0 }),
    log: createLogger('error'),
    metrics: {
      watchRestart: (_k, reason) => restarts.push(reason),
      relist() {},
      listDuration() {},
    },
    highWater: HIGH_WATER,
    chunk: 1,
  });
  reflector.start();

  const first = await api.watch(1);
  expect(first.rv).toBe(LIST_RV);
  await within(
    first.closed,
    'the watch stayed open while the recorder was blocked: the reflector buffers without bound',
  );
  // One chunk is with the recorder and the buffer is at its mark: nothing more was taken, the
  // later events stay with the API server.
  expect(handed).toEqual(['101']);
  expect(api.watches).toHaveLength(1);
  expect(restarts).toEqual([]);

  let handedBeforeSecond: string[] = [];
  api.onWatch = () => (handedBeforeSecond = [...handed]);
  unblock();
  const second = await api.watch(2);
  // Reopened only after the buffer was committed, from the last resourceVersion in it.
  expect(second.rv).toBe(`${101 + HIGH_WATER}`);
  expect(handedBeforeSecond).toEqual(['101', '102', '103', '104']);
  expect(restarts).toEqual(['backpressure']);

  await all;
  // Every event exactly once, in order: what the first watch did not take came on the second.
  expect(handed).toEqual(api.events.map((e) => e.object.metadata?.resourceVersion));
}, 20_000);
