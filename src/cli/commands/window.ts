// Commands about a window of time: events and changes.
import type { EventSummary, ObjectChanges, VersionSummary } from '../../store/queries/types.ts';
import { collect, findObject, limitOf, namespaceOf, type Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { parseObjectRef } from '../kinds.ts';
import { parseFormat, table, writeData, type Out } from '../output.ts';
import { formatAge, parseInstant } from '../time.ts';

/** --since and --until: the window, by default the last hour. */
export function windowOf(ctx: Context): { from: number; to: number } {
  const to = parseInstant(ctx.flags.until ?? 'now', '--until', ctx.now);
  const from = parseInstant(ctx.flags.since ?? '1h', '--since', ctx.now);
  if (from > to) throw new UsageError('--since must be before --until');
  return { from, to };
}

function objectName(kind: string | null, name: string | null): string {
  return `${(kind ?? 'object').toLowerCase()}/${name ?? '?'}`;
}

export function eventsTable(
  events: EventSummary[],
  allNamespaces: boolean,
  now: number,
  out: Out,
): string {
  const rows = [...events]
    .sort((a, b) => a.lastTime - b.lastTime)
    .map((e) => [
      ...(allNamespaces ? [e.namespace] : []),
      formatAge(e.lastTime, now),
      e.type ?? '-',
      e.reason ?? '-',
      objectName(e.involved.kind, e.involved.name),
      String(e.count),
      (e.message ?? '').replace(/\s+/g, ' ').trim(),
    ]);
  const headers = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'COUNT', 'MESSAGE'];
  return table(allNamespaces ? ['NAMESPACE', ...headers] : headers, rows, out.columns);
}

export async function events(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['table', 'json', 'yaml']);
  const window = windowOf(ctx);
  const max = limitOf(ctx, 500);
  let type = ctx.flags.type;
  if (type !== undefined) {
    const t = type.toLowerCase();
    if (t !== 'normal' && t !== 'warning') {
      throw new UsageError(`--type must be Normal or Warning, got '${type}'`);
    }
    type = t === 'normal' ? 'Normal' : 'Warning';
  }
  const about = ctx.flags.for === undefined ? undefined : parseObjectRef(ctx.flags.for);
  const { client } = await ctx.connect();
  const namespace = await namespaceOf(ctx);
  const involved = about === undefined ? undefined : await findObject(ctx, about);
  const items = await collect<EventSummary>(
    client,
    '/api/v1/events',
    {
      namespace: involved ? involved.namespace || undefined : namespace,
      involvedUid: involved?.uid,
      reason: ctx.flags.reason,
      type,
      from: window.from,
      to: window.to,
    },
    max,
  );
  if (writeData(ctx.out, format, items)) return;
  if (items.length === 0) {
    ctx.err.write(
      `No Events recorded ${where(namespace)} from ${formatAge(window.from, ctx.now)} ago until ${window.to >= ctx.now ? 'now' : `${formatAge(window.to, ctx.now)} ago`}.\n`,
    );
    return;
  }
  ctx.out.write(eventsTable(items, namespace === undefined && !involved, ctx.now, ctx.out));
}

function where(namespace: string | undefined): string {
  return namespace === undefined ? 'in any namespace' : `in namespace ${namespace}`;
}

/** What happened to an object in the window, in a word. */
export function changeSummary(versions: VersionSummary[]): string {
  const created = versions.some((v) => v.type === 'added');
  const deleted = versions.some((v) => v.type === 'deleted');
  if (created && deleted) return 'created, deleted';
  if (created) return versions.length > 1 ? 'created, modified' : 'created';
  if (deleted) return versions.length > 1 ? 'modified, deleted' : 'deleted';
  return 'modified';
}

function paths(versions: VersionSummary[]): string {
  const all = [...new Set(versions.flatMap((v) => v.paths))];
  return all.length <= 4
    ? all.join(', ') || '-'
    : `${all.slice(0, 4).join(', ')} +${all.length - 4} more`;
}

export function changesTable(
  changes: ObjectChanges[],
  allNamespaces: boolean,
  now: number,
  out: Out,
): string {
  const rows = changes.map((c) => {
    const last = c.versions.at(-1);
    const actors = [...new Set(c.versions.map((v) => v.actor).filter((a) => a !== null))];
    return [
      ...(allNamespaces ? [c.object.namespace || '-'] : []),
      `${c.object.kind.toLowerCase()}/${c.object.name}`,
      changeSummary(c.versions),
      String(c.versions.length),
      last ? formatAge(last.time, now) : '-',
      actors.join(', ') || '-',
      paths(c.versions),
    ];
  });
  const headers = ['OBJECT', 'CHANGE', 'VERSIONS', 'LAST', 'ACTORS', 'PATHS'];
  return table(allNamespaces ? ['NAMESPACE', ...headers] : headers, rows, out.columns);
}

export async function changes(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['table', 'json', 'yaml']);
  const window = windowOf(ctx);
  const max = limitOf(ctx, 500);
  const { client } = await ctx.connect();
  const namespace = await namespaceOf(ctx);
  const items = await collect<ObjectChanges>(
    client,
    '/api/v1/changes',
    { namespace, from: window.from, to: window.to },
    max,
  );
  if (writeData(ctx.out, format, items)) return;
  if (items.length === 0) {
    ctx.err.write(`Nothing changed ${where(namespace)} in that window.\n`);
    return;
  }
  ctx.out.write(changesTable(items, namespace === undefined, ctx.now, ctx.out));
}
