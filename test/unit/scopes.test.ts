// The scopes access is computed over: a kind or namespace recorded a moment ago is among them at
// once (not after a refresh period), Events add their namespace, and a recount drops what
// retention removed.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/reflector.ts';
import { ScopeCache } from '../../src/store/scopes.ts';
import {
  closeRecording,
  openRecording,
  watchTarget,
  type TempRecording,
} from './fixtures/recording.ts';

const all = [
  { group: '', kinds: ['ConfigMap'] },
  { group: 'apps', kinds: ['StatefulSet'] },
];

function obj(kind: string, apiVersion: string, name: string, namespace: string): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: { name, namespace, uid: `uid-${kind}-${namespace}-${name}`, resourceVersion: '1' },
  };
}

let clock = 0;
const added = (object: KubeObject) => ({ type: 'ADDED' as const, object, time: ++clock });
const sorted = (c: ScopeCache) =>
  c
    .current()
    .map((s) => `${s.group}/${s.resource}@${s.namespace}`)
    .sort();

let rec: TempRecording;
afterEach(() => closeRecording(rec));

describe('ScopeCache', () => {
  it('has the scope of every object and Event stored up to the call, without waiting', async () => {
    rec = openRecording('hindsight-scopes-', {
      policy: { name: 'p', spec: { resources: all, events: true } },
    });
    let t = 0;
    const cache = new ScopeCache(rec.db, () => t);
    expect(cache.current()).toEqual([]);
    await rec.recorder.write(watchTarget('', 'ConfigMap', 'configmaps'), [
      added(obj('ConfigMap', 'v1', 'a', 'shop')),
    ]);
    expect(sorted(cache)).toEqual(['/configmaps@shop']);
    t += 1000;
    await rec.recorder.write(watchTarget('apps', 'StatefulSet', 'statefulsets'), [
      added(obj('StatefulSet', 'apps/v1', 'db', 'shop')),
      added(obj('StatefulSet', 'apps/v1', 'db', 'pay')),
    ]);
    await rec.recorder.write(watchTarget('', 'Event', 'events'), [
      added({
        ...obj('Event', 'v1', 'e', 'ops'),
        involvedObject: { kind: 'Pod', name: 'p', namespace: 'ops', uid: 'uid-p' },
        reason: 'Pulled',
        message: 'pulled',
        count: 1,
        lastTimestamp: '2026-12-03T10:00:00Z',
      }),
    ]);
    expect(sorted(cache)).toEqual([
      '/configmaps@shop',
      '/events@ops',
      'apps/statefulsets@pay',
      'apps/statefulsets@shop',
    ]);
    // What retention removed goes at the next recount, five minutes on.
    // As retention removes a deleted object's history: its versions, then the object.
    const pay = "(SELECT id FROM objects WHERE namespace = 'pay')";
    rec.db.prepare(`DELETE FROM versions WHERE object_id IN ${pay}`).run();
    rec.db.prepare(`DELETE FROM objects WHERE id IN ${pay}`).run();
    expect(sorted(cache)).toContain('apps/statefulsets@pay');
    t += 5 * 60_000 + 1;
    expect(sorted(cache)).toEqual(['/configmaps@shop', '/events@ops', 'apps/statefulsets@shop']);
  });
});
