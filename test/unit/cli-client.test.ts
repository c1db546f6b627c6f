// How the CLI explains a failed request: the operator's problems and the API server proxy's
// answers each become one line saying what to do.
import { Response } from 'undici';
import { describe, expect, it } from 'vitest';
import { ApiError, Client } from '../../src/cli/client.ts';

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
