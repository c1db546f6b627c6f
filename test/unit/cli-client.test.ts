// How the CLI explains a failed request: the operator's problems and the API server proxy's
// answers each become one line saying what to do. And where its credentials go with --server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Response } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, Client, connect, type ConnectionOptions } from '../../src/cli/client.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { isLoopback } from '../../src/loopback.ts';

const proxy = { namespace: 'hindsight-system', service: 'hindsight' };

function answering(status: number, type: string, body: unknown, viaProxy = true) {
  const sent: Record<string, string>[] = [];
  const client = new Client(
    (_path, _query, headers) => {
      sent.push(headers);
      return Promise.resolve(
        new Response(typeof body === 'string' ? body : JSON.stringify(body), {
          status,
          headers: { 'content-type': type },
        }),
      );
    },
    'the operator',
    'tok',
    viaProxy ? proxy : undefined,
  );
  return { client, sent };
}

async function failure(client: Client): Promise<ApiError | Error> {
  try {
    await client.get('/api/v1/resources');
  } catch (err) {
    return err as Error;
  }
  throw new Error('the request succeeded');
}

const problem = (status: number, detail: string) => ({
  type: 'about:blank',
  title: 'x',
  status,
  detail,
});
const kubeStatus = (code: number, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  code,
});

describe('Client', () => {
  it('sends the token in Authorization and X-Hindsight-Authorization', async () => {
    const { client, sent } = answering(200, 'application/json', { items: [], next: null });
    await client.get('/api/v1/resources');
    expect(sent[0]).toMatchObject({
      authorization: 'Bearer tok',
      'x-hindsight-authorization': 'Bearer tok',
    });
  });

  it.each([
    [
      401,
      'the API server does not accept this bearer token',
      /^the operator did not accept the bearer token \(the API server does not accept this bearer token\); get a fresh one/,
    ],
    [
      401,
      'send a Kubernetes bearer token in the Authorization header',
      /^the operator received no bearer token through the API server proxy: it is older than this CLI/,
    ],
    [403, 'a backup needs hindsight-backup', /^the operator refused: a backup needs/],
    [400, 'from: bad', /^the operator refused a parameter: from: bad$/],
    [404, 'nothing recorded', /^nothing recorded$/],
    [500, 'boom', /^the operator failed \(HTTP 500: boom\); see its logs/],
  ])('explains the operator answering %i', async (status, detail, message) => {
    const err = await failure(
      answering(status, 'application/problem+json', problem(status, detail)).client,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(status);
    expect(err.message).toMatch(message);
  });

  it.each([
    [
      401,
      'Unauthorized',
      /^the Kubernetes API server did not accept the kube context's credentials/,
    ],
    [
      403,
      'services "hindsight" is forbidden: User "jane" cannot get resource "services/proxy"',
      /^the Kubernetes API server does not let you reach the operator through its proxy \(services "hindsight" is forbidden.*\); you need 'get' on services\/proxy for Service hindsight-system\/hindsight, or use --server/,
    ],
    [
      404,
      'services "hindsight" not found',
      /^the Kubernetes API server has no Service hindsight-system\/hindsight to reach the operator through .*is the operator installed\?/,
    ],
    [
      503,
      'no endpoints available for service "hindsight"',
      /^the Kubernetes API server cannot reach the operator behind Service hindsight-system\/hindsight \(no endpoints available/,
    ],
  ])('explains the API server proxy answering %i', async (status, text, message) => {
    const err = await failure(
      answering(status, 'application/json', kubeStatus(status, text)).client,
    );
    expect(err.message).toMatch(message);
  });

  it('says when --server is not a Hindsight operator', async () => {
    const err = await failure(answering(404, 'text/html', '<h1>Not Found</h1>', false).client);
    expect(err.message).toBe(
      'the operator answered /api/v1/resources with HTTP 404 (<h1>Not Found</h1>); is that a Hindsight operator?',
    );
  });
});

describe('connect with --server: the kube context token goes only where it is asked to', () => {
  let dir = '';
  let kubeconfig = '';
  /** What a real HTTP server received, and its URL. */
  const servers: Server[] = [];
  const serve = async (answer: (req: IncomingMessage, res: ServerResponse) => void) => {
    const seen: IncomingMessage['headers'][] = [];
    const srv = createServer((req, res) => {
      seen.push(req.headers);
      answer(req, res);
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen };
  };
  const page = (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"items":[],"next":null}');
  };
  const options = (server: string, more: Partial<ConnectionOptions> = {}): ConnectionOptions => ({
    kubeconfig,
    server,
    operatorNamespace: 'hindsight-system',
    operatorService: 'hindsight',
    operatorPort: 'http',
    operatorScheme: 'http',
    ...more,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-connect-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://cluster.invalid:6443"}}]
users: [{name: u, user: {token: "cluster-credential"}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]
current-context: x
`,
    );
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends no token unless one is given, and says so when the operator wants one', async () => {
    const open = await serve(page);
    const { client, namespace } = await connect(options(open.url));
    await client.get('/api/v1/resources');
    expect(namespace).toBe('shop');
    expect(open.seen[0]!.authorization).toBeUndefined();
    expect(open.seen[0]!['x-hindsight-authorization']).toBeUndefined();

    const guarded = await serve((_req, res) => {
      res.statusCode = 401;
      res.setHeader('content-type', 'application/problem+json');
      res.end(JSON.stringify(problem(401, 'send a bearer token')));
    });
    const err = await failure((await connect(options(guarded.url))).client);
    expect(err.message).toBe(
      `the operator at ${guarded.url} wants a bearer token (send a bearer token); pass --token TOKEN, or --use-kube-token to present the kube context's (loopback or https:// only)`,
    );
  });

  it('presents an explicit --token, and the kube context token with --use-kube-token to loopback', async () => {
    const srv = await serve(page);
    await (await connect(options(srv.url, { token: 'given' }))).client.get('/api/v1/resources');
    const local = srv.url.replace('127.0.0.1', 'localhost');
    await (await connect(options(local, { useKubeToken: true }))).client.get('/api/v1/resources');
    expect(srv.seen.map((h) => h.authorization)).toEqual([
      'Bearer given',
      'Bearer cluster-credential',
    ]);
    // The proxy's copy of the header is for the API server path only.
    expect(srv.seen.every((h) => h['x-hindsight-authorization'] === undefined)).toBe(true);
  });

  it('refuses --use-kube-token to a plain-http remote URL, and beside --token or without --server', async () => {
    await expect(connect(options('http://10.0.0.8:8080', { useKubeToken: true }))).rejects.toThrow(
      /^--use-kube-token sends the kube context's credentials only to a loopback or https:\/\/ --server, and 'http:\/\/10\.0\.0\.8:8080' is neither; pass --token TOKEN for this server$/,
    );
    await expect(
      connect(options('http://127.0.0.1:1', { useKubeToken: true, token: 't' })),
    ).rejects.toBeInstanceOf(UsageError);
    await expect(
      connect({ ...options('x', { useKubeToken: true }), server: undefined }),
    ).rejects.toThrow(/^--use-kube-token applies only with --server/);
  });

  it('does not follow a redirect, so the token stays with the server it was given to', async () => {
    const elsewhere = await serve(page);
    const redirecting = await serve((_req, res) => {
      res.statusCode = 307;
      res.setHeader('location', `${elsewhere.url}/api/v1/resources`);
      res.end();
    });
    const err = await failure((await connect(options(redirecting.url, { token: 't' }))).client);
    expect(err.message).toMatch(/answered \/api\/v1\/resources with HTTP 307/);
    expect(elsewhere.seen).toEqual([]);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.10.20.30', true],
    ['localhost', true],
    ['[::1]', true],
    ['10.0.0.8', false],
    ['127.example.com', false],
    ['localhost.example.com', false],
  ])('counts %s as loopback: %s', (host, loopback) => {
    expect(isLoopback(new URL(`http://${host}:8080`).hostname)).toBe(loopback);
  });
});
