// The object page: what the object is, a workload's rollouts, its versions with who changed what,
// a side-by-side diff between any two chosen versions, and its Events.
import { get, getAll } from './api.ts';
import { h, link, replace } from './dom.ts';
import { dateTime } from './format.ts';
import { rolloutsSection } from './rollouts.ts';
import { serializeState, parseState } from './state.ts';
import { empty, failure, loading } from './status.ts';
import { objectLines, sideBySide } from './text-diff.ts';
import type { Diff, EventSummary, ObjectSummary, VersionBody, VersionSummary } from './types.ts';
import type { Navigate } from './timeline.ts';

/** The API's longest window; an object's Events are asked for over at most this. */
const MAX_WINDOW_MS = 31 * 86_400_000;

export class ObjectView {
  readonly el = h('div', { class: 'object-page' });
  private readonly uid: string;
  private readonly navigate: Navigate;
  private data: { object: ObjectSummary; versions: VersionSummary[]; complete: boolean } | null =
    null;
  private readonly diffEl = h('section', { class: 'diff', 'aria-label': 'diff' });
  private diffCtl: AbortController | null = null;
  private readonly bodies = new Map<number, Promise<VersionBody>>();
  private search = '';

  constructor(uid: string, navigate: Navigate) {
    this.uid = uid;
    this.navigate = navigate;
  }

  destroy(): void {
    this.diffCtl?.abort();
  }

  update(search: string): void {
    this.search = search;
    if (this.data) {
      this.markChosen();
      void this.showDiff();
      return;
    }
    this.el.replaceChildren(loading('the object'));
    void this.load();
  }

  private chosen(): { from: number | null; to: number | null } {
    const q = new URLSearchParams(this.search);
    const seq = (k: string) => {
      const v = q.get(k);
      return v && /^\d+$/.test(v) ? Number(v) : null;
    };
    const versions = this.data?.versions ?? [];
    // Default: the newest change, against the version before it.
    let to = seq('to') ?? versions[0]?.seq ?? null;
    if (to !== null && !versions.some((v) => v.seq === to)) to = versions[0]?.seq ?? null;
    let from = seq('from');
    if (from === null || !versions.some((v) => v.seq === from)) {
      from = versions.find((v) => to !== null && v.seq < to)?.seq ?? null;
    }
    return { from, to };
  }

  private async load(): Promise<void> {
    try {
      const object = await get<ObjectSummary>(`/objects/${encodeURIComponent(this.uid)}`);
      const { items: versions, complete } = await getAll<VersionSummary>(
        `/objects/${encodeURIComponent(this.uid)}/versions`,
        {},
      );
      this.data = { object, versions, complete };
      document.title = `${object.kind} ${object.name} · Hindsight`;
      this.render();
    } catch (err) {
      this.el.replaceChildren(failure(err, () => this.update(this.search)));
    }
  }

