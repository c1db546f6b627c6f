// `hindsight rollouts`: the rollouts the operator derived from recorded history, newest first,
// with their outcome and why (GET /api/v1/rollouts).
import type { Rollout } from '../../store/rollouts.ts';
import { collect, limitOf, namespaceOf, type Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { parseObjectRef } from '../kinds.ts';
import { paint, parseFormat, table, writeData, type Out } from '../output.ts';
import { formatAge, parseInstant } from '../time.ts';

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
}

function images(r: Rollout): string {
  const before = r.imagesBefore.join(',');
  const after = r.imagesAfter.join(',');
  return before && before !== after ? `${before} → ${after}` : after;
}

export function rolloutsTable(
  items: Rollout[],
  now: number,
  out: Out,
  withObject: boolean,
): string {
  const colour = (o: Rollout['outcome']) =>
    o === 'complete' ? paint(out, 'green', o) : o === 'failed' ? paint(out, 'red', o) : o;
  const rows = items.map((r) => [
    String(r.id),
    ...(withObject ? [`${r.kind.toLowerCase()}/${r.name}`] : []),
    `${formatAge(r.started, now)} ago`,
    r.ended === null ? `${seconds(now - r.started)}…` : seconds(r.ended - r.started),
    colour(r.outcome),
    r.newRevision ?? '-',
    images(r) || '-',
    r.actor ?? '-',
    r.outcome === 'complete'
      ? ''
      : [r.reason, r.message].filter(Boolean).join(': ').replace(/\s+/g, ' ') || (r.problem ?? ''),
  ]);
  const headers = [
    'ID',
    ...(withObject ? ['WORKLOAD'] : []),
    'STARTED',
    'DURATION',
    'OUTCOME',
    'REVISION',
    'IMAGES',
    'BY',
    'REASON',
  ];
  return table(headers, rows, out.columns);
}

export async function rollouts(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['table', 'json', 'yaml']);
  if (ctx.args.length > 1) {
    throw new UsageError(
      `unexpected argument '${ctx.args[1]}'; usage: hindsight rollouts [KIND/NAME]`,
    );
  }
  const ref = ctx.args[0] === undefined ? undefined : parseObjectRef(ctx.args[0]);
  if (ref && !KINDS.includes(ref.kind)) {
    throw new UsageError(
      `${ref.kind} has no rollouts; give a Deployment, StatefulSet, DaemonSet or Job`,
    );
  }
  const max = limitOf(ctx, 10);
  const to = parseInstant(ctx.flags.until ?? 'now', '--until', ctx.now);
  const from = parseInstant(ctx.flags.since ?? '7d', '--since', ctx.now);
  if (from > to) throw new UsageError('--since must be before --until');
  const { client } = await ctx.connect();
  const namespace = await namespaceOf(ctx);
  const items = await collect<Rollout>(
    client,
    '/api/v1/rollouts',
    { namespace, kind: ref?.kind, name: ref?.name, from, to },
    max,
  );
  if (writeData(ctx.out, format, items)) return;
  if (items.length === 0) {
    ctx.out.write(
      `No rollouts${ref ? ` of ${ref.kind.toLowerCase()}/${ref.name}` : ''} recorded in that window.\n`,
    );
    return;
  }
  ctx.out.write(rolloutsTable(items, ctx.now, ctx.out, ref === undefined));
}
