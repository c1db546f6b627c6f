// The timeline page: controls whose values live in the URL, and the swimlane chart.
import { ApiError, get, getAll } from './api.ts';
import { h, link, replace } from './dom.ts';
import { dateTime, duration } from './format.ts';
import { drawAxis, drawLane, LABEL_WIDTH, type Scale } from './lanes-svg.ts';
import { filterRows, groupLanes, kindCounts } from './lanes.ts';
import { rolloutsInWindow } from './rollouts.ts';
import {
  pan,
  parseState,
  serializeState,
  windowOf,
  withWindow,
  zoom,
  type TimelineState,
  type Window,
} from './state.ts';
import { empty, failure, loading } from './status.ts';
import type { ObjectSummary, Rollout, Timeline } from './types.ts';

export type Navigate = (url: string, replace?: boolean) => void;

/** More lanes than this make the page slow to draw and useless to read: filters narrow it. */
const MAX_LANES = 1500;
const PRESETS: [string, number][] = [
  ['15m', 15 * 60_000],
  ['1h', 3600_000],
  ['6h', 6 * 3600_000],
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
];

interface Loaded {
  key: string;
  timeline: Timeline;
  /** uids the label selector matched, when there is one. */
  labelled: Set<string> | null;
  /** Rollouts overlapping the window, by workload uid. */
  rollouts: Map<string, Rollout[]>;
  /** Why rollouts are not drawn, when they could not be loaded. */
  rolloutsError: string | null;
}

export class TimelineView {
  readonly el: HTMLElement;
  private state: TimelineState = parseState('');
  private readonly navigate: Navigate;
  private loaded: Loaded | null = null;
  private inflight: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private namespaces: string[] | null = null;
  private readonly inputs: {
    namespace: HTMLInputElement;
    name: HTMLInputElement;
    label: HTMLInputElement;
  };
  private readonly kindsEl = h('fieldset', { class: 'kinds' });
  private readonly windowEl = h('span', { class: 'window-text' });
  private readonly summaryEl = h('p', { class: 'summary', role: 'status' });
  private readonly chartEl = h('div', { class: 'chart-area' });
  private readonly namespaceList = h('datalist', { id: 'namespaces' });
  private readonly onResize = () => this.scheduleDraw();
  private drawTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(navigate: Navigate) {
    this.navigate = navigate;
    const input = (name: string, placeholder: string, extra: Record<string, string> = {}) =>
      h('input', { name, id: `f-${name}`, placeholder, autocomplete: 'off', ...extra });
    this.inputs = {
      namespace: input('namespace', 'namespace', { list: 'namespaces', required: 'true' }),
      name: input('name', 'name contains…', { type: 'search' }),
      label: input('label', 'app=web,tier!=db', { type: 'search' }),
    };
    const form = h(
      'form',
      { class: 'filters', onsubmit: (e: Event) => (e.preventDefault(), this.commitInputs()) },
      h('label', { for: 'f-namespace' }, 'Namespace'),
      this.inputs.namespace,
      this.namespaceList,
      h('label', { for: 'f-name' }, 'Name'),
      this.inputs.name,
      h('label', { for: 'f-label' }, 'Labels'),
      this.inputs.label,
      h('button', { type: 'submit' }, 'Apply'),
    );
    this.inputs.namespace.addEventListener('change', () => this.commitInputs());
    this.inputs.label.addEventListener('change', () => this.commitInputs());
    this.inputs.name.addEventListener('input', () => this.commitInputs(true));
    const btn = (text: string, title: string, action: () => void) =>
      h('button', { type: 'button', title, 'data-action': text, onclick: action }, text);
    const timeBar = h(
      'div',
      { class: 'timebar' },
      h(
        'span',
        { class: 'presets' },
        ...PRESETS.map(([text, ms]) =>
          btn(text, `the last ${text} until now`, () =>
            this.go({ ...this.state, from: null, to: null, range: ms }),
          ),
        ),
      ),
      btn('◀', 'earlier (pan back by half the window)', () =>
        this.moveWindow(pan(this.win(), -0.5)),
      ),
      btn('−', 'zoom out', () => this.moveWindow(zoom(this.win(), 2))),
      btn('+', 'zoom in', () => this.moveWindow(zoom(this.win(), 0.5))),
      btn('▶', 'later (pan forward by half the window)', () =>
        this.moveWindow(pan(this.win(), 0.5)),
      ),
      btn('Now', 'follow the present with the current window length', () => {
        const w = this.win();
        this.go({ ...this.state, from: null, to: null, range: w.to - w.from });
      }),
      btn('Fit', 'zoom to the recorded changes of the objects shown', () => this.fit()),
      btn('Refresh', 'load the window again', () => this.load(true)),
      this.windowEl,
    );
    this.el = h(
      'div',
      { class: 'timeline-page' },
      form,
      this.kindsEl,
      timeBar,
      this.summaryEl,
      this.chartEl,
      h(
        'p',
        { class: 'hint' },
        'Drag the chart to pan; Ctrl + wheel (or wheel over the time axis) zooms. Bands are rollouts (green complete, red failed, blue in progress, grey superseded): hover for details. The address bar holds the whole view: share it.',
      ),
    );
    window.addEventListener('resize', this.onResize);
  }

