import { describe, expect, it } from 'vitest';
import {
  actorsOfChange,
  formatActors,
  managedFieldsOf,
  managersOf,
  type ManagerStamp,
} from '../../src/recorder/actor.ts';
import { node, pod, secret, type JsonObject } from './fixtures/objects.ts';

type Entry = JsonObject & { manager: string; operation: string; time?: string };

function entries(obj: JsonObject): Entry[] {
  return (obj.metadata as { managedFields: Entry[] }).managedFields;
}

describe('managersOf', () => {
  it('keeps manager, operation, subresource and time, not the field sets', () => {
    expect(managersOf(pod())).toEqual([
      { manager: 'kube-controller-manager', operation: 'Update', time: '2026-11-22T00:39:02Z' },
      {
        manager: 'kubelet',
        operation: 'Update',
        subresource: 'status',
        time: '2026-11-22T00:39:04Z',
      },
    ]);
    // Compact enough to keep per object.
    expect(JSON.stringify(managersOf(pod())).length).toBeLessThan(200);
  });

  it('is empty without managedFields and skips malformed entries', () => {
    expect(managersOf({ metadata: {} })).toEqual([]);
    expect(managersOf(null)).toEqual([]);
    expect(managersOf({ metadata: { managedFields: 'x' } })).toEqual([]);
    const odd = {
      metadata: { managedFields: [{ manager: 1 }, { manager: 'm', operation: 'Apply' }] },
    };
    expect(managersOf(odd)).toEqual([{ manager: 'm', operation: 'Apply' }]);
    // Well-formed entries are read where they are, not copied.
    const p = pod();
    expect(managedFieldsOf(p)).toBe(entries(p));
  });
});

describe('actorsOfChange', () => {
  it('names the manager whose entry time changed (kubelet updating status)', () => {
    const before = pod();
    const after = pod();
    const kubelet = entries(after)[1] as Entry;
    kubelet.time = '2026-11-22T00:41:00Z';
    expect(actorsOfChange(managersOf(before), managersOf(after))).toEqual([
      { manager: 'kubelet', operation: 'Update', subresource: 'status' },
    ]);
    // Raw managedFields arrays work as well as stamps.
    expect(actorsOfChange(entries(before), entries(after))).toEqual([
      { manager: 'kubelet', operation: 'Update', subresource: 'status' },
    ]);
  });

  it('names only the manager whose time changed when another shares the latest second', () => {
    const before: ManagerStamp[] = [
      { manager: 'kube-controller-manager', operation: 'Update', time: '2026-11-22T00:39:05Z' },
      {
        manager: 'kubelet',
        operation: 'Update',
        subresource: 'status',
        time: '2026-11-22T00:39:03Z',
      },
    ];
    const after: ManagerStamp[] = [
      { manager: 'kube-controller-manager', operation: 'Update', time: '2026-11-22T00:39:05Z' },
      {
        manager: 'kubelet',
        operation: 'Update',
        subresource: 'status',
        time: '2026-11-22T00:39:05Z',
      },
    ];
    expect(actorsOfChange(before, after)).toEqual([
      { manager: 'kubelet', operation: 'Update', subresource: 'status' },
    ]);
  });

  it('names a manager whose entry is new, even with an older time than others', () => {
    const before = pod();
    const after = pod();
    entries(after).push({
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:tier': {} } } },
      manager: 'kubectl-label',
      operation: 'Update',
      time: '2026-11-22T00:39:03Z',
    });
    expect(actorsOfChange(managersOf(before), managersOf(after))).toEqual([
      { manager: 'kubectl-label', operation: 'Update' },
    ]);
  });

  it('tells operations and subresources of the same manager apart', () => {
    const before: ManagerStamp[] = [
      { manager: 'kubectl', operation: 'Apply', time: '2026-11-22T00:39:02Z' },
    ];
    const after: ManagerStamp[] = [
      { manager: 'kubectl', operation: 'Apply', time: '2026-11-22T00:39:02Z' },
      {
        manager: 'kubectl',
        operation: 'Update',
        subresource: 'scale',
        time: '2026-11-22T00:39:02Z',
      },
    ];
    expect(actorsOfChange(before, after)).toEqual([
      { manager: 'kubectl', operation: 'Update', subresource: 'scale' },
    ]);
  });

  it('names every manager that changed, in entry order, once each', () => {
    const before = managersOf(node('2026-11-22T00:40:03Z'));
    const after: ManagerStamp[] = [
      { manager: 'kube-controller-manager', operation: 'Update', time: '2026-11-22T00:45:00Z' },
      { manager: 'kwok', operation: 'Update', subresource: 'status', time: '2026-11-22T00:45:00Z' },
      { manager: 'kwok', operation: 'Update', subresource: 'status', time: '2026-11-22T00:45:00Z' },
    ];
    expect(actorsOfChange(before, after)).toEqual([
      { manager: 'kube-controller-manager', operation: 'Update' },
      { manager: 'kwok', operation: 'Update', subresource: 'status' },
    ]);
  });

  it('falls back to the latest entries when no entry changed or there is no previous state', () => {
    const stamps = managersOf(pod());
    const latest = [{ manager: 'kubelet', operation: 'Update', subresource: 'status' }];
    expect(actorsOfChange(stamps, stamps)).toEqual(latest);
    expect(actorsOfChange(null, stamps)).toEqual(latest);
    expect(actorsOfChange(undefined, stamps)).toEqual(latest);
    // Two managers at the same latest second are both named.
    const tie: ManagerStamp[] = [
      { manager: 'a', operation: 'Update', time: '2026-11-22T00:39:04Z' },
      { manager: 'b', operation: 'Update', time: '2026-11-22T00:39:02Z' },
      { manager: 'c', operation: 'Apply', time: '2026-11-22T00:39:04Z' },
    ];
    expect(actorsOfChange(null, tie).map((a) => a.manager)).toEqual(['a', 'c']);
  });

  it('names the creator of a new object (one entry, no previous state)', () => {
    expect(actorsOfChange(null, managersOf(secret()))).toEqual([
      { manager: 'kubectl-client-side-apply', operation: 'Update' },
    ]);
  });

  it('is empty when there are no managedFields, or none with a time to fall back on', () => {
    expect(actorsOfChange(managersOf(pod()), [])).toEqual([]);
    expect(actorsOfChange(null, [])).toEqual([]);
    expect(actorsOfChange(null, [{ manager: 'x', operation: 'Update' }])).toEqual([]);
  });

  it('gives a value that survives JSON and omits an absent subresource', () => {
    const actors = actorsOfChange(null, managersOf(pod()));
    expect(JSON.parse(JSON.stringify(actors))).toEqual(actors);
    const plain = actorsOfChange(null, managersOf(secret()));
    expect(JSON.stringify(plain)).toBe(
      '[{"manager":"kubectl-client-side-apply","operation":"Update"}]',
    );
  });
});

describe('formatActors', () => {
  it('formats manager, operation and subresource', () => {
    expect(
      formatActors([
        { manager: 'kubectl-client-side-apply', operation: 'Update' },
        { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' },
        { manager: 'helm', operation: 'Apply' },
      ]),
    ).toBe(
      'kubectl-client-side-apply (Update), kube-controller-manager (Update status), helm (Apply)',
    );
    expect(formatActors([])).toBe('');
  });
});
