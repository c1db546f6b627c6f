// Rollouts the operator derived from recorded history, as the UI shows them: a band on the
// workload's timeline lane (its text is made here) and a table on the workload's page.
import { get, getAll } from './api.ts';
import { h } from './dom.ts';
import { dateTime, duration } from './format.ts';
import type { Window } from './state.ts';
import { failure, loading } from './status.ts';
import type { ObjectSummary, Page, Rollout } from './types.ts';

/** The kinds the operator derives rollouts for. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

/** The API's longest window. */
const MAX_WINDOW_MS = 31 * 86_400_000;
/**
 * The API lists rollouts by when they started; one drawn in a window may have started before it.
 * Finished ones are looked for this far back, in-progress ones as far as the API allows.
 */
const LOOKBACK_MS = 6 * 3600_000;
/** Rows on a workload's page; more say so. */
const PAGE_ROWS = 100;

const iso = (t: number) => new Date(t).toISOString();

/**
 * Where a rollout ends on a chart: in-progress ones run until now. One ended by an Event can end
 * "before" it started, as Events have whole seconds: it took no time then.
 */
export function rolloutEnd(r: Rollout, now: number): number {
  return Math.max(r.started, r.ended ?? now);
}

function took(ms: number): string {
  return ms < 1000 ? '<1s' : duration(ms);
}

/** `web:1 → web:2`, or the images alone when they did not change (a creation, a scale). */
export function images(r: Rollout): string {
  const before = r.imagesBefore.join(', ');
  const after = r.imagesAfter.join(', ');
  return before && before !== after ? `${before} → ${after}` : after;
}

/** Why a rollout did not complete: its reason and message, or the last problem seen. */
export function why(r: Rollout): string {
  if (r.outcome === 'complete') return '';
  // A message taken from an Event often names its reason already.
  if (r.reason && r.message?.includes(r.reason)) return r.message;
  return [r.reason, r.message].filter(Boolean).join(': ') || (r.problem ?? '');
}

function outcomeText(r: Rollout, now: number): string {
  const d = took(rolloutEnd(r, now) - r.started);
  switch (r.outcome) {
    case 'complete':
      return `complete in ${d}`;
    case 'failed':
      return `failed after ${d}`;
    case 'superseded':
      return `superseded after ${d} (a newer rollout started)`;
    case 'deleted':
      return `ended after ${d}: the ${r.kind} was deleted`;
    case 'in-progress':
      return `in progress for ${d}`;
  }
}

/** The hover text of a rollout's band: outcome, duration, images, and why when it failed. */
export function rolloutTitle(r: Rollout, now: number): string {
  const revision =
    r.newRevision === null
      ? ''
      : `, revision ${r.oldRevision && r.oldRevision !== r.newRevision ? `${r.oldRevision} → ` : ''}${r.newRevision}`;
  return [
    `${r.kind} ${r.name}: rollout ${outcomeText(r, now)}`,
    `generation ${r.generation}${revision}`,
    `${dateTime(r.started)} → ${r.ended === null ? 'now' : dateTime(rolloutEnd(r, now))}`,
    images(r) ? `images: ${images(r)}` : null,
    why(r) || null,
    r.actor ? `by ${r.actor}` : null,
    `Click to open the ${r.kind}'s rollouts.`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The rollouts of a namespace that overlap window `w`, by workload uid, oldest first. */
export async function rolloutsInWindow(
  namespace: string,
  w: Window,
  signal: AbortSignal,
): Promise<Map<string, Rollout[]>> {
  const [recent, running] = await Promise.all([
    getAll<Rollout>(
      '/rollouts',
      {
        namespace,
        from: iso(Math.max(w.from - LOOKBACK_MS, w.to - MAX_WINDOW_MS)),
        to: iso(w.to),
      },
      signal,
    ),
    getAll<Rollout>(
      '/rollouts',
      { namespace, outcome: 'in-progress', from: iso(w.to - MAX_WINDOW_MS), to: iso(w.to) },
      signal,
    ),
  ]);
  const now = Date.now();
  const byId = new Map([...recent.items, ...running.items].map((r) => [r.id, r]));
  const byUid = new Map<string, Rollout[]>();
  for (const r of [...byId.values()].sort((a, b) => a.started - b.started || a.id - b.id)) {
    if (r.started > w.to || rolloutEnd(r, now) < w.from) continue;
    const list = byUid.get(r.uid) ?? [];
    list.push(r);
    byUid.set(r.uid, list);
  }
  return byUid;
}

/** The Rollouts section of a workload's page (loaded in the background); null for other kinds. */
export function rolloutsSection(o: ObjectSummary): HTMLElement | null {
  if (!WORKLOAD_KINDS.includes(o.kind) || !o.namespace) return null;
  const body = h('div', {}, loading('rollouts'));
  const heading = h('h2', {}, 'Rollouts');
  const to = o.deletedAt ?? Date.now();
  const from = to - MAX_WINDOW_MS;
  const load = () => {
    get<Page<Rollout>>('/rollouts', {
      namespace: o.namespace,
      kind: o.kind,
      name: o.name,
      from: iso(from),
      to: iso(to),
      limit: PAGE_ROWS,
    }).then(
      (page) => {
        // A name can be reused: only this object's own rollouts.
        const items = page.items.filter((r) => r.uid === o.uid);
        heading.textContent = `Rollouts (${items.length}${page.next ? '+, newest shown' : ''})`;
        body.replaceChildren(
          items.length === 0
            ? h(
                'p',
                { class: 'muted no-rollouts' },
                `No rollouts recorded for this ${o.kind} between ${dateTime(from)} and ${dateTime(to)}.`,
              )
            : rolloutsTable(items),
        );
      },
      (err: unknown) => body.replaceChildren(failure(err, load)),
    );
  };
  load();
  return h('section', { class: 'rollouts', 'aria-label': 'rollouts' }, heading, body);
}

function rolloutsTable(items: Rollout[]): HTMLElement {
  const now = Date.now();
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'rollout-list' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Started', 'Duration', 'Outcome', 'Revision', 'Images', 'By', 'Reason'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...items.map((r) =>
          h(
            'tr',
            {
              class: `outcome-${r.outcome}`,
              'data-rollout-id': r.id,
              'data-outcome': r.outcome,
              title: `Rollout ${r.id}: hindsight track --replay ${r.id} replays it`,
            },
            h('td', { class: 'time' }, dateTime(r.started)),
            h(
              'td',
              { class: 'duration' },
              `${r.ended === null ? 'running ' : ''}${took(rolloutEnd(r, now) - r.started)}`,
            ),
            h('td', {}, h('span', { class: `tag outcome outcome-${r.outcome}` }, r.outcome)),
            h('td', { title: `generation ${r.generation}` }, r.newRevision ?? '-'),
            h('td', { class: 'images' }, h('code', {}, images(r) || '-')),
            h('td', { class: 'actor' }, r.actor ?? h('span', { class: 'muted' }, 'unknown')),
            h('td', { class: 'message' }, why(r)),
          ),
        ),
      ),
    ),
  );
}
