// Times as the CLI reads and writes them.
import { describe, expect, it } from 'vitest';
import { ago, formatAge, formatTime, parseDiffEnd, parseInstant } from '../../src/cli/time.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');

describe('parseInstant', () => {
  it.each([
    ['now', NOW],
    ['2026-11-22T09:00:00Z', NOW - 3600_000],
    ['2026-11-22T09:00Z', NOW - 3600_000],
    ['2026-11-22 09:00:00Z', NOW - 3600_000],
    ['2026-11-22T10:00:00.500+01:00', NOW - 3600_000 + 500],
    ['1h', NOW - 3600_000],
    ['-1h', NOW - 3600_000],
    ['1h30m', NOW - 5400_000],
    ['2d', NOW - 2 * 86_400_000],
    ['15m ago', NOW - 900_000],
  ])('%s', (text, expected) => {
    expect(parseInstant(text, '--at', NOW)).toBe(expected);
  });

  it.each(['yesterday', '', '12', '2026-11-22', '1 hour', '2026-13-01T00:00:00Z'])(
    'refuses %j naming the flag and the forms it takes',
    (text) => {
      expect(() => parseInstant(text, '--since', NOW)).toThrow(
        `--since '${text}' is not a time: use RFC 3339 (2026-11-22T10:00:00Z), 'now', or a time ago such as 1h, 30m or 2d`,
      );
    },
  );
});

describe('parseDiffEnd', () => {
  it('reads a plain number as a version and anything else as a time', () => {
    expect(parseDiffEnd('1042', '--from', NOW)).toEqual({ seq: 1042 });
    expect(parseDiffEnd('1h', '--from', NOW)).toEqual({ time: NOW - 3600_000 });
    expect(() => parseDiffEnd('v3', '--to', NOW)).toThrow(/^--to 'v3' is neither a version number/);
  });
});

describe('formatting', () => {
  it('writes times in UTC to the second, as --at reads them back', () => {
    expect(formatTime(NOW + 123)).toBe('2026-11-22T10:00:00Z');
    expect(parseInstant(formatTime(NOW), '--at', 0)).toBe(NOW);
  });

  it.each([
    [0, '0s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [59 * 60_000, '59m'],
    [3600_000, '1h'],
    [3600_000 + 12 * 60_000, '1h12m'],
    [11 * 3600_000, '11h'],
    [47 * 3600_000, '47h'],
    [50 * 3600_000, '2d2h'],
    [12 * 86_400_000 + 3600_000, '12d'],
  ])('an age of %i ms is %s', (ms, text) => {
    expect(formatAge(NOW - ms, NOW)).toBe(text);
  });

  it('never shows a negative age (a clock ahead of this one)', () => {
    expect(ago(NOW + 5000, NOW)).toBe('0s ago');
  });
});
