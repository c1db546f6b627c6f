// `hindsight follow`: the live stream (/api/v1/stream, Server-Sent Events) printed one line per
// change or Event, resumed with Last-Event-ID after a dropped connection so nothing is repeated
// or skipped, until Ctrl-C.
import type { SinceItem } from '../../store/queries/types.ts';
import { ApiError, causeOf, type Client } from '../client.ts';
import { namespaceOf, type Context } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { resolveKind } from '../kinds.ts';
import { paint, parseFormat, type Out } from '../output.ts';
import { SseParser } from '../sse.ts';
import { formatTime } from '../time.ts';
import { sleep } from '../../runtime/sleep.ts';

export interface StreamOptions {
  namespace?: string;
  kinds?: string[];
  /** Start after this sequence number; default: from now. */
  sinceSeq?: number;
  signal: AbortSignal;
  /** Reports a dropped connection (to stderr). */
  notify: (message: string) => void;
  /** Waits before reconnecting; tests pass a fast one. */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Reads the stream until the signal aborts, calling `onItem` once per record, in order. */
export async function streamItems(
  client: Client,
  o: StreamOptions,
  onItem: (item: SinceItem) => void,
): Promise<void> {
  const delay = o.delay ?? sleep;
  let lastEventId: string | undefined;
  let lastSeq = -1;
  let connected = false;
  let failures = 0;
  while (!o.signal.aborted) {
    try {
      const res = await client.open(
        '/api/v1/stream',
        {
          namespace: o.namespace,
          kinds: o.kinds?.join(','),
          since: lastEventId === undefined ? o.sinceSeq : undefined,
        },
        {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        o.signal,
      );
      connected = true;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body ?? []) {
        for (const m of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          if (m.event !== 'version' && m.event !== 'occurrence') continue;
          const item = JSON.parse(m.data) as SinceItem;
          if (item.seq <= lastSeq) continue;
          lastSeq = item.seq;
          onItem(item);
        }
        lastEventId = parser.lastEventId ?? lastEventId;
        failures = 0;
      }
      // The server ends streams after a while (and on restart): resume where it stopped.
    } catch (err) {
      if (o.signal.aborted) return;
      const permanent = err instanceof ApiError && err.status >= 400 && err.status < 500;
      if (err instanceof ApiError && err.status === 404) {
        throw new CliError(
          `the operator has no live stream (${err.message}); it is older than this CLI, upgrade it`,
          { cause: err },
        );
      }
      if (permanent || !connected) throw err;
      failures++;
      o.notify(
        `the stream was interrupted (${causeOf(err)}); resuming after ${lastEventId === undefined ? 'the start' : `seq ${lastEventId}`}`,
      );
    }
    await delay(Math.min(500 * 2 ** failures, 10_000), o.signal);
  }
}

/** One line per record: time, namespace, object, what happened. */
export function itemLine(item: SinceItem, out: Pick<Out, 'color'>): string {
  const time = formatTime(item.time);
  if (item.kind === 'occurrence' && item.event) {
    const e = item.event;
    const type = e.type === 'Warning' ? paint(out, 'red', 'Warning') : (e.type ?? '-');
    const about = `${(e.involved.kind ?? 'object').toLowerCase()}/${e.involved.name ?? '?'}`;
    return `${time}  ${e.namespace || '-'}  ${about}  Event ${type} ${e.reason ?? '-'}: ${(e.message ?? '').replace(/\s+/g, ' ').trim()}`;
  }
  const o = item.object;
  const v = item.version;
  const what = v?.type === 'added' ? 'created' : v?.type === 'deleted' ? 'deleted' : 'modified';
  const paths = v?.type === 'modified' && v.paths.length ? ` ${v.paths.join(', ')}` : '';
  const actor = v?.actor ? paint(out, 'dim', ` (${v.actor})`) : '';
  return `${time}  ${o?.namespace || '-'}  ${(o?.kind ?? '?').toLowerCase()}/${o?.name ?? '?'}  ${what}${paths}${actor}`;
}

export async function follow(ctx: Context): Promise<void> {
  const format = parseFormat(ctx.flags.output, ['table', 'json']);
  const kinds = ctx.flags.kinds
    ?.split(',')
    .filter(Boolean)
    .map((k) => resolveKind(k.trim()).kind);
  const sinceText = ctx.flags['since-seq'];
  if (sinceText !== undefined && !/^\d{1,15}$/.test(sinceText)) {
    throw new UsageError(
      `--since-seq must be a sequence number (see the SEQ column of 'hindsight history'), got '${sinceText}'`,
    );
  }
  const { client } = await ctx.connect();
  const namespace = await namespaceOf(ctx);
  await streamItems(
    client,
    {
      namespace,
      kinds: kinds?.length ? kinds : undefined,
      sinceSeq: sinceText === undefined ? undefined : Number(sinceText),
      signal: ctx.signal,
      notify: (message) => ctx.err.write(`${message}\n`),
    },
    (item) =>
      ctx.out.write(
        format === 'json' ? `${JSON.stringify(item)}\n` : `${itemLine(item, ctx.out)}\n`,
      ),
  );
}