  destroy(): void {
    window.removeEventListener('resize', this.onResize);
    this.inflight?.abort();
    if (this.timer) clearTimeout(this.timer);
    if (this.drawTimer) clearTimeout(this.drawTimer);
  }

  /** Shows the state of a URL's query string; loads only what the new state needs. */
  update(search: string): void {
    this.state = parseState(search);
    for (const k of ['namespace', 'name', 'label'] as const) {
      const el = this.inputs[k];
      if (document.activeElement !== el || el.value === '') el.value = this.state[k];
    }
    document.title = this.state.namespace
      ? `${this.state.namespace} · Hindsight timeline`
      : 'Hindsight timeline';
    this.load(false);
  }

  private win(): Window {
    return this.loaded && this.loaded.key === this.dataKey()
      ? this.loaded.timeline.window
      : windowOf(this.state, Date.now());
  }

  private go(next: TimelineState, replace = false): void {
    this.navigate(`/?${serializeState(next)}`, replace);
  }

  private moveWindow(w: Window, replace = false): void {
    this.go(withWindow(this.state, w), replace);
  }

  /** Zooms to the span of the changes shown, with a margin, so a burst fills the chart. */
  private fit(): void {
    if (!this.loaded) return;
    const rows = filterRows(this.loaded.timeline.rows, {
      kinds: this.state.kinds,
      name: this.state.name,
      labelled: this.loaded.labelled,
    });
    const w0 = this.loaded.timeline.window;
    const inWindow = (t: number | null): t is number => t !== null && t >= w0.from && t <= w0.to;
    // Changes, and creations and deletions in the window (their times have whole seconds only).
    const times = rows.flatMap((r) => [
      ...r.changes.map((c) => c.time),
      ...[r.lifespan.start, r.lifespan.end].filter(inWindow),
    ]);
    if (times.length === 0) return;
    const first = times.reduce((a, b) => Math.min(a, b));
    const last = times.reduce((a, b) => Math.max(a, b));
    const margin = Math.max(250, (last - first) * 0.1);
    const w = zoom({ from: first - margin, to: last + margin }, 1);
    this.moveWindow(w);
  }

  private commitInputs(replace = false): void {
    this.go(
      {
        ...this.state,
        namespace: this.inputs.namespace.value.trim(),
        name: this.inputs.name.value,
        label: this.inputs.label.value.trim(),
      },
      replace,
    );
  }

  /** What the server-side data depends on (kinds and name are filtered here). */
  private dataKey(): string {
    const s = this.state;
    return JSON.stringify([s.namespace, s.label, s.from, s.to, s.from === null ? s.range : 0]);
  }

