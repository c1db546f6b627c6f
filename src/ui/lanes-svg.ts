// Drawing of the timeline: the time axis and one swimlane per object (lifespan bar, change ticks,
// Event heatmap by severity, recording gaps hatched, a band per rollout of a workload).
import { h, link, s } from './dom.ts';
import { clock, date, dateTime } from './format.ts';
import type { Lane } from './lanes.ts';
import { rolloutEnd, rolloutTitle, why } from './rollouts.ts';
import type { Gap, Rollout } from './types.ts';

export const LABEL_WIDTH = 300;
const LANE_HEIGHT = 30;
const AXIS_HEIGHT = 34;

export interface Scale {
  from: number;
  to: number;
  /** Width of a track in px. */
  width: number;
  bucketMs: number;
  now: number;
  gaps: Gap[];
}

const x = (sc: Scale, t: number) => ((t - sc.from) / (sc.to - sc.from)) * sc.width;
const clampX = (sc: Scale, t: number) => Math.min(sc.width, Math.max(0, x(sc, t)));

const STEPS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
  86400, 172800, 604800,
].map((sec) => sec * 1000);

/** Tick spacing giving at least ~90px between labels. */
function tickStep(sc: Scale): number {
  const span = sc.to - sc.from;
  return STEPS.find((st) => (st / span) * sc.width >= 90) ?? STEPS[STEPS.length - 1]!;
}

function gapRects(sc: Scale, height: number): SVGElement[] {
  return sc.gaps
    .filter((g) => g.end >= sc.from && g.start <= sc.to)
    .map((g) =>
      s(
        'rect',
        {
          class: 'gap',
          x: clampX(sc, g.start),
          y: 0,
          width: Math.max(2, clampX(sc, g.end) - clampX(sc, g.start)),
          height,
        },
        s(
          'title',
          {},
          `Recording gap (${g.resource || g.watch}${g.namespace ? ` in ${g.namespace}` : ''}): ${g.reason}, ${dateTime(g.start)} → ${dateTime(g.end)}. History may be incomplete here.`,
        ),
      ),
    );
}

