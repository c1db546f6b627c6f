// Reaching the operator's REST API: by default through the Kubernetes API server's service proxy
// with the kube context's credentials (nothing to port-forward), or at an explicit --server URL.
// The kube context's token goes to a --server only when asked (--use-kube-token) and only to a
// loopback or https:// URL: a mistyped or hostile URL must not collect cluster credentials.
// Every failure becomes one line saying what it means and what to do.
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import { ConnectError, loadKubeConfig } from '../kube/connect.ts';
import { KubeError } from '../kube/errors.ts';
import { KubeHttp } from '../kube/http.ts';
import { isLoopback } from '../loopback.ts';
import { CliError, UsageError } from './errors.ts';

export type Query = Record<string, string | number | undefined>;

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  server?: string;
  token?: string;
  /** With `server`: present the kube context's token (loopback or https only). */
  useKubeToken?: boolean;
  operatorNamespace: string;
  operatorService: string;
  operatorPort: string;
  /** How the API server's proxy talks to the operator: https (the manifests') or http. */
  operatorScheme: 'http' | 'https';
  /** With `server`: a PEM file of the CA that signed the operator's certificate. */
  serverCa?: string;
}

/** An answer of the operator that is not a success; `status` 404 means "nothing recorded". */
export class ApiError extends CliError {
  override name = 'ApiError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

type Send = (
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
  signal?: AbortSignal,
) => Promise<Response>;

/** The operator's API, however it is reached. Paths start with `/api/v1/`. */
export class Client {
  private readonly send: Send;
  private readonly token: string | undefined;
  /** For messages: where requests go. */
  readonly where: string;
  private readonly viaProxy: { namespace: string; service: string } | undefined;
  /** A --server reached without a token: a 401 means one is needed, not that it was refused. */
  private readonly tokenless: boolean;

  constructor(
    send: Send,
    where: string,
    token: string | undefined,
    viaProxy?: { namespace: string; service: string },
    tokenless = false,
  ) {
    this.send = send;
    this.where = where;
    this.token = token;
    this.viaProxy = viaProxy;
    this.tokenless = tokenless;
  }

  /** GETs and parses JSON; a non-2xx answer throws an ApiError or CliError with one line. */
  async get<T>(path: string, query: Query = {}): Promise<T> {
    const res = await this.open(path, query, { accept: 'application/json' });
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new CliError(`${this.where} answered ${path} with something that is not JSON`, {
        cause: err,
      });
    }
  }

  /** GETs and returns the successful answer unread (streams, downloads). */
  async open(
    path: string,
    query: Query = {},
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = String(v);
    const all = { ...headers };
    if (this.token !== undefined) {
      all.authorization = `Bearer ${this.token}`;
      // The API server's proxy removes Authorization once it has authenticated the caller; the
      // operator checks this copy instead. A --server gets only the standard header.
      if (this.viaProxy) all['x-hindsight-authorization'] = `Bearer ${this.token}`;
    }
    let res: Response;
    try {
      res = await this.send(path, q, all, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw this.unreachable(err);
    }
    if (res.ok) return res;
    throw await this.failure(res, path);
  }

  private unreachable(err: unknown): CliError {
    const detail = err instanceof KubeError ? err.message.replace(/^GET \S+: /, '') : causeOf(err);
    if (this.viaProxy) {
      return new CliError(
        `cannot reach the Kubernetes API server (${detail}); check the kube context with 'kubectl cluster-info'`,
        { cause: err },
      );
    }
    return new CliError(
      `cannot reach the operator at ${this.where} (${detail}); check that it runs and that --server is right (for a port-forward: kubectl -n hindsight-system port-forward svc/hindsight 8080:http)`,
      { cause: err },
    );
  }

  private async failure(res: Response, path: string): Promise<CliError> {
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text().catch(() => '');
    let body: { detail?: string; message?: string; kind?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: described below by status alone
    }
    if (type.includes('application/problem+json')) {
      const detail = body.detail ?? `HTTP ${res.status}`;
      switch (res.status) {
        case 401:
          if (this.viaProxy && /^send a /.test(detail)) {
            return new ApiError(
              401,
              'the operator received no bearer token through the API server proxy: it is older than this CLI and does not read X-Hindsight-Authorization; upgrade it, or port-forward to it and use --server',
            );
          }
          if (this.tokenless) {
            return new ApiError(
              401,
              `the operator at ${this.where} wants a bearer token (${detail}); pass --token TOKEN, or --use-kube-token to present the kube context's (loopback or https:// only)`,
            );
          }
          return new ApiError(
            401,
            `the operator did not accept the bearer token (${detail}); get a fresh one (for example --token $(kubectl create token NAME -n NAMESPACE)) or log in to the cluster again`,
          );
        case 403:
          return new ApiError(403, `the operator refused: ${detail}`);
        case 404:
          return new ApiError(404, detail);
        case 400:
          return new ApiError(400, `the operator refused a parameter: ${detail}`);
        default:
          return new ApiError(
            res.status,
            `the operator failed (HTTP ${res.status}: ${detail}); see its logs (kubectl -n hindsight-system logs statefulset/hindsight)`,
          );
      }
    }
    const message =
      body.kind === 'Status' && body.message ? body.message : text.trim().slice(0, 200);
    if (this.viaProxy) {
      const { namespace, service } = this.viaProxy;
      const svc = `Service ${namespace}/${service}`;
      switch (res.status) {
        case 401:
          return new CliError(
            `the Kubernetes API server did not accept the kube context's credentials (${message}); log in again or pass --context`,
          );
        case 403:
          return new CliError(
            `the Kubernetes API server does not let you reach the operator through its proxy (${message}); you need 'get' on services/proxy for ${svc}, or use --server with a port-forward`,
          );
        case 404:
          return new CliError(
            `the Kubernetes API server has no ${svc} to reach the operator through (${message}); is the operator installed? Check 'kubectl -n ${namespace} get service ${service}', or pass --operator-namespace/--operator-service`,
          );
        case 502:
        case 503:
          return new CliError(
            `the Kubernetes API server cannot reach the operator behind ${svc} (${message}); check 'kubectl -n ${namespace} get endpoints,pods'`,
          );
        default:
          break;
      }
    }
    return new CliError(
      `${this.where} answered ${path} with HTTP ${res.status}${message ? ` (${message})` : ''}; is that a Hindsight operator?`,
    );
  }
}

/** The innermost error code (ECONNREFUSED…) or message of a failed request. */
export function causeOf(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (!(e as { cause?: unknown }).cause) return (e as Error).message;
    e = (e as { cause?: unknown }).cause;
  }
  return String(err);
}

