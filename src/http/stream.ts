// The live stream: Server-Sent Events of new versions and Event occurrences, in sequence order,
// resumable from a sequence number. One poll of the store's head serves every open stream; a
// stream reads the records after its position only when the head moved past it.
import type { Request, Response } from 'express';
import type { Access, SinceItem, SinceQuery, SinceResult } from '../store/queries.ts';
import { badParam, ProblemError } from './problem.ts';
import * as p from './params.ts';

/** What the stream reads: the store's head and the records after a position. */
export interface StreamSource {
  head(): number | Promise<number>;
  since(seq: number, q: SinceQuery, access: Access): SinceResult | Promise<SinceResult>;
}

export interface StreamOptions {
  /** How often the head is polled while streams are open. */
  pollMs?: number;
  /** A comment line after this long without records keeps proxies from closing the stream. */
  keepaliveMs?: number;
  /** How often a stream asks again what its caller may read (RBAC changes take effect). */
  accessRefreshMs?: number;
  /** A stream ends after this long; clients reconnect with Last-Event-ID (and a fresh token). */
  maxDurationMs?: number;
  /** Open streams at most; more are refused with 503. */
  maxStreams?: number;
  /** Records read per query. */
  batch?: number;
  /** Told the number of open streams whenever it changes. */
  onCount?: (open: number) => void;
}

/** The query of one stream, parsed from the request. */
export interface StreamRequest {
  from: number | 'head';
  /** Where `from` came from, named when it is refused. */
  fromParam?: 'since' | 'Last-Event-ID';
  namespace?: string;
  kinds?: string[];
}

/** Parses `namespace`, `kinds`, `since` and the Last-Event-ID header (which wins over `since`). */
export function parseStreamRequest(req: Request): StreamRequest {
  const q = req.query as p.Query;
  const lastEventId = req.get('last-event-id');
  const since = p.str(q, 'since');
  const base = { namespace: p.namespace(q), kinds: p.kinds(q) };
  if (lastEventId !== undefined && lastEventId !== '')
    return { ...base, from: p.seq(lastEventId, 'Last-Event-ID'), fromParam: 'Last-Event-ID' };
  if (since !== undefined && since !== 'now')
    return { ...base, from: p.seq(since, 'since'), fromParam: 'since' };
  return { ...base, from: 'head' };
}

interface Waiter {
  pos: number;
  wake: () => void;
}

export class StreamHub {
  private readonly source: StreamSource;
  private readonly o: Required<StreamOptions>;
  private readonly waiters = new Set<Waiter>();
  private readonly open = new Set<Response>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;
  private latest = 0;

  constructor(source: StreamSource, opts: StreamOptions = {}) {
    this.source = source;
    this.o = {
      pollMs: opts.pollMs ?? 50,
      keepaliveMs: opts.keepaliveMs ?? 15_000,
      accessRefreshMs: opts.accessRefreshMs ?? 30_000,
      maxDurationMs: opts.maxDurationMs ?? 30 * 60_000,
      maxStreams: opts.maxStreams ?? 256,
      batch: opts.batch ?? 200,
      onCount: opts.onCount ?? (() => {}),
    };
  }

  /** Open streams. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Serves one stream until the client goes away, the stream's time is up or the hub closes.
   * `access` is asked again every accessRefreshMs. Throws (before anything is sent) a
   * ProblemError when too many streams are open.
   */
  async serve(
    req: Request,
    res: Response,
    query: StreamRequest,
    access: () => Promise<Access>,
  ): Promise<void> {
    if (this.closed) throw new ProblemError(503, 'Shutting down', 'the server is stopping');
    if (this.open.size >= this.o.maxStreams) {
      res.set('Retry-After', '10');
      throw new ProblemError(
        503,
        'Too many streams',
        `${this.o.maxStreams} live streams are open already; try again later`,
      );
    }
    let can = await access();
    const head = await this.source.head();
    if (query.from !== 'head') checkPosition(query.from, head, query.fromParam ?? 'since');
    let pos = query.from === 'head' ? head : query.from;
    let ended = false;
    const waiter: Waiter = { pos: -1, wake: () => {} };
    const end = () => {
      ended = true;
      waiter.wake();
    };
    this.open.add(res);
    this.o.onCount(this.open.size);
    res.on('close', end);
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    // Tells the client where it starts, so a reconnect right away neither repeats nor skips.
    await this.write(res, `retry: 2000\nid: ${pos}\n\n`);

    const started = Date.now();
    let accessAt = started;
    let lastWrite = started;
    try {
      while (!ended && !this.closed) {
        const now = Date.now();
        if (now - started >= this.o.maxDurationMs) break;
        if (now - accessAt >= this.o.accessRefreshMs) {
          can = await access();
          accessAt = now;
        }
        if (this.latest > pos || (await this.source.head()) > pos) {
          const batch = await this.source.since(
            pos,
            { namespace: query.namespace, kinds: query.kinds, limit: this.o.batch },
            can,
          );
          let text = batch.map(format).join('');
          // Records the caller may not see were passed over: move its Last-Event-ID past them.
          const lastSent = batch.at(-1)?.seq ?? pos;
          if (batch.next > lastSent) text += `id: ${batch.next}\n\n`;
          if (text) {
            await this.write(res, text);
            lastWrite = Date.now();
          }
          if (batch.next > pos) {
            pos = batch.next;
            continue;
          }
        }
        if (Date.now() - lastWrite >= this.o.keepaliveMs) {
          await this.write(res, ': keepalive\n\n');
          lastWrite = Date.now();
        }
        await this.waitPast(
          pos,
          waiter,
          Math.min(this.o.keepaliveMs, started + this.o.maxDurationMs - Date.now()),
        );
      }
    } catch (err) {
      // Headers are sent: a failure can only end the stream; the client resumes where it was.
      if (!ended) res.write('event: error\ndata: "the stream failed; reconnect to resume"\n\n');
      throw err;
    } finally {
      this.open.delete(res);
      this.o.onCount(this.open.size);
      res.off('close', end);
      res.end();
    }
  }

  /** Ends every stream; new ones are refused. */
  close(): void {
    this.closed = true;
    this.stopPolling();
    for (const w of this.waiters) w.wake();
    for (const res of this.open) res.end();
  }

  private write(res: Response, text: string): Promise<void> {
    if (res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done).on('close', done);
    });
  }

  /** Resolves when the head moves past `pos`, after `ms`, or when the stream or hub ends. */
  private waitPast(pos: number, w: Waiter, ms: number): Promise<void> {
    if (this.latest > pos) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => w.wake(), Math.max(0, ms));
      w.pos = pos;
      w.wake = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
        w.wake = () => {};
        if (this.waiters.size === 0) this.stopPolling();
        resolve();
      };
      this.waiters.add(w);
      this.startPolling();
    });
  }

  private startPolling(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.latest = await this.source.head();
      for (const w of this.waiters) if (this.latest > w.pos) w.wake();
    } catch {
      // The next poll tries again; a stream's own query reports a lasting failure.
    } finally {
      this.polling = false;
    }
  }
}

function format(item: SinceItem): string {
  return `id: ${item.seq}\nevent: ${item.kind}\ndata: ${JSON.stringify(item)}\n\n`;
}

/** Refuses a position beyond the head: the client holds a position from another history. */
function checkPosition(from: number, head: number, param: string): void {
  if (from > head)
    throw badParam(
      param,
      `sequence ${from} is past the newest record (${head}); this history may have been restored from an older backup: resume from ${head} or start without a position`,
    );
}
