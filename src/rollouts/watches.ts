// The watches a tracker keeps, shared by everything tracked in a namespace: its Pods, its
// ReplicaSets (when a Deployment is tracked there), its Events, and one watch per tracked object
// (by name). Each is a list-then-watch cache (src/kube/list-watch.ts); a list refused for lack of
// access, or failing before the first answer, is an API error the tracker ends with.
import type { Discovery } from '../kube/discovery.ts';
import type { KubeError } from '../kube/errors.ts';
import type { KubeHttp } from '../kube/http.ts';
import { ListWatch, type Named } from '../kube/list-watch.ts';
import { createLogger } from '../log.ts';

/** Where the built-in workload kinds are served. */
const BUILT_IN: Record<string, { prefix: string; resource: string }> = {
  Deployment: { prefix: '/apis/apps/v1', resource: 'deployments' },
  StatefulSet: { prefix: '/apis/apps/v1', resource: 'statefulsets' },
  DaemonSet: { prefix: '/apis/apps/v1', resource: 'daemonsets' },
  ReplicaSet: { prefix: '/apis/apps/v1', resource: 'replicasets' },
  Job: { prefix: '/apis/batch/v1', resource: 'jobs' },
  Pod: { prefix: '/api/v1', resource: 'pods' },
};

/** Groups tried, in order, for a kind given without one (custom resources: every served group). */
const LIKELY_GROUPS = ['', 'apps', 'batch'];

export class ApiProblem extends Error {
  override name = 'ApiProblem';
}

/** The collection path of a kind in a namespace (or cluster-wide when it is cluster-scoped). */
export async function collectionPath(
  http: KubeHttp,
  discovery: Discovery,
  kind: string,
  namespace: string,
  group?: string,
): Promise<string> {
  const known = BUILT_IN[kind];
  if (known && group === undefined) {
    return `${known.prefix}/namespaces/${encodeURIComponent(namespace)}/${known.resource}`;
  }
  let groups = group !== undefined ? [group] : LIKELY_GROUPS;
  if (group === undefined) {
    const list = await http.get<{ groups: { name: string }[] }>('/apis').catch((err: unknown) => {
      throw new ApiProblem(`Cannot list the API groups: ${(err as Error).message}`, { cause: err });
    });
    groups = [...groups, ...list.groups.map((g) => g.name).filter((g) => !groups.includes(g))];
  }
  for (const g of groups) {
    const r = await discovery.resolve(g, kind);
    if ('error' in r) throw new ApiProblem(r.error);
    if ('found' in r) {
      const f = r.found;
      const prefix = f.group === '' ? `/api/${f.version}` : `/apis/${f.group}/${f.version}`;
      return f.namespaced
        ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${f.resource}`
        : `${prefix}/${f.resource}`;
    }
  }
  throw new NotServed(
    `kind ${kind}${group ? ` in group ${group}` : ''} is not served by this cluster`,
  );
}

/** The kind is not known to the API server: the object cannot exist. */
export class NotServed extends Error {
  override name = 'NotServed';
}

export interface WatchedCollection<T extends Named> {
  watch: ListWatch<T>;
  /** Resolves at the first successful list. */
  synced: Promise<void>;
}

const quiet = createLogger('error', () => undefined);

/** Starts a list-and-watch of `path`; `onChange` gets each changed name, `onError` each failure. */
export function watchCollection<T extends Named>(o: {
  http: KubeHttp;
  path: string;
  what: string;
  query?: Record<string, string>;
  onChange: (name: string) => void;
  onError: (err: KubeError, synced: boolean) => void;
}): WatchedCollection<T> {
  let resolve!: () => void;
  const synced = new Promise<void>((r) => (resolve = r));
  let isSynced = false;
  const watch = new ListWatch<T>({
    kc: o.http.kc,
    http: o.http,
    path: o.path,
    what: o.what,
    log: quiet,
    query: o.query,
    onChange: o.onChange,
    onSynced: () => {
      isSynced = true;
      resolve();
    },
    onError: (err) => o.onError(err, isSynced),
  });
  watch.start();
  return { watch, synced };
}