export interface Connected {
  client: Client;
  /** The kube context's namespace, or `default`. */
  namespace: string;
}

const KUBECONFIG_HINT =
  'pass --kubeconfig or --context, or reach the operator directly with --server URL --token TOKEN';

/** Builds the client the flags ask for. */
export async function connect(o: ConnectionOptions): Promise<Connected> {
  if (o.server !== undefined) return direct(o);
  if (o.useKubeToken) {
    throw new UsageError(
      '--use-kube-token applies only with --server; through the API server the kube context is used anyway',
    );
  }
  let loaded;
  try {
    loaded = loadKubeConfig({
      kubeconfig: o.kubeconfig,
      context: o.context,
      hint: KUBECONFIG_HINT,
    });
  } catch (err) {
    if (err instanceof ConnectError) throw new CliError(lowerFirst(err.message), { cause: err });
    throw err;
  }
  const { kc, context } = loaded;
  const http = new KubeHttp(kc);
  const token = o.token ?? (await http.bearerToken());
  if (token === undefined) {
    throw new CliError(
      `the kube context '${context}' has no bearer token (it uses a client certificate or another method the operator cannot check through the API server proxy); pass --token $(kubectl create token NAME -n NAMESPACE), or port-forward to the operator and use --server http://127.0.0.1:8080 --token ...`,
    );
  }
  const port = o.operatorPort;
  const base = `/api/v1/namespaces/${encodeURIComponent(o.operatorNamespace)}/services/${o.operatorScheme}:${encodeURIComponent(o.operatorService)}:${encodeURIComponent(port)}/proxy`;
  const send: Send = (path, query, headers, signal) =>
    http.open(`${base}${path}`, { query, headers, token, signal });
  const server = kc.getCurrentCluster()?.server ?? '';
  return {
    client: new Client(
      send,
      `the operator (Service ${o.operatorNamespace}/${o.operatorService} through ${server})`,
      token,
      { namespace: o.operatorNamespace, service: o.operatorService },
    ),
    namespace: kc.getContextObject(context)?.namespace ?? 'default',
  };
}

async function direct(o: ConnectionOptions): Promise<Connected> {
  let url: URL;
  try {
    url = new URL(o.server!);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--server '${o.server}' is not an http:// or https:// URL`);
  }
  const base = url.toString().replace(/\/+$/, '');
  if (o.useKubeToken && o.token !== undefined) {
    throw new UsageError('--use-kube-token and --token both name the token to present; pass one');
  }
  if (o.useKubeToken && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
    throw new UsageError(
      `--use-kube-token sends the kube context's credentials only to a loopback or https:// --server, and '${base}' is neither; pass --token TOKEN for this server`,
    );
  }
  // The kube context is optional here: it supplies the namespace and, when asked, the token.
  let namespace = 'default';
  let token = o.token;
  try {
    const { kc, context } = loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context });
    namespace = kc.getContextObject(context)?.namespace ?? 'default';
    if (o.useKubeToken) {
      token = await new KubeHttp(kc).bearerToken();
      if (token === undefined) {
        throw new CliError(
          `the kube context '${context}' has no bearer token to present (--use-kube-token); pass --token $(kubectl create token NAME -n NAMESPACE)`,
        );
      }
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (o.kubeconfig !== undefined || o.context !== undefined || o.useKubeToken) {
      throw new CliError(lowerFirst((err as Error).message), { cause: err });
    }
  }
  let dispatcher: Agent | undefined;
  if (o.serverCa !== undefined) {
    if (url.protocol !== 'https:') {
      throw new UsageError(`--server-ca is for an https:// --server, and '${base}' is not one`);
    }
    let ca: Buffer;
    try {
      ca = readFileSync(o.serverCa);
    } catch (err) {
      throw new UsageError(
        `--server-ca ${o.serverCa} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    dispatcher = new Agent({ connect: { ca } });
  }
  const send: Send = (path, query, headers, signal) => {
    const qs = new URLSearchParams(query).toString();
    // No redirects: the token would follow them to wherever they point.
    return fetch(`${base}${path}${qs ? `?${qs}` : ''}`, {
      headers,
      signal,
      redirect: 'manual',
      ...(dispatcher ? { dispatcher } : {}),
    });
  };
  return { client: new Client(send, base, token, undefined, token === undefined), namespace };
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1).replace(/\.$/, '');
}
