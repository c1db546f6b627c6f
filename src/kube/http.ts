// Raw requests to the API server with the kubeconfig's credentials, for what the generated
// clients do not cover well: any resource by path (built-in or CRD), paginated lists, discovery
// and merge patches of status.
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Response } from 'undici';
import { toKubeError } from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeHttp {
  readonly kc: KubeConfig;
  private readonly server: string;

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  url(path: string, query?: Query): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends a request and parses the JSON answer; a non-2xx answer throws a KubeError. */
  async request<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    const url = this.url(path, opts.query);
    const what = `${method} ${path}`;
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    await this.kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body,
        dispatcher: ctx.getDispatcher(),
        signal: opts.signal,
      });
    } catch (err) {
      throw toKubeError(err, what);
    }
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      throw toKubeError(
        Object.assign(new Error(`HTTP ${res.status}`), { code: res.status, body: text }),
        what,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Sends a GET with the kubeconfig's TLS settings and credentials and returns the answer as it
   * is, whatever its status: for streams, downloads and callers that read errors themselves.
   * `token` replaces the kubeconfig's credentials with that bearer token.
   */
  async open(
    path: string,
    opts: { query?: Query; headers?: Record<string, string>; token?: string; signal?: AbortSignal },
  ): Promise<Response> {
    const url = this.url(path, opts.query);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await this.kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), ...opts.headers };
    if (opts.token !== undefined) {
      delete headers.authorization;
      headers.Authorization = `Bearer ${opts.token}`;
    }
    try {
      return await fetch(url, {
        headers,
        dispatcher: ctx.getDispatcher(),
        signal: opts.signal,
      });
    } catch (err) {
      throw toKubeError(err, `GET ${path}`);
    }
  }

  /** The bearer token the kubeconfig's credentials present (a token, token file or exec plugin), if any. */
  async bearerToken(): Promise<string | undefined> {
    const ctx = new RequestContext(this.server, HttpMethod.GET);
    await this.kc.applySecurityAuthentication(ctx);
    const headers = ctx.getHeaders();
    const value = headers.Authorization ?? headers.authorization ?? '';
    return /^Bearer\s+(\S+)$/i.exec(value)?.[1];
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }
}
