// What every command gets: its arguments and flags, where to write, the clock, and the operator's
// API (connected on first use, so usage errors never wait for the network).
import type { ObjectSummary, Page } from '../store/queries/types.ts';
import type { Flags } from './args.ts';
import { ApiError, type Client } from './client.ts';
import { CliError, UsageError } from './errors.ts';
import type { ObjectRef } from './kinds.ts';
import type { Out } from './output.ts';
import { formatTime } from './time.ts';

export interface Context {
  args: string[];
  flags: Flags;
  out: Out;
  /** Notes for people (stderr); never data. */
  err: Out;
  now: number;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  connect(): Promise<{ client: Client; namespace: string }>;
}

/** The namespace to read: -n, else the kube context's; undefined with -A. */
export async function namespaceOf(ctx: Context): Promise<string | undefined> {
  if (ctx.flags['all-namespaces']) return undefined;
  return ctx.flags.namespace ?? (await ctx.connect()).namespace;
}

/** Parses --limit. */
export function limitOf(ctx: Context, fallback: number): number {
  const v = ctx.flags.limit;
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new UsageError(`--limit must be a positive whole number, got '${v}'`);
  return Number(v);
}

/** `Deployment shop/web`, or `Node n1` for cluster-scoped objects. */
export function describe(o: { kind: string; namespace?: string | null; name: string }): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

/** Fetches pages of a listing until `max` items or the last page. */
export async function collect<T>(
  client: Client,
  path: string,
  query: Record<string, string | number | undefined>,
  max: number,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.get<Page<T>>(path, {
      ...query,
      limit: Math.min(500, max - items.length),
      cursor,
    });
    items.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor && items.length < max);
  return items;
}

/**
 * The recorded object a KIND/NAME means: in the namespace (unless cluster-scoped), alive at `at`
 * when given, else the newest of that name (a name can be reused after a deletion).
 */
export async function findObject(
  ctx: Context,
  ref: ObjectRef,
  at?: number,
): Promise<ObjectSummary> {
  const { client } = await ctx.connect();
  const namespace = ref.clusterScoped ? undefined : await namespaceOf(ctx);
  const search = (window?: number) =>
    collect<ObjectSummary>(
      client,
      '/api/v1/resources',
      {
        kind: ref.kind,
        name: ref.name,
        namespace,
        includeDeleted: 'true',
        from: window,
        to: window,
      },
      100,
    ).then((items) =>
      items.filter((o) => o.name === ref.name && (ref.clusterScoped ? o.namespace === '' : true)),
    );
  const where = describe({ kind: ref.kind, namespace, name: ref.name });
  const found = await search(at);
  if (found.length === 0) {
    if (at !== undefined) {
      const other = await search();
      if (other.length > 0) {
        const spans = other
          .map(
            (o) =>
              `${o.createdAt === null ? 'before recording began' : `from ${formatTime(o.createdAt)}`} ${o.deletedAt === null ? 'until now' : `to ${formatTime(o.deletedAt)}`}`,
          )
          .join('; ');
        throw new CliError(`${where} did not exist at ${formatTime(at)}; it existed ${spans}`);
      }
    }
    throw new ApiError(
      404,
      `no ${where} is recorded; check the name and the namespace (-n), and that a HistoryPolicy records ${ref.kind} objects there`,
    );
  }
  found.sort(
    (a, b) =>
      Number(a.deletedAt !== null) - Number(b.deletedAt !== null) || b.lastChange - a.lastChange,
  );
  if (found.length > 1 && at === undefined) {
    ctx.err.write(
      `note: ${found.length} objects named ${where} were recorded (the name was reused); showing the newest, uid ${found[0]!.uid}\n`,
    );
  }
  return found[0]!;
}
