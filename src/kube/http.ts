// Raw requests to the API server with the kubeconfig's credentials, for what the generated
// clients do not cover well: any resource by path (built-in or CRD), paginated lists, discovery
// and merge patches of status.
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';
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

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }
}
