import { describe, expect, it } from 'vitest';
import type { HistoryPolicyStatus, ResourceStatus } from '../../src/api/history-policy.ts';
import { buildStatus, statusChanged } from '../../src/controllers/history-policy/status.ts';

const recorded = { changes: 3, events: 1, excluded: 0, ruleErrors: 0 };
const watching = (kind: string): ResourceStatus => ({
  group: '',
  kind,
  state: 'Watching',
  objects: 2,
});
const t1 = new Date('2026-11-22T10:00:00Z');
const t2 = new Date('2026-11-22T10:05:00Z');

function build(
  resources: ResourceStatus[],
  opts: {
    ruleProblems?: string[];
    previous?: ReturnType<typeof buildStatus>;
    now?: Date;
    generation?: number;
  } = {},
) {
  return buildStatus({
    generation: opts.generation ?? 1,
    ruleProblems: opts.ruleProblems ?? [],
    specProblems: [],
    resources,
    recorded,
    previous: opts.previous,
    now: opts.now ?? t1,
  });
}

const cond = (s: ReturnType<typeof buildStatus>, type: string) =>
  s.conditions!.find((c) => c.type === type)!;

describe('buildStatus', () => {
  it('is Ready when every kind is watched and every rule compiles', () => {
    const s = build([watching('Pod'), watching('Service')]);
    expect(s.kinds).toBe('2/2');
    expect(s.observedGeneration).toBe(1);
    expect(s.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Recording'],
      ['RulesValid', 'True', 'Compiled'],
      ['WatchesEstablished', 'True', 'AllWatching'],
    ]);
    expect(
      s.conditions!.every(
        (c) => c.observedGeneration === 1 && c.lastTransitionTime === t1.toISOString(),
      ),
    ).toBe(true);
  });

  it('names every broken part, with Forbidden before KindNotFound, and records partially', () => {
    const s = build(
      [
        watching('ConfigMap'),
        { group: '', kind: 'Secret', state: 'Forbidden', message: 'may not list secrets' },
        {
          group: 'argoproj.io',
          kind: 'Rollout',
          state: 'KindNotFound',
          message: 'kind Rollout in group argoproj.io is not served',
        },
      ],
      { ruleProblems: ["rule 'typo': unknown operator 'eq'"] },
    );
    expect(s.kinds).toBe('1/3');
    expect(cond(s, 'WatchesEstablished')).toMatchObject({
      status: 'False',
      reason: 'Forbidden',
      message: 'may not list secrets; kind Rollout in group argoproj.io is not served',
    });
    expect(cond(s, 'RulesValid')).toMatchObject({
      status: 'False',
      reason: 'InvalidRule',
      message: "rule 'typo': unknown operator 'eq'",
    });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PartiallyRecording' });
    expect(cond(s, 'Ready').message).toBe(
      'Recording 1 of 3 kinds; see WatchesEstablished and RulesValid',
    );
  });

  it('is not recording when nothing is watched, and Unknown while watches start', () => {
    expect(
      cond(build([{ group: '', kind: 'X', state: 'KindNotFound', message: 'gone' }]), 'Ready'),
    ).toMatchObject({
      status: 'False',
      reason: 'NotRecording',
    });
    const pending = build([{ group: '', kind: 'Pod', state: 'Pending' }]);
    expect(cond(pending, 'Ready').status).toBe('Unknown');
    expect(cond(pending, 'WatchesEstablished')).toMatchObject({
      status: 'Unknown',
      reason: 'WatchesPending',
    });
  });

  it('moves lastTransitionTime only when a condition flips', () => {
    const first = build([watching('Pod')], { now: t1 });
    const same = build([watching('Pod')], { previous: first, now: t2, generation: 2 });
    expect(cond(same, 'Ready').lastTransitionTime).toBe(t1.toISOString());
    expect(cond(same, 'Ready').observedGeneration).toBe(2);
    const flipped = build([{ group: '', kind: 'Pod', state: 'Error', message: 'boom' }], {
      previous: first,
      now: t2,
    });
    expect(cond(flipped, 'Ready').lastTransitionTime).toBe(t2.toISOString());
    expect(cond(flipped, 'RulesValid').lastTransitionTime).toBe(t1.toISOString());
  });
});

describe('statusChanged', () => {
  it('ignores key order and undefined members, as the API server returns them', () => {
    const s = build([watching('Pod')]);
    const roundTripped = JSON.parse(
      JSON.stringify({
        recorded: s.recorded,
        resources: s.resources,
        kinds: s.kinds,
        conditions: s.conditions,
        observedGeneration: s.observedGeneration,
      }),
    ) as HistoryPolicyStatus;
    expect(statusChanged(roundTripped, s)).toBe(false);
    expect(statusChanged({ ...roundTripped, kinds: '0/1' }, s)).toBe(true);
    expect(statusChanged(undefined, s)).toBe(true);
  });
});
