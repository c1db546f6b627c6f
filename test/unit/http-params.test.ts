import { describe, expect, it } from 'vitest';
import { labelSelector, parseTime, window } from '../../src/http/params.ts';
import { ProblemError } from '../../src/http/problem.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');

describe('parseTime', () => {
  it.each([
    ['now', NOW],
    ['-1h', NOW - 3600_000],
    ['-1h30m', NOW - 5400_000],
    ['-2d', NOW - 2 * 86_400_000],
    ['2026-11-22T10:00:00Z', Date.parse('2026-11-22T10:00:00Z')],
    ['2026-11-22T10:00:00.250+01:00', Date.parse('2026-11-22T09:00:00.250Z')],
    ['1795300000000', 1795300000000],
  ])('reads %s', (text, expected) => {
    expect(parseTime(text, 'from', NOW)).toBe(expected);
  });

  it.each(['yesterday', '1h', '-1x', '2026-11-22', '2026-13-45T99:00:00Z', ''])(
    'refuses %s naming the parameter',
    (text) => {
      expect(() => parseTime(text, 'at', NOW)).toThrow(/^at: '.*' is not a time/);
    },
  );
});

describe('window', () => {
  it('defaults to the hour before to, and bounds the span', () => {
    expect(window({}, NOW)).toEqual({ from: NOW - 3600_000, to: NOW });
    expect(window({ from: '-2h', to: '-1h' }, NOW)).toEqual({
      from: NOW - 7200_000,
      to: NOW - 3600_000,
    });
    expect(() => window({ from: 'now', to: '-1h' }, NOW)).toThrow(/^from: must not be after to/);
    expect(() => window({ from: '-40d' }, NOW)).toThrow(/may span at most 31 days/);
  });
});

describe('labelSelector', () => {
  it('reads every Kubernetes selector form', () => {
    expect(
      labelSelector({
        labelSelector: 'app=web,tier!=db,env in (prod, stage),track notin (canary),gpu,!spot',
      }),
    ).toEqual([
      { key: 'app', operator: '=', values: ['web'] },
      { key: 'tier', operator: '!=', values: ['db'] },
      { key: 'env', operator: 'in', values: ['prod', 'stage'] },
      { key: 'track', operator: 'notin', values: ['canary'] },
      { key: 'gpu', operator: 'exists', values: [] },
      { key: 'spot', operator: '!exists', values: [] },
    ]);
    expect(labelSelector({ labelSelector: 'app.kubernetes.io/name==hindsight' })).toEqual([
      { key: 'app.kubernetes.io/name', operator: '=', values: ['hindsight'] },
    ]);
  });

  it.each(['a in (', 'bad key=x', 'a=b c', '=x', 'a=-x-'])(
    'refuses %s with a 400 naming labelSelector',
    (text) => {
      let err: unknown;
      try {
        labelSelector({ labelSelector: text });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProblemError);
      expect((err as ProblemError).status).toBe(400);
      expect((err as ProblemError).param).toBe('labelSelector');
    },
  );
});
