// Commands about one object: history, get (as of an instant) and diff.
import type { DiffResult, VersionBody, VersionSummary } from '../../store/queries/types.ts';
import { ApiError } from '../client.ts';
import { collect, describe, findObject, limitOf, type Context } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { parseObjectRef } from '../kinds.ts';
import { paint, parseFormat, table, writeData, type Out } from '../output.ts';
import { ago, formatTime, parseDiffEnd, parseInstant, type DiffEnd } from '../time.ts';

function versionType(v: VersionSummary): string {
  return v.inferred ? `${v.type} (inferred)` : v.type;
}

/** Rows of `hindsight history`, oldest first so the newest is next to the prompt. */
export function historyTable(versions: VersionSummary[], now: number, out: Out): string {
  const rows = [...versions]
    .sort((a, b) => a.seq - b.seq)
    .map((v) => [
      String(v.seq),
      formatTime(v.time),
      ago(v.time, now),
      versionType(v),
      v.actor ?? '-',
      v.type === 'added' ? '(created)' : v.paths.length ? v.paths.join(', ') : '-',
    ]);
  return table(['SEQ', 'TIME', 'AGE', 'TYPE', 'ACTOR', 'CHANGED'], rows, out.columns);
}

export async function history(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['table', 'json', 'yaml']);
  const ref = parseObjectRef(ctx.args[0]!);
  const max = limitOf(ctx, 100);
  const { client } = await ctx.connect();
  const object = await findObject(ctx, ref);
  const versions = await collect<VersionSummary>(
    client,
    `/api/v1/objects/${object.uid}/versions`,
    {},
    max,
  );
  if (writeData(ctx.out, format, { object, versions })) return;
  if (versions.length === 0) {
    ctx.out.write(`No versions of ${describe(object)} are kept (retention removed them).\n`);
    return;
  }
  ctx.out.write(historyTable(versions, ctx.now, ctx.out));
  if (versions.length === max) {
    ctx.err.write(`note: showing the ${max} newest versions; pass --limit for more\n`);
  }
}

export async function get(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['yaml', 'json']);
  const ref = parseObjectRef(ctx.args[0]!);
  const asked =
    ctx.flags.at === undefined ? undefined : parseInstant(ctx.flags.at, '--at', ctx.now);
  const { client } = await ctx.connect();
  // Without --at: the object now or, when it is gone, as it was last recorded.
  const object = await findObject(ctx, ref, asked);
  const at = asked ?? object.deletedAt ?? ctx.now;
  if (asked === undefined && object.deletedAt !== null) {
    ctx.err.write(
      `note: ${describe(object)} was deleted at ${formatTime(object.deletedAt)} (${ago(object.deletedAt, ctx.now)}); showing its last recorded state\n`,
    );
  }
  let found: VersionBody;
  try {
    found = await client.get<VersionBody>(`/api/v1/objects/${object.uid}/at`, { time: at });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new CliError(
        `${describe(object)} has no recorded state at ${formatTime(at)} (recorded from ${formatTime(object.createdAt ?? object.lastChange)}); try a later --at`,
        { cause: err },
      );
    }
    throw err;
  }
  if (ctx.err.columns !== undefined) {
    ctx.err.write(
      paint(
        ctx.err,
        'dim',
        `# ${describe(object)} as of version ${found.version.seq}, recorded ${formatTime(found.version.time)} (${ago(found.version.time, ctx.now)})\n`,
      ),
    );
  }
  writeData(ctx.out, format, kubectlOrder(found.object));
}

/** apiVersion, kind and metadata first, as kubectl prints objects. */
export function kubectlOrder(object: unknown): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return object;
  const { apiVersion, kind, metadata, ...rest } = object as Record<string, unknown>;
  return { apiVersion, kind, metadata, ...rest };
}

function endQuery(which: 'from' | 'to', end: DiffEnd): Record<string, number> {
  return 'seq' in end ? { [`${which}Seq`]: end.seq } : { [which]: end.time };
}

/** The readable diff: a header naming both versions, then one line per changed path. */
export function diffText(d: DiffResult, title: string, now: number, out: Out): string {
  const end = (v: VersionSummary) =>
    `version ${v.seq} (${formatTime(v.time)}, ${ago(v.time, now)})`;
  const lines = [paint(out, 'bold', `${title}: ${end(d.from)} → ${end(d.to)}`)];
  if (d.text.length === 0) lines.push('no changes');
  for (const line of d.text) {
    const style = line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : 'yellow';
    lines.push(paint(out, style, line));
  }
  return `${lines.join('\n')}\n`;
}

export async function diff(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['table', 'json', 'yaml']);
  const ref = parseObjectRef(ctx.args[0]!);
  const { from: fromText, to: toText } = ctx.flags;
  if (fromText === undefined && toText !== undefined) {
    throw new UsageError('--to needs --from: give the version or time to compare it with');
  }
  let from = fromText === undefined ? undefined : parseDiffEnd(fromText, '--from', ctx.now);
  let to = toText === undefined ? undefined : parseDiffEnd(toText, '--to', ctx.now);
  const { client } = await ctx.connect();
  const object = await findObject(ctx, ref);
  if (from === undefined) {
    const last = await collect<VersionSummary>(
      client,
      `/api/v1/objects/${object.uid}/versions`,
      {},
      2,
    );
    if (last.length < 2) {
      throw new CliError(
        `${describe(object)} has only one recorded version, so there is no change to show; see 'hindsight get'`,
      );
    }
    [to, from] = [{ seq: last[0]!.seq }, { seq: last[1]!.seq }];
  }
  to ??= { time: ctx.now };
  let result: DiffResult;
  try {
    result = await client.get<DiffResult>(`/api/v1/objects/${object.uid}/diff`, {
      ...endQuery('from', from),
      ...endQuery('to', to),
    });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new CliError(
        `${describe(object)} has no recorded version at one of the ends (${fromText ?? ''} … ${toText ?? 'now'}); see 'hindsight history ${ctx.args[0]}' for its versions and times`,
        { cause: err },
      );
    }
    throw err;
  }
  if (writeData(ctx.out, format, result)) return;
  ctx.out.write(diffText(result, describe(object), ctx.now, ctx.out));
}
