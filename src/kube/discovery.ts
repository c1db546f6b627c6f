// Resolving a group and kind to the resource the API server serves it as. CRDs installed after
// start are found on the next lookup once the cached answer for their group has expired.
import { toKubeError } from './errors.ts';
import type { KubeHttp } from './http.ts';

export interface ResolvedKind {
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

export type Resolution = { found: ResolvedKind } | { notFound: string } | { error: string };

interface ApiResourceList {
  resources: {
    name: string;
    kind: string;
    namespaced: boolean;
    verbs?: string[];
    version?: string;
  }[];
}

interface ApiGroup {
  preferredVersion?: { version: string };
  versions?: { version: string }[];
}

export class Discovery {
  private readonly http: KubeHttp;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<
    string,
    { at: number; value: Promise<ApiResourceList | null> }
  >();

  constructor(http: KubeHttp, opts: { ttlMs?: number; now?: () => number } = {}) {
    this.http = http;
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** Forgets cached answers, so the next lookup asks the API server again. */
  invalidate(): void {
    this.cache.clear();
  }

  private resources(group: string): Promise<ApiResourceList | null> {
    const hit = this.cache.get(group);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.fetch(group);
    this.cache.set(group, { at: this.now(), value });
    value.catch(() => this.cache.delete(group));
    return value;
  }

  private async fetch(group: string): Promise<ApiResourceList | null> {
    if (group === '') return this.http.get<ApiResourceList>('/api/v1');
    try {
      const g = await this.http.get<ApiGroup>(`/apis/${group}`);
      const version = g.preferredVersion?.version ?? g.versions?.[0]?.version;
      if (!version) return null;
      const list = await this.http.get<ApiResourceList>(`/apis/${group}/${version}`);
      return { resources: list.resources.map((r) => ({ ...r, version })) };
    } catch (err) {
      if (toKubeError(err, 'discovery').reason === 'NotFound') return null;
      throw err;
    }
  }

  async resolve(group: string, kind: string): Promise<Resolution> {
    let list: ApiResourceList | null;
    try {
      list = await this.resources(group);
    } catch (err) {
      return { error: toKubeError(err, `discovery of group '${group}'`).message };
    }
    const groupName = group === '' ? 'the core group' : `group ${group}`;
    const r = list?.resources.find((x) => x.kind === kind && !x.name.includes('/'));
    if (!r) {
      // Not cached: a CRD installed a moment from now must be found on the next attempt.
      this.cache.delete(group);
      return {
        notFound: `kind ${kind} in ${groupName} is not served by this cluster${list ? '' : ' (no such API group)'}`,
      };
    }
    const version = r.version ?? 'v1';
    return {
      found: {
        group,
        version,
        kind,
        resource: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      },
    };
  }
}
