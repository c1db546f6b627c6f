// How `hindsight track` draws on a terminal: a live block of one line per object still tracked,
// redrawn in place (never wrapping), with Events and each object's end scrolling above it; and
// to a pipe, every status as a plain timestamped line without ANSI codes. The terminal here is a
// small emulator of the two control sequences the printer uses (cursor up, clear to the end).
import { describe, expect, it } from 'vitest';
import { trackPrinter } from '../../src/cli/track-output.ts';
import type { StatusUpdate, Target, TrackerCallbacks } from '../../src/rollouts/tracker.ts';

/** The screen a terminal shows after `text`: lines, with the cursor's moves applied. */
function screen(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  const ESC = '\u001b';
  const re = new RegExp(`${ESC}\\[(\\d*)([AJ])|\\r|\\n|[^${ESC}\\r\\n]+`, 'g');
  for (const m of text.matchAll(re)) {
    const t = m[0];
    // A carriage return goes to column 0, where this printer always is after moving up.
    if (t === '\r') continue;
    if (m[2] === 'A') {
      row = Math.max(0, row - Number(m[1] || 1));
    } else if (m[2] === 'J') {
      lines.splice(row + 1);
      lines[row] = '';
    } else if (t === '\n') {
      row++;
      if (lines.length <= row) lines.push('');
    } else {
      lines[row] = (lines[row] ?? '') + t;
    }
  }
  return lines.filter((l, i) => i < lines.length - 1 || l !== '');
}

const web: Target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const db: Target = { kind: 'StatefulSet', name: 'db', namespace: 'shop' };
const waiting = (updated: number, message = 'waiting for rollout to finish'): StatusUpdate => ({
  state: 'progressing',
  message,
  replicas: { desired: 3, updated, available: updated },
  pods: [{ name: 'web-5d-x', status: 'Running', ready: '1/1', restarts: 0, new: true }],
});

function printer(columns: number | undefined) {
  let text = '';
  const out = { write: (t: string) => void (text += t), columns, color: false };
  const print = trackPrinter(out, 'text', [web, db], () =>
    Date.parse('2026-12-03T10:00:00Z'),
  ) as Required<TrackerCallbacks>;
  return { print, text: () => text };
}

describe('track output', () => {
  it('on a terminal keeps one live line per object at the bottom, and scrolls the rest above', () => {
    const { print, text } = printer(80);
    print.status(web, waiting(1));
    print.status(db, waiting(0, 'partitioned roll out'));
    expect(screen(text())).toEqual([
      'deployment/web waiting: waiting for rollout to finish  [up-to-date 1/3 availab…',
      'statefulset/db waiting: partitioned roll out  [up-to-date 0/3 available 0/3 · …',
    ]);
    print.event(web, {
      time: '2026-12-03T10:00:00Z',
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: 'Scaled up replica set web-5d to 2',
      object: 'Deployment/web',
      count: 1,
    });
    print.status(web, waiting(2, 'two of three'));
    expect(screen(text())).toEqual([
      '10:00:00 deployment/web event Normal ScalingReplicaSet Deployment/web: Scaled up replica set web-5d to 2',
      'deployment/web waiting: two of three  [up-to-date 2/3 available 2/3 · web-5d-x…',
      'statefulset/db waiting: partitioned roll out  [up-to-date 0/3 available 0/3 · …',
    ]);
    print.ready(web, {
      target: web,
      outcome: 'ready',
      message: 'successfully rolled out',
      durationMs: 3200,
    });
    expect(screen(text())).toEqual([
      '10:00:00 deployment/web event Normal ScalingReplicaSet Deployment/web: Scaled up replica set web-5d to 2',
      '10:00:00 deployment/web READY in 3.2s: successfully rolled out',
      'statefulset/db waiting: partitioned roll out  [up-to-date 0/3 available 0/3 · …',
    ]);
    print.failed(db, { target: db, outcome: 'failed', message: 'it broke', durationMs: 61_000 });
    expect(screen(text()).at(-1)).toBe('10:00:00 statefulset/db FAILED after 1m1s: it broke');
    expect(screen(text())).toHaveLength(3);
    // Redrawn in place (cursor up over the block), each block line cut to 79 of 80 columns.
    expect(text()).toContain('\u001b[2A');
    const blockLines = text()
      .split(new RegExp(`${'\u001b'}\\[\\d+A\\r${'\u001b'}\\[J`))
      .flatMap((chunk) => chunk.split('\n'))
      .filter((l) => l.includes(' waiting: '));
    expect(blockLines.length).toBeGreaterThan(0);
    expect(blockLines.every((l) => l.length <= 79)).toBe(true);
  });

  it('to a pipe writes every status as a timestamped line, with no control sequences', () => {
    const { print, text } = printer(undefined);
    print.status(web, waiting(1));
    print.ready(web, { target: web, outcome: 'ready', message: 'done', durationMs: 1000 });
    expect(text()).not.toContain('\u001b');
    expect(text().split('\n').filter(Boolean)).toEqual([
      '2026-12-03T10:00:00.000Z deployment/web waiting: waiting for rollout to finish  [up-to-date 1/3 available 1/3 · web-5d-x Running 1/1]',
      '2026-12-03T10:00:00.000Z deployment/web READY in 1.0s: done',
    ]);
  });
});