export function drawAxis(sc: Scale): HTMLElement {
  const step = tickStep(sc);
  // Local-time ticks: align to the step in local time (offset matters for hours and days).
  const offset = new Date(sc.from).getTimezoneOffset() * 60_000;
  const first = Math.ceil((sc.from - offset) / step) * step + offset;
  const ticks: SVGElement[] = [];
  for (let t = first; t <= sc.to; t += step) {
    const px = x(sc, t);
    const midnight = clock(t) === '00:00:00' && t % 1000 === 0;
    ticks.push(
      s('line', { class: 'tick', x1: px, x2: px, y1: AXIS_HEIGHT - 8, y2: AXIS_HEIGHT }),
      s(
        'text',
        { x: px + 3, y: AXIS_HEIGHT - 12 },
        step >= 86_400_000 || midnight
          ? date(t)
          : step < 1000
            ? `${clock(t)}.${String(t % 1000).padStart(3, '0')}`
            : clock(t, step < 60_000),
      ),
    );
  }
  const now = sc.now >= sc.from && sc.now <= sc.to ? x(sc, sc.now) : null;
  const svg = s(
    'svg',
    { class: 'axis', width: sc.width, height: AXIS_HEIGHT, 'aria-hidden': 'true' },
    s(
      'defs',
      {},
      s(
        'pattern',
        {
          id: 'gap-hatch',
          width: 6,
          height: 6,
          patternUnits: 'userSpaceOnUse',
          patternTransform: 'rotate(45)',
        },
        s('rect', { width: 6, height: 6, class: 'gap-bg' }),
        s('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'gap-line' }),
      ),
    ),
    ...gapRects(sc, AXIS_HEIGHT),
    ...ticks,
    now === null ? null : s('line', { class: 'now', x1: now, x2: now, y1: 0, y2: AXIS_HEIGHT }),
  );
  return h(
    'div',
    { class: 'axis-row', role: 'row' },
    h('div', { class: 'lane-label head', role: 'columnheader' }, 'Object (owner → owned)'),
    h('div', { class: 'track-cell', role: 'columnheader', title: 'wheel here to zoom' }, svg),
  );
}

/**
 * A rollout on a fast cluster takes a second: its band stays this wide in a long window, wider
 * than the hit area of the change tick at its start, so it can still be hovered and clicked.
 */
const MIN_BAND_PX = 10;

/** A band per rollout from its start to its end (now while in progress), behind the marks. */
function rolloutBands(rollouts: readonly Rollout[], sc: Scale): SVGElement[] {
  return rollouts
    .filter((r) => r.started <= sc.to && rolloutEnd(r, sc.now) >= sc.from)
    .map((r) => {
      const x0 = clampX(sc, r.started);
      const x1 = clampX(sc, rolloutEnd(r, sc.now));
      return s(
        'rect',
        {
          class: `rollout rollout-${r.outcome}`,
          x: x0,
          y: 1,
          width: Math.max(MIN_BAND_PX, x1 - x0),
          height: LANE_HEIGHT - 2,
          rx: 3,
          'data-rollout-id': r.id,
          'data-outcome': r.outcome,
          'data-href': `/objects/${encodeURIComponent(r.uid)}`,
        },
        s('title', {}, rolloutTitle(r, sc.now)),
      );
    });
}

function laneLabel(lane: Lane, rollouts: readonly Rollout[]): HTMLElement {
  const r = lane.row;
  const ended = r.lifespan.end !== null;
  const warnings = r.events.reduce((n, e) => n + e.warning, 0);
  const failed = rollouts.filter((ro) => ro.outcome === 'failed');
  const label = h(
    'div',
    { class: 'lane-label', role: 'rowheader' },
    lane.depth > 0 ? h('span', { class: 'branch', 'aria-hidden': 'true' }, '└') : null,
    h('span', { class: `kind kind-${r.kind}` }, r.kind),
    link(
      `/objects/${encodeURIComponent(r.uid)}`,
      { class: 'name', title: `${r.kind} ${r.name}` },
      r.name,
    ),
    ended ? h('span', { class: 'tag deleted' }, 'deleted') : null,
    warnings > 0
      ? h('span', { class: 'tag warning', title: `${warnings} Warning Events` }, `⚠ ${warnings}`)
      : null,
    failed.length > 0
      ? h(
          'span',
          {
            class: 'tag rollout-failed',
            title: `${failed.length} failed rollout${failed.length === 1 ? '' : 's'}: ${failed.map(why).join('; ')}`,
          },
          '✗ rollout',
        )
      : null,
    lane.orphanOf
      ? h('span', { class: 'owner', title: `owned by ${lane.orphanOf}` }, `← ${lane.orphanOf}`)
      : null,
  );
  label.style.paddingLeft = `${6 + lane.depth * 16}px`;
  return label;
}

/** One object's swimlane; `rollouts` are the workload's that overlap the window. */
export function drawLane(lane: Lane, sc: Scale, rollouts: readonly Rollout[] = []): HTMLElement {
  const r = lane.row;
  const start = r.lifespan.start ?? sc.from;
  const end = r.lifespan.end;
  const barEnd = end ?? Math.min(sc.to, sc.now);
  const x0 = clampX(sc, start);
  const x1 = clampX(sc, barEnd);
  const parts: (SVGElement | null)[] = [
    ...gapRects(sc, LANE_HEIGHT),
    ...rolloutBands(rollouts, sc),
  ];
  if (barEnd >= sc.from && start <= sc.to) {
    parts.push(
      s(
        'rect',
        { class: 'life', x: x0, y: 6, width: Math.max(1, x1 - x0), height: 9, rx: 2 },
        s(
          'title',
          {},
          `${r.kind} ${r.name}: ${r.lifespan.start === null ? 'created before recording' : `created ${dateTime(r.lifespan.start)}`}${end === null ? ', alive' : `, deleted ${dateTime(end)}${r.lifespan.deletion === 'inferred' ? ' (deletion inferred at a relist)' : ''}`}`,
        ),
      ),
    );
  }
  if (end !== null && end >= sc.from && end <= sc.to) {
    const ex = x(sc, end);
    parts.push(s('line', { class: 'end-cap', x1: ex, x2: ex, y1: 2, y2: 19 }));
  }
  const maxEvents = Math.max(1, ...r.events.map((e) => Math.max(e.normal, e.warning)));
  const cell = Math.max(2, (sc.bucketMs / (sc.to - sc.from)) * sc.width);
  for (const e of r.events) {
    const t = sc.from + e.bucket * sc.bucketMs;
    const ex = x(sc, t);
    const span = `${clock(t)}–${clock(t + sc.bucketMs)}`;
    for (const [sev, n, y] of [
      ['normal', e.normal, 18],
      ['warning', e.warning, 24],
    ] as const) {
      if (n === 0) continue;
      const heat = s(
        'rect',
        { class: `heat ${sev}`, x: ex, y, width: cell, height: 5, 'data-count': n },
        s(
          'title',
          {},
          `${n} ${sev === 'normal' ? 'Normal' : 'Warning'} Event occurrence${n === 1 ? '' : 's'}, ${span}`,
        ),
      );
      heat.style.opacity = String(0.35 + (0.65 * n) / maxEvents);
      parts.push(heat);
    }
  }
  for (const c of r.changes) {
    if (c.time < sc.from || c.time > sc.to) continue;
    const cx = x(sc, c.time);
    const href = `/objects/${encodeURIComponent(r.uid)}?to=${c.seq}`;
    parts.push(
      s(
        'g',
        { class: `change ${c.type}`, 'data-href': href, 'data-seq': c.seq },
        s('line', { class: 'hit', x1: cx, x2: cx, y1: 0, y2: LANE_HEIGHT }),
        s('line', { class: 'mark', x1: cx, x2: cx, y1: 3, y2: 18 }),
        s('title', {}, `${c.type} at ${dateTime(c.time)} (version ${c.seq}); click to open`),
      ),
    );
  }
  const svg = s(
    'svg',
    { class: 'track', width: sc.width, height: LANE_HEIGHT },
    s('g', { class: 'pan' }, ...parts),
  );
  return h(
    'div',
    {
      class: `lane depth-${Math.min(lane.depth, 3)}${end !== null ? ' ended' : ''}`,
      role: 'row',
      'data-uid': r.uid,
      'data-kind': r.kind,
      'data-name': r.name,
      'data-depth': lane.depth,
    },
    laneLabel(lane, rollouts),
    h('div', { class: 'track-cell', role: 'cell' }, svg),
  );
}
