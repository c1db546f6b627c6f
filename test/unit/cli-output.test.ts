// What the CLI prints: aligned tables, readable diffs, JSON and YAML.
import { describe, expect, it } from 'vitest';
import { diffText, historyTable, kubectlOrder } from '../../src/cli/commands/object.ts';
import { changeSummary, eventsTable } from '../../src/cli/commands/window.ts';
import { parseFormat, table, toYaml, type Out } from '../../src/cli/output.ts';
import type { EventSummary, VersionSummary } from '../../src/store/queries/types.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const plain: Out = { write: () => {}, columns: undefined, color: false };

function v(
  seq: number,
  type: VersionSummary['type'],
  paths: string[],
  minutesAgo: number,
): VersionSummary {
  return {
    seq,
    rv: String(seq),
    time: NOW - minutesAgo * 60_000,
    type,
    inferred: false,
    actor: type === 'added' ? 'kubectl-create (Update)' : null,
    paths,
  };
}

describe('table', () => {
  it('aligns columns under their headers, three spaces apart', () => {
    expect(
      table(
        ['NAME', 'AGE'],
        [
          ['web', '5m'],
          ['database', '2h'],
        ],
      ),
    ).toBe('NAME       AGE\nweb        5m\ndatabase   2h\n');
  });

  it('cuts lines to the terminal width', () => {
    const out = table(['A', 'MESSAGE'], [['x', 'y'.repeat(100)]], 30);
    for (const line of out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(30);
    expect(out).toContain('…');
  });
});

describe('historyTable', () => {
  it('lists versions oldest first with time, age, type, actor and changed paths', () => {
    const text = historyTable(
      [v(9, 'modified', ['spec.replicas', 'status.replicas'], 5), v(3, 'added', [], 90)],
      NOW,
      plain,
    );
    expect(text).toBe(
      [
        'SEQ   TIME                   AGE         TYPE       ACTOR                     CHANGED',
        '3     2026-11-22T08:30:00Z   1h30m ago   added      kubectl-create (Update)   (created)',
        '9     2026-11-22T09:55:00Z   5m ago      modified   -                         spec.replicas, status.replicas',
        '',
      ].join('\n'),
    );
  });
});

describe('diffText', () => {
  const diff = {
    from: v(3, 'added', [], 90),
    to: v(9, 'modified', ['spec.replicas'], 5),
    patch: [],
    text: ['~ spec.replicas: 1 → 3', '+ metadata.labels.tier: "front"', '- spec.paused'],
  };

  it('names both versions, then one line per change', () => {
    expect(diffText(diff, 'Deployment shop/web', NOW, plain)).toBe(
      [
        'Deployment shop/web: version 3 (2026-11-22T08:30:00Z, 1h30m ago) → version 9 (2026-11-22T09:55:00Z, 5m ago)',
        '~ spec.replicas: 1 → 3',
        '+ metadata.labels.tier: "front"',
        '- spec.paused',
        '',
      ].join('\n'),
    );
    expect(diffText({ ...diff, text: [] }, 'x', NOW, plain)).toMatch(/\nno changes\n$/);
  });

  it('colours additions green and removals red on a terminal', () => {
    const text = diffText(diff, 'x', NOW, { ...plain, color: true });
    expect(text).toContain('\u001b[32m+ metadata.labels.tier');
    expect(text).toContain('\u001b[31m- spec.paused');
    expect(text).toContain('\u001b[33m~ spec.replicas');
  });
});

describe('changeSummary', () => {
  it.each([
    [[v(1, 'added', [], 1)], 'created'],
    [[v(1, 'added', [], 2), v(2, 'modified', ['a'], 1)], 'created, modified'],
    [[v(1, 'modified', ['a'], 1)], 'modified'],
    [[v(1, 'modified', ['a'], 2), v(2, 'deleted', [], 1)], 'modified, deleted'],
    [[v(1, 'added', [], 2), v(2, 'deleted', [], 1)], 'created, deleted'],
  ])('%#', (versions, summary) => {
    expect(changeSummary(versions)).toBe(summary);
  });
});

describe('eventsTable', () => {
  const event = (reason: string, ns: string, minutesAgo: number): EventSummary => ({
    uid: reason,
    namespace: ns,
    name: `${reason}.1`,
    involved: { group: '', kind: 'Pod', namespace: ns, name: 'web-1', uid: 'p' },
    reason,
    type: 'Warning',
    message: 'line one\nline two',
    source: null,
    firstTime: NOW - minutesAgo * 60_000,
    lastTime: NOW - minutesAgo * 60_000,
    count: 4,
    occurrences: [],
  });

  it('sorts by last seen, newest last, and keeps messages on one line', () => {
    const text = eventsTable(
      [event('BackOff', 'a', 1), event('Failed', 'a', 3)],
      false,
      NOW,
      plain,
    );
    expect(text.split('\n').slice(0, 3)).toEqual([
      'LAST SEEN   TYPE      REASON    OBJECT      COUNT   MESSAGE',
      '3m          Warning   Failed    pod/web-1   4       line one line two',
      '1m          Warning   BackOff   pod/web-1   4       line one line two',
    ]);
  });

  it('adds a namespace column across namespaces', () => {
    const text = eventsTable([event('BackOff', 'shop', 1)], true, NOW, plain);
    expect(text).toMatch(/^NAMESPACE\s+LAST SEEN/);
    expect(text).toMatch(/\nshop\s+1m\s+Warning/);
  });
});

describe('formats', () => {
  it('offers what a command allows, the first by default', () => {
    expect(parseFormat(undefined, ['yaml', 'json'])).toBe('yaml');
    expect(parseFormat('json', ['table', 'json'])).toBe('json');
    expect(parseFormat('text', ['table', 'json'])).toBe('table');
    expect(() => parseFormat('wide', ['table', 'json', 'yaml'])).toThrow(
      '-o wide is not offered here; use one of table, json, yaml',
    );
  });

  it('prints objects as kubectl does: apiVersion, kind, metadata first', () => {
    const yaml = toYaml(
      kubectlOrder({
        spec: { replicas: 1 },
        kind: 'Deployment',
        metadata: { name: 'web' },
        apiVersion: 'apps/v1',
      }),
    );
    expect(yaml).toBe(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n',
    );
  });
});
