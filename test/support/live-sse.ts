// A Server-Sent Events stream kept open while a test changes the world around it: its messages
// are collected as they come, so the test can wait on what arrived and see where the stream is.
import type { SseMessage } from './sse.ts';

export class LiveSse {
  /** Every message so far, in order. */
  readonly messages: SseMessage[] = [];
  /** Resolves when the stream ends, whoever ends it: with why, when it broke rather than ended. */
  readonly ended: Promise<Error | null>;
  /** Whether the stream has ended. */
  done = false;
  private readonly ctl: AbortController;

  private constructor(body: AsyncIterable<Uint8Array>, ctl: AbortController) {
    this.ctl = ctl;
    this.ended = this.collect(body).finally(() => {
      this.done = true;
    });
  }

  /** Opens the stream; throws unless it is answered 200 with text/event-stream. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<LiveSse> {
    const ctl = new AbortController();
    const res = await fetch(url, { headers, signal: ctl.signal });
    const type = res.headers.get('content-type') ?? '';
    if (res.status !== 200 || !type.startsWith('text/event-stream')) {
      ctl.abort();
      throw new Error(`${url} answered ${res.status} ${type}`);
    }
    return new LiveSse(res.body as AsyncIterable<Uint8Array>, ctl);
  }

  /** The data of the messages that carry some, parsed. */
  data<T>(): T[] {
    return this.messages.filter((m) => m.data !== undefined).map((m) => JSON.parse(m.data!) as T);
  }

  /** The last id the server sent: the sequence number the stream has read up to. */
  get position(): number {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const id = this.messages[i]!.id;
      if (id !== undefined) return Number(id);
    }
    return -1;
  }

  close(): Promise<Error | null> {
    this.ctl.abort();
    return this.ended;
  }

  private async collect(body: AsyncIterable<Uint8Array>): Promise<Error | null> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const m: SseMessage = {};
          for (const line of buf.slice(0, end).split('\n')) {
            if (line.startsWith(':')) m.comment = line.slice(1).trim();
            const i = line.indexOf(': ');
            if (i > 0) (m as Record<string, string>)[line.slice(0, i)] = line.slice(i + 2);
          }
          buf = buf.slice(end + 2);
          this.messages.push(m);
        }
      }
      return null;
    } catch (err) {
      return this.ctl.signal.aborted ? null : (err as Error);
    }
  }
}
