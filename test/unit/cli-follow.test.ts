// `follow` against a stand-in operator that implements the stream's contract and drops
// connections: every record is printed once, in order, and a reconnect resumes with Last-Event-ID.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../src/cli/client.ts';
import { itemLine, streamItems } from '../../src/cli/commands/follow.ts';
import type { SinceItem } from '../../src/store/queries/types.ts';

const T = Date.parse('2026-11-22T10:00:00Z');

function version(seq: number): SinceItem {
  return {
    kind: 'version',
    seq,
    time: T + seq * 1000,
    object: {
      uid: 'u1',
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      resource: 'deployments',
      namespace: 'shop',
      name: 'web',
      createdAt: T,
      deletedAt: null,
      deletion: null,
      owner: null,
      node: null,
      labels: {},
      services: [],
      versions: seq,
      lastChange: T + seq * 1000,
    },
    version: {
      seq,
      rv: String(seq),
      time: T + seq * 1000,
      type: 'modified',
      inferred: false,
      actor: 'kubectl-edit (Update)',
      paths: ['spec.replicas'],
    },
  };
}

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** Serves `/api/v1/stream` from `records` (by seq), and lets `onRequest` cut the connection. */
async function standIn(
  records: SinceItem[],
  behave: (req: IncomingMessage, res: ServerResponse, n: number) => 'cut' | 'serve' | 'end',
): Promise<{ client: Client; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  server = createServer((req, res) => {
    requests.push(req);
    const url = new URL(req.url!, 'http://x');
    const header = req.headers['last-event-id'];
    const from = Number(header ?? url.searchParams.get('since') ?? 0);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`retry: 2000\nid: ${from}\n\n: keepalive\n\n`);
    const mode = behave(req, res, requests.length);
    const after = records.filter((r) => r.seq > from);
    // Two records per connection, then a cut (as a network failure) or an end (as the server's
    // maximum stream duration).
    for (const r of after.slice(0, 2))
      res.write(`id: ${r.seq}\nevent: ${r.kind}\ndata: ${JSON.stringify(r)}\n\n`);
    if (mode === 'cut' && after.length > 2) setTimeout(() => res.socket?.destroy(), 20);
    else if (mode === 'end' || after.length <= 2) res.end();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const { client } = await connect({
    server: `http://127.0.0.1:${port}`,
    token: 't0ken',
    operatorNamespace: 'hindsight-system',
    operatorService: 'hindsight',
    operatorPort: 'http',
    operatorScheme: 'http',
  });
  return { client, requests };
}

async function follow(client: Client, until: number, opts: { sinceSeq?: number } = {}) {
  const abort = new AbortController();
  const seen: number[] = [];
  const notes: string[] = [];
  await streamItems(
    client,
    {
      namespace: 'shop',
      kinds: ['Deployment', 'Event'],
      sinceSeq: opts.sinceSeq,
      signal: abort.signal,
      notify: (m) => notes.push(m),
      delay: () => Promise.resolve(),
    },
    (item) => {
      seen.push(item.seq);
      if (item.seq >= until) abort.abort();
    },
  );
  return { seen, notes };
}

describe('follow', () => {
  it('resumes after dropped connections from the last id, without repeats or gaps', async () => {
    const records = [1, 2, 3, 5, 8, 9, 10].map(version);
    const { client, requests } = await standIn(records, () => 'cut');
    const { seen, notes } = await follow(client, 10, { sinceSeq: 0 });
    expect(seen).toEqual([1, 2, 3, 5, 8, 9, 10]);
    expect(requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '2', '5', '9']);
    expect(new URL(requests[0]!.url!, 'http://x').searchParams.toString()).toBe(
      'namespace=shop&kinds=Deployment%2CEvent&since=0',
    );
    // Straight to the operator: the token in Authorization only (the copy is for the proxy).
    expect(requests[0]!.headers.authorization).toBe('Bearer t0ken');
    expect(requests[0]!.headers['x-hindsight-authorization']).toBeUndefined();
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/^the stream was interrupted \(.+\); resuming after seq 2$/);
  });

  it('resumes quietly when the server ends a stream', async () => {
    const { client, requests } = await standIn([1, 2, 3].map(version), () => 'end');
    const { seen, notes } = await follow(client, 3);
    expect(seen).toEqual([1, 2, 3]);
    expect(requests[1]!.headers['last-event-id']).toBe('2');
    expect(notes).toEqual([]);
  });

  it('does not print a record twice when a server repeats one', async () => {
    const records = [1, 2, 3, 4].map(version);
    const { client } = await standIn(records, (req, res) => {
      // A server resuming one too early: the last record seen comes again.
      if (req.headers['last-event-id'] === '2') {
        res.write(`id: 2\nevent: version\ndata: ${JSON.stringify(records[1])}\n\n`);
      }
      return 'cut';
    });
    expect((await follow(client, 4)).seen).toEqual([1, 2, 3, 4]);
  });

  it('fails with one line when the operator has no stream or cannot be reached', async () => {
    server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Not found',
          status: 404,
          detail: 'nothing at /api/v1/stream',
        }),
      );
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const base = {
      token: 't',
      operatorNamespace: 'n',
      operatorService: 's',
      operatorPort: 'http',
      operatorScheme: 'http' as const,
    };
    const { client } = await connect({ ...base, server: `http://127.0.0.1:${port}` });
    await expect(follow(client, 1)).rejects.toThrow(/^the operator has no live stream/);
    server.close();
    server = undefined;
    const gone = await connect({ ...base, server: `http://127.0.0.1:${port}` });
    await expect(follow(gone.client, 1)).rejects.toThrow(
      new RegExp(`^cannot reach the operator at http://127.0.0.1:${port} \\(ECONNREFUSED\\)`),
    );
  });
});

describe('itemLine', () => {
  it('prints a version and an Event occurrence on one line each', () => {
    expect(itemLine(version(4), { color: false })).toBe(
      '2026-11-22T10:00:04Z  shop  deployment/web  modified spec.replicas (kubectl-edit (Update))',
    );
    const occurrence: SinceItem = {
      kind: 'occurrence',
      seq: 5,
      time: T,
      event: {
        uid: 'e1',
        namespace: 'shop',
        name: 'web.1',
        involved: { group: '', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'p1' },
        reason: 'BackOff',
        type: 'Warning',
        message: 'Back-off restarting\nfailed container',
        source: 'kubelet',
        firstTime: T,
        lastTime: T,
        count: 3,
        occurrences: [{ seq: 5, time: T, count: 3 }],
      },
    };
    expect(itemLine(occurrence, { color: false })).toBe(
      '2026-11-22T10:00:00Z  shop  pod/web-1  Event Warning BackOff: Back-off restarting failed container',
    );
  });
});