  private load(force: boolean): void {
    const w = windowOf(this.state, Date.now());
    this.windowEl.textContent = `${dateTime(w.from)} → ${dateTime(w.to)} (${duration(w.to - w.from)}${this.state.from === null ? ', until now' : ''})`;
    if (!this.state.namespace) {
      this.inflight?.abort();
      this.loaded = null;
      this.kindsEl.replaceChildren();
      this.summaryEl.textContent = '';
      this.chartEl.replaceChildren(
        empty('Choose a namespace', 'The timeline shows one namespace at a time.'),
      );
      void this.loadNamespaces();
      return;
    }
    if (!force && this.loaded?.key === this.dataKey()) {
      this.draw();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    // Wheel zooms and typing come in bursts: load once they pause.
    this.timer = setTimeout(() => void this.fetch(), this.loaded ? 150 : 0);
    this.chartEl.classList.add('busy');
    if (!this.loaded)
      this.chartEl.replaceChildren(loading(`the timeline of ${this.state.namespace}`));
    this.summaryEl.textContent = 'Loading…';
    void this.loadNamespaces();
  }

  private async fetch(): Promise<void> {
    this.inflight?.abort();
    const ctl = new AbortController();
    this.inflight = ctl;
    const key = this.dataKey();
    const s = this.state;
    const w = windowOf(s, Date.now());
    const width = this.trackWidth();
    try {
      const [timeline, labelled, rollouts] = await Promise.all([
        get<Timeline>(
          '/timeline',
          {
            namespace: s.namespace,
            from: new Date(w.from).toISOString(),
            to: new Date(w.to).toISOString(),
            buckets: Math.max(1, Math.min(1000, Math.round(width / 6))),
          },
          ctl.signal,
        ),
        s.label
          ? getAll<ObjectSummary>(
              '/resources',
              {
                namespace: s.namespace,
                labelSelector: s.label,
                includeDeleted: true,
                from: new Date(w.from).toISOString(),
                to: new Date(w.to).toISOString(),
              },
              ctl.signal,
            ).then((r) => new Set(r.items.map((o) => o.uid)))
          : Promise.resolve(null),
        // The lanes are worth showing without their rollouts (an older operator, a refusal).
        rolloutsInWindow(s.namespace, w, ctl.signal).then(
          (byUid) => ({ byUid, error: null }),
          (err: unknown) => {
            if (ctl.signal.aborted) throw err;
            return { byUid: new Map<string, Rollout[]>(), error: (err as Error).message };
          },
        ),
      ]);
      if (ctl.signal.aborted) return;
      this.loaded = {
        key,
        timeline,
        labelled,
        rollouts: rollouts.byUid,
        rolloutsError: rollouts.error,
      };
      this.draw();
    } catch (err) {
      if (ctl.signal.aborted) return;
      this.loaded = null;
      this.kindsEl.replaceChildren();
      this.summaryEl.textContent = '';
      this.chartEl.classList.remove('busy');
      this.chartEl.replaceChildren(failure(err, () => this.load(true)));
    }
  }

  private async loadNamespaces(): Promise<void> {
    if (this.namespaces) return;
    this.namespaces = [];
    try {
      const { items } = await getAll<ObjectSummary>('/resources', {}, undefined, 2);
      this.namespaces = [...new Set(items.map((o) => o.namespace).filter(Boolean))].sort();
    } catch (err) {
      // Suggestions only: the timeline's own request reports what is wrong. Without a namespace
      // there is no such request, so a missing token is asked for here.
      this.namespaces = null;
      if (!this.state.namespace && err instanceof ApiError && err.kind === 'auth') {
        this.chartEl.replaceChildren(failure(err, () => this.load(true)));
      }
      return;
    }
    this.namespaceList.replaceChildren(...this.namespaces.map((n) => h('option', { value: n })));
    if (!this.state.namespace && this.namespaces.length > 0) {
      this.chartEl.replaceChildren(
        empty(
          'Choose a namespace',
          'The timeline shows one namespace at a time. Namespaces with recorded history:',
          h(
            'span',
            { class: 'ns-list' },
            ...this.namespaces.map((n) =>
              link(`/?${serializeState({ ...this.state, namespace: n })}`, {}, n),
            ),
          ),
        ),
      );
    }
  }

  private trackWidth(): number {
    const w = this.chartEl.clientWidth || document.documentElement.clientWidth - 32;
    return Math.max(200, w - LABEL_WIDTH - 2);
  }

  private scheduleDraw(): void {
    if (this.drawTimer) clearTimeout(this.drawTimer);
    this.drawTimer = setTimeout(() => this.loaded && this.draw(), 100);
  }

  private drawKinds(all: Timeline['rows']): void {
    const counts = kindCounts(all);
    for (const k of this.state.kinds) if (!counts.some(([c]) => c === k)) counts.push([k, 0]);
    replace(
      this.kindsEl,
      h('legend', {}, 'Kinds'),
      ...counts.map(([kind, n]) => {
        const box = h('input', {
          type: 'checkbox',
          name: 'kind',
          value: kind,
          checked: this.state.kinds.includes(kind),
        });
        box.addEventListener('change', () => {
          const kinds = [...this.kindsEl.querySelectorAll<HTMLInputElement>('input:checked')].map(
            (b) => b.value,
          );
          this.go({ ...this.state, kinds });
        });
        return h(
          'label',
          { class: 'chip', 'data-kind': kind },
          box,
          ` ${kind} `,
          h('small', {}, n),
        );
      }),
      counts.length === 0 ? h('span', { class: 'muted' }, 'none in this window') : null,
    );
  }

  private draw(): void {
    const loaded = this.loaded;
    if (!loaded) return;
    const { timeline } = loaded;
    this.chartEl.classList.remove('busy');
    this.drawKinds(timeline.rows);
    const rows = filterRows(timeline.rows, {
      kinds: this.state.kinds,
      name: this.state.name,
      labelled: loaded.labelled,
    });
    const w = timeline.window;
    this.windowEl.textContent = `${dateTime(w.from)} → ${dateTime(w.to)} (${duration(w.to - w.from)}${this.state.from === null ? ', until now' : ''})`;
    const changes = rows.reduce((n, r) => n + r.changes.length, 0);
    const warnings = rows.reduce((n, r) => n + r.events.reduce((m, e) => m + e.warning, 0), 0);
    const rollouts = rows.flatMap((r) => loaded.rollouts.get(r.uid) ?? []);
    const failed = rollouts.filter((r) => r.outcome === 'failed').length;
    this.summaryEl.textContent = [
      `${rows.length} of ${timeline.rows.length} objects`,
      `${changes} changes`,
      `${warnings} Warning Events`,
      `${rollouts.length} rollouts${failed > 0 ? ` (${failed} failed)` : ''}`,
      loaded.rolloutsError ? `rollouts not shown: ${loaded.rolloutsError}` : null,
      timeline.gaps.length > 0 ? `${timeline.gaps.length} recording gaps (hatched)` : null,
      timeline.truncated ? 'more objects than shown: narrow the window' : null,
    ]
      .filter(Boolean)
      .join(' · ');
    if (timeline.rows.length === 0) {
      this.chartEl.replaceChildren(
        empty(
          'No history in this window',
          `Nothing was recorded in namespace ${this.state.namespace} between ${dateTime(w.from)} and ${dateTime(w.to)}.`,
          'Zoom out or pick a longer window, or check that a HistoryPolicy records this namespace.',
        ),
      );
      return;
    }
    if (rows.length === 0) {
      this.chartEl.replaceChildren(
        empty(
          'No object matches the filters',
          `${timeline.rows.length} objects have history in this window, but none matches the kinds, name or labels chosen.`,
          h(
            'button',
            {
              type: 'button',
              onclick: () => this.go({ ...this.state, kinds: [], name: '', label: '' }),
            },
            'Clear filters',
          ),
        ),
      );
      return;
    }
    const lanes = groupLanes(rows);
    const width = this.trackWidth();
    const scale: Scale = {
      from: w.from,
      to: w.to,
      width,
      bucketMs: timeline.bucketMs,
      now: Date.now(),
      gaps: timeline.gaps,
    };
    const lanesEl = h(
      'div',
      { class: 'lanes' },
      ...lanes
        .slice(0, MAX_LANES)
        .map((lane) => drawLane(lane, scale, loaded.rollouts.get(lane.row.uid) ?? [])),
    );
    const axis = drawAxis(scale);
    replace(
      this.chartEl,
      h('div', { class: 'chart', role: 'table', 'aria-label': 'timeline' }, axis, lanesEl),
      lanes.length > MAX_LANES
        ? h(
            'p',
            { class: 'notice' },
            `Showing ${MAX_LANES} of ${lanes.length} lanes: narrow with the filters.`,
          )
        : null,
    );
    this.interact(axis, lanesEl, scale);
  }

  /** Drag to pan, Ctrl + wheel (or wheel over the axis) to zoom, click a change or a rollout to open it. */
  private interact(axis: HTMLElement, lanesEl: HTMLElement, scale: Scale): void {
    const fraction = (clientX: number, el: Element) => {
      const track = el.querySelector('svg.track') ?? el.querySelector('svg');
      const left = track?.getBoundingClientRect().left ?? 0;
      return Math.min(1, Math.max(0, (clientX - left) / scale.width));
    };
    const onWheel = (overAxis: boolean) => (e: WheelEvent) => {
      if (!overAxis && !e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const w = { from: scale.from, to: scale.to };
      this.moveWindow(zoom(w, e.deltaY > 0 ? 1.25 : 0.8, fraction(e.clientX, axis)), true);
    };
    axis.addEventListener('wheel', onWheel(true), { passive: false });
    lanesEl.addEventListener('wheel', onWheel(false), { passive: false });
    let start: { x: number; id: number } | null = null;
    let dx = 0;
    lanesEl.addEventListener('pointerdown', (e) => {
      if (!(e.target instanceof Element) || !e.target.closest('svg.track') || e.button !== 0)
        return;
      start = { x: e.clientX, id: e.pointerId };
      dx = 0;
    });
    lanesEl.addEventListener('pointermove', (e) => {
      if (!start || e.pointerId !== start.id) return;
      dx = e.clientX - start.x;
      if (Math.abs(dx) > 3) {
        if (!lanesEl.hasPointerCapture(e.pointerId)) lanesEl.setPointerCapture(e.pointerId);
        lanesEl.classList.add('panning');
        lanesEl.style.setProperty('--pan', `${dx}px`);
      }
    });
    const end = (e: PointerEvent) => {
      if (!start || e.pointerId !== start.id) return;
      start = null;
      lanesEl.classList.remove('panning');
      if (Math.abs(dx) > 3) {
        this.moveWindow(pan({ from: scale.from, to: scale.to }, -dx / scale.width));
        return;
      }
      const target = e.target instanceof Element ? e.target.closest('[data-href]') : null;
      const href = target?.getAttribute('data-href');
      if (href) this.navigate(href);
    };
    lanesEl.addEventListener('pointerup', end);
    lanesEl.addEventListener('pointercancel', () => {
      start = null;
      lanesEl.classList.remove('panning');
      lanesEl.style.removeProperty('--pan');
    });
  }
}
