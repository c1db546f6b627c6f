// A minimal Server-Sent Events reader for tests: collects messages until `until` says stop.
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

export async function readSse(
  url: string,
  until: (got: SseMessage[]) => boolean,
  headers: Record<string, string> = {},
): Promise<SseMessage[]> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers, signal: ctl.signal });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) throw new Error(`${url} answered ${type}`);
  const got: SseMessage[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const m: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) m.comment = line.slice(1).trim();
          const i = line.indexOf(': ');
          if (i > 0) (m as Record<string, string>)[line.slice(0, i)] = line.slice(i + 2);
        }
        got.push(m);
      }
      if (until(got)) break;
    }
  } finally {
    ctl.abort();
  }
  return got;
}

/** The data of the messages that carry some, parsed. */
export function sseData<T>(got: SseMessage[]): T[] {
  return got.filter((m) => m.data !== undefined).map((m) => JSON.parse(m.data!) as T);
}
