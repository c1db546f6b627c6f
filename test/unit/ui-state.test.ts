// The timeline's URL state, lane grouping and the side-by-side diff: the pure parts of the UI.
import { describe, expect, it } from 'vitest';
import { filterRows, groupLanes, kindCounts } from '../../src/ui/lanes.ts';
import {
  DEFAULT_RANGE_MS,
  pan,
  parseState,
  serializeState,
  windowOf,
  zoom,
} from '../../src/ui/state.ts';
import { objectLines, sideBySide } from '../../src/ui/text-diff.ts';
import type { TimelineRow } from '../../src/ui/types.ts';

describe('timeline URL state', () => {
  it('round-trips every part of the view through the query string', () => {
    const s = {
      namespace: 'shop',
      kinds: ['Deployment', 'Pod'],
      name: 'web',
      label: 'app in (web),tier!=db',
      from: Date.parse('2026-01-02T03:04:05.000Z'),
      to: Date.parse('2026-01-02T04:04:05.000Z'),
      range: DEFAULT_RANGE_MS,
    };
    const q = serializeState(s);
    expect(q).toContain('kinds=Deployment,Pod');
    expect(q).toContain('from=2026-01-02T03:04:05.000Z');
    expect(parseState(q)).toEqual(s);
  });

  it('defaults to the last hour, keeps a relative range, and ignores nonsense', () => {
    expect(parseState('')).toMatchObject({ namespace: '', kinds: [], from: null, to: null });
    expect(windowOf(parseState(''), 10_000_000)).toEqual({
      from: 10_000_000 - 3600_000,
      to: 10_000_000,
    });
    const six = parseState('namespace=a&range=6h');
    expect(six.range).toBe(6 * 3600_000);
    expect(serializeState(six)).toBe('namespace=a&range=6h');
    // A window ending before it starts, or an unknown range, falls back to the default.
    expect(parseState('from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z').from).toBeNull();
    expect(parseState('range=forever').range).toBe(DEFAULT_RANGE_MS);
  });

  it('zooms around an anchor and pans by a fraction of the span', () => {
    expect(zoom({ from: 0, to: 100_000 }, 0.5, 0.5)).toEqual({ from: 25_000, to: 75_000 });
    // The instant under the pointer (a quarter across) stays a quarter across.
    expect(zoom({ from: 0, to: 100_000 }, 2, 0.25)).toEqual({ from: -25_000, to: 175_000 });
    // Never narrower than a second, never wider than the API allows.
    expect(zoom({ from: 0, to: 2000 }, 0.01)).toEqual({ from: 500, to: 1500 });
    const wide = zoom({ from: 0, to: 30 * 86_400_000 }, 10);
    expect(wide.to - wide.from).toBe(31 * 86_400_000);
    expect(pan({ from: 0, to: 1000 }, -0.5)).toEqual({ from: -500, to: 500 });
  });
});

const row = (
  kind: string,
  name: string,
  uid: string,
  owners: [string, string, string][] = [],
  start = 0,
): TimelineRow => ({
  uid,
  group: '',
  kind,
  namespace: 'ns',
  name,
  ownerChain: owners.map(([k, n, u]) => ({ kind: k, name: n, uid: u })),
  lifespan: { start, end: null, deletion: null },
  changes: [],
  events: [],
});

describe('swimlanes', () => {
  const dep = row('Deployment', 'web', 'd');
  const rsOld = row('ReplicaSet', 'web-1', 'r1', [['Deployment', 'web', 'd']], 1);
  const rsNew = row('ReplicaSet', 'web-2', 'r2', [['Deployment', 'web', 'd']], 5);
  const pod = (n: string, rs: string, start: number) =>
    row(
      'Pod',
      n,
      n,
      [
        ['ReplicaSet', rs, rs === 'web-1' ? 'r1' : 'r2'],
        ['Deployment', 'web', 'd'],
      ],
      start,
    );
  const rows = [
    pod('web-2-b', 'web-2', 6),
    pod('web-1-a', 'web-1', 2),
    rsNew,
    dep,
    rsOld,
    row('ConfigMap', 'cfg', 'c'),
  ];

  it('groups by owner chain, each owner followed by what it owns, oldest first', () => {
    expect(groupLanes(rows).map((l) => [l.row.name, l.depth])).toEqual([
      ['web', 0],
      ['web-1', 1],
      ['web-1-a', 2],
      ['web-2', 1],
      ['web-2-b', 2],
      ['cfg', 0],
    ]);
  });

  it('shows an object whose owner is filtered out at the top, naming the owner', () => {
    const lanes = groupLanes(filterRows(rows, { kinds: ['Pod'], name: '', labelled: null }));
    expect(lanes.map((l) => [l.row.name, l.depth, l.orphanOf])).toEqual([
      ['web-1-a', 0, 'ReplicaSet web-1'],
      ['web-2-b', 0, 'ReplicaSet web-2'],
    ]);
  });

  it("filters by name including an owner's name, and by label matches including owners'", () => {
    const byName = filterRows(rows, { kinds: [], name: 'WEB-1', labelled: null });
    expect(byName.map((r) => r.name).sort()).toEqual(['web-1', 'web-1-a']);
    const byLabel = filterRows(rows, { kinds: [], name: '', labelled: new Set(['r2']) });
    expect(byLabel.map((r) => r.name).sort()).toEqual(['web-2', 'web-2-b']);
    expect(kindCounts(rows)).toEqual([
      ['Deployment', 1],
      ['ReplicaSet', 2],
      ['Pod', 2],
      ['ConfigMap', 1],
    ]);
  });
});

describe('side-by-side diff', () => {
  it('pairs a replaced line with its replacement and folds long unchanged runs', () => {
    const a = [
      '{',
      ...Array.from({ length: 10 }, (_, i) => `  "k${i}": ${i},`),
      '  "image": "web:1"',
      '}',
    ];
    const b = [
      '{',
      ...Array.from({ length: 10 }, (_, i) => `  "k${i}": ${i},`),
      '  "image": "web:2",',
      '  "pull": "Always"',
      '}',
    ];
    const rows = sideBySide(a, b, 2);
    expect(rows[0]).toEqual({ kind: 'fold', count: 9 });
    expect(rows.filter((r) => r.kind !== 'same' && r.kind !== 'fold')).toEqual([
      {
        kind: 'changed',
        left: { n: 12, text: '  "image": "web:1"' },
        right: { n: 12, text: '  "image": "web:2",' },
      },
      { kind: 'added', left: null, right: { n: 13, text: '  "pull": "Always"' } },
    ]);
    expect(sideBySide(a, a)).toEqual([{ kind: 'fold', count: a.length }]);
  });

  it('sorts keys and leaves managedFields out, so only real changes differ', () => {
    const lines = objectLines({
      metadata: { name: 'x', managedFields: [{}], labels: { b: '1', a: '2' } },
      kind: 'Pod',
    });
    expect(lines.join('\n')).toBe(
      JSON.stringify({ kind: 'Pod', metadata: { labels: { a: '2', b: '1' }, name: 'x' } }, null, 2),
    );
  });
});