  private render(): void {
    const { object: o, versions, complete } = this.data!;
    const back = sessionStorage.getItem('hindsight.timeline');
    const timelineHref =
      back && parseState(back.slice(1)).namespace === o.namespace
        ? `/${back}`
        : `/?${serializeState({ ...parseState(''), namespace: o.namespace })}`;
    const facts: [string, Node | string][] = [
      ['Namespace', o.namespace || '(cluster-scoped)'],
      // The API's version is the apiVersion (apps/v1) for a named group.
      [
        'API',
        `${o.group && !o.version.includes('/') ? `${o.group}/` : ''}${o.version} ${o.resource}`,
      ],
      ['uid', h('code', {}, o.uid)],
      ['Created', o.createdAt === null ? 'before recording began' : dateTime(o.createdAt)],
      [
        'Deleted',
        o.deletedAt === null
          ? 'no (alive at the last record)'
          : `${dateTime(o.deletedAt)}${o.deletion === 'inferred' ? ' (inferred at a relist: the deletion itself was not seen)' : ''}`,
      ],
      [
        'Owner',
        o.owner
          ? link(
              `/objects/${encodeURIComponent(o.owner.uid)}`,
              {},
              `${o.owner.kind} ${o.owner.name}`,
            )
          : 'none',
      ],
    ];
    if (o.node) facts.push(['Node', o.node]);
    const labels = Object.entries(o.labels);
    replace(
      this.el,
      h(
        'nav',
        { class: 'crumbs' },
        link(timelineHref, {}, `← Timeline of ${o.namespace || 'cluster'}`),
      ),
      h(
        'h1',
        {},
        h('span', { class: `kind kind-${o.kind}` }, o.kind),
        ' ',
        o.name,
        o.deletedAt !== null ? h('span', { class: 'tag deleted' }, 'deleted') : null,
      ),
      h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      labels.length > 0
        ? h(
            'p',
            { class: 'labels' },
            ...labels.map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)),
          )
        : null,
      rolloutsSection(o),
      h('h2', {}, `Versions (${versions.length}${complete ? '' : '+, newest shown'})`),
      h(
        'p',
        { class: 'hint' },
        'Choose the two versions to compare in the From and To columns. Actor is the field manager that made the change.',
      ),
      this.versionsTable(versions),
      this.diffEl,
      h('h2', {}, 'Events'),
      this.eventsSection(o, versions),
    );
    this.markChosen();
    void this.showDiff();
  }

  private versionsTable(versions: VersionSummary[]): HTMLElement {
    if (versions.length === 0) {
      return empty(
        'No versions retained',
        'Retention removed every recorded version of this object.',
      );
    }
    const pick = (which: 'from' | 'to', v: VersionSummary) =>
      h('input', {
        type: 'radio',
        name: which,
        value: v.seq,
        'aria-label': `${which} version ${v.seq}`,
        onchange: () => {
          const q = new URLSearchParams(this.search);
          q.set(which, String(v.seq));
          const c = this.chosen();
          const other = which === 'from' ? 'to' : 'from';
          const otherSeq = c[other];
          if (otherSeq !== null) q.set(other, String(otherSeq));
          this.navigate(`/objects/${encodeURIComponent(this.uid)}?${q.toString()}`, true);
        },
      });
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'versions' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['From', 'To', 'Version', 'Time', 'Change', 'Actor', 'Changed paths'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          ...versions.map((v) =>
            h(
              'tr',
              { 'data-seq': v.seq, class: `v-${v.type}` },
              h('td', {}, pick('from', v)),
              h('td', {}, pick('to', v)),
              h('td', {}, h('code', {}, v.seq)),
              h('td', { class: 'time' }, dateTime(v.time)),
              h(
                'td',
                {},
                h('span', { class: `tag ${v.type}` }, v.type),
                v.inferred ? h('span', { class: 'muted' }, ' (inferred)') : null,
              ),
              h('td', { class: 'actor' }, v.actor ?? h('span', { class: 'muted' }, 'unknown')),
              h('td', { class: 'paths' }, pathsCell(v)),
            ),
          ),
        ),
      ),
    );
  }

  private markChosen(): void {
    const { from, to } = this.chosen();
    for (const box of this.el.querySelectorAll<HTMLInputElement>('table.versions input')) {
      box.checked = Number(box.value) === (box.name === 'from' ? from : to);
    }
    for (const tr of this.el.querySelectorAll<HTMLElement>('table.versions tbody tr')) {
      const seq = Number(tr.dataset.seq);
      tr.classList.toggle('chosen', seq === from || seq === to);
    }
  }

  private body(seq: number, signal: AbortSignal): Promise<VersionBody> {
    let p = this.bodies.get(seq);
    if (!p) {
      p = get<VersionBody>(`/objects/${encodeURIComponent(this.uid)}/versions/${seq}`, {}, signal);
      p.catch(() => this.bodies.delete(seq));
      this.bodies.set(seq, p);
    }
    return p;
  }

  private async showDiff(): Promise<void> {
    const { from, to } = this.chosen();
    this.diffCtl?.abort();
    const ctl = new AbortController();
    this.diffCtl = ctl;
    if (to === null) {
      this.diffEl.replaceChildren();
      return;
    }
    if (from === null || from === to) {
      this.diffEl.replaceChildren(
        h('h2', {}, `Version ${to}`),
        h(
          'p',
          { class: 'hint' },
          'Only one version chosen: it is shown as recorded. Choose another in the From column to compare.',
        ),
        loading('the version'),
      );
      try {
        const b = await this.body(to, ctl.signal);
        if (ctl.signal.aborted) return;
        this.diffEl.lastElementChild!.replaceWith(
          h('pre', { class: 'body' }, objectLines(b.object).join('\n')),
        );
      } catch (err) {
        if (!ctl.signal.aborted)
          this.diffEl.replaceChildren(failure(err, () => void this.showDiff()));
      }
      return;
    }
    const [a, b] = from < to ? [from, to] : [to, from];
    this.diffEl.replaceChildren(h('h2', {}, `Diff: version ${a} → ${b}`), loading('the diff'));
    try {
      const [left, right, summary] = await Promise.all([
        this.body(a, ctl.signal),
        this.body(b, ctl.signal),
        get<Diff>(
          `/objects/${encodeURIComponent(this.uid)}/diff`,
          { fromSeq: a, toSeq: b },
          ctl.signal,
        ),
      ]);
      if (ctl.signal.aborted) return;
      const rows = sideBySide(objectLines(left.object), objectLines(right.object));
      const side = (kind: string, sideOf: { n: number; text: string } | null, cls: string) => [
        h('td', { class: `ln ${cls}` }, sideOf ? sideOf.n : ''),
        h('td', { class: `code ${cls} ${sideOf ? kind : 'blank'}` }, sideOf ? sideOf.text : ''),
      ];
      this.diffEl.replaceChildren(
        h('h2', {}, `Diff: version ${a} → ${b}`),
        h(
          'p',
          { class: 'hint' },
          `${dateTime(left.version.time)} (${left.version.type}) → ${dateTime(right.version.time)} (${right.version.type})`,
        ),
        summary.text.length > 0
          ? h(
              'ul',
              { class: 'diff-summary' },
              ...summary.text.map((t) => h('li', {}, h('code', {}, t))),
            )
          : h('p', { class: 'muted' }, 'No recorded difference between these versions.'),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'side-by-side' },
            h(
              'colgroup',
              {},
              h('col', { class: 'ln' }),
              h('col', {}),
              h('col', { class: 'ln' }),
              h('col', {}),
            ),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { colspan: 2, scope: 'col' }, `Version ${a}`),
                h('th', { colspan: 2, scope: 'col' }, `Version ${b}`),
              ),
            ),
            h(
              'tbody',
              {},
              ...rows.map((r) =>
                r.kind === 'fold'
                  ? h(
                      'tr',
                      { class: 'fold' },
                      h('td', { colspan: 4 }, `⋯ ${r.count} unchanged lines`),
                    )
                  : h(
                      'tr',
                      { class: r.kind },
                      ...side(
                        r.kind === 'changed' ? 'del' : r.kind === 'removed' ? 'del' : 'same',
                        r.left,
                        'left',
                      ),
                      ...side(
                        r.kind === 'changed' ? 'add' : r.kind === 'added' ? 'add' : 'same',
                        r.right,
                        'right',
                      ),
                    ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      if (!ctl.signal.aborted)
        this.diffEl.replaceChildren(failure(err, () => void this.showDiff()));
    }
  }

  private eventsSection(o: ObjectSummary, versions: VersionSummary[]): HTMLElement {
    const el = h('div', { class: 'events' }, loading('Events'));
    const first = Math.min(o.createdAt ?? Infinity, ...versions.map((v) => v.time));
    const to = Math.min(Date.now(), (o.deletedAt ?? Date.now()) + 10 * 60_000);
    const from = Math.max(
      Number.isFinite(first) ? first - 60_000 : to - 3600_000,
      to - MAX_WINDOW_MS,
    );
    getAll<EventSummary>('/events', {
      involvedUid: o.uid,
      namespace: o.namespace || undefined,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    }).then(
      ({ items }) => {
        if (items.length === 0) {
          el.replaceChildren(
            empty(
              'No Events',
              `No Event about this object was recorded between ${dateTime(from)} and ${dateTime(to)}.`,
            ),
          );
          return;
        }
        items.sort((x, y) => y.lastTime - x.lastTime);
        el.replaceChildren(
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'event-list' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['Type', 'Reason', 'Message', 'Count', 'First', 'Last', 'Source'].map((t) =>
                    h('th', { scope: 'col' }, t),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                ...items.map((e) =>
                  h(
                    'tr',
                    { class: e.type === 'Warning' ? 'warning' : 'normal' },
                    h(
                      'td',
                      {},
                      h(
                        'span',
                        { class: `tag ${e.type === 'Warning' ? 'warning' : 'normal'}` },
                        e.type ?? '?',
                      ),
                    ),
                    h('td', {}, e.reason ?? ''),
                    h('td', { class: 'message' }, e.message ?? ''),
                    h('td', {}, e.count),
                    h('td', { class: 'time' }, dateTime(e.firstTime)),
                    h('td', { class: 'time' }, dateTime(e.lastTime)),
                    h('td', {}, e.source ?? ''),
                  ),
                ),
              ),
            ),
          ),
        );
      },
      (err: unknown) =>
        el.replaceChildren(failure(err, () => el.replaceWith(this.eventsSection(o, versions)))),
    );
    return el;
  }
}

function pathsCell(v: VersionSummary): Node | string {
  if (v.type === 'added') return h('span', { class: 'muted' }, 'created');
  if (v.type === 'deleted') return h('span', { class: 'muted' }, 'deleted');
  if (v.paths.length === 0) return h('span', { class: 'muted' }, 'none recorded');
  const shown = v.paths.slice(0, 6);
  return h(
    'span',
    { title: v.paths.join('\n') },
    ...shown.flatMap((p, i) => [i > 0 ? ', ' : '', h('code', {}, p)]),
    v.paths.length > shown.length ? ` and ${v.paths.length - shown.length} more` : '',
  );
}
