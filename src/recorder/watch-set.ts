// The watch set: which resources are watched, in which scope, and the reflectors doing it.
// Watches are shared between policies: one per resource and scope, stopped when no policy
// needs it any more.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ReadinessCheck } from '../http/health.ts';
import type { ResolvedKind } from '../kube/discovery.ts';
import type { KubeHttp } from '../kube/http.ts';
import {
  Reflector,
  type ReflectorMetrics,
  type ReflectorState,
  type WatchTarget,
} from '../kube/reflector.ts';
import type { Logger } from '../log.ts';
import type { HistoryWriter } from '../store/writer.ts';
import type { CompiledPolicy } from './policy.ts';
import type { Recorder } from './recorder.ts';

/** How long a watch may fail (Error or Forbidden) before the operator reports itself not ready. */
export const WATCH_FAILURE_THRESHOLD_MS = 5 * 60_000;

export const EVENTS: ResolvedKind = {
  group: '',
  version: 'v1',
  kind: 'Event',
  resource: 'events',
  namespaced: true,
  verbs: ['list', 'watch'],
};

export const NAMESPACES: ResolvedKind = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  namespaced: false,
  verbs: ['list', 'watch'],
};

export function watchKey(r: { group: string; resource: string }, namespace: string | null): string {
  return `${r.group}/${r.resource}${namespace === null ? '' : `@${namespace}`}`;
}

function target(r: ResolvedKind, namespace: string | null): WatchTarget {
  return {
    key: watchKey(r, namespace),
    group: r.group,
    version: r.version,
    kind: r.kind,
    resource: r.resource,
    namespace,
  };
}

/**
 * The watches the policies need. A namespaced resource is watched per namespace when every
 * policy selecting it lists the namespaces to include (least privilege: a RoleBinding per
 * namespace suffices), otherwise cluster-wide.
 */
export function desiredWatches(
  policies: readonly { policy: CompiledPolicy; kinds: readonly ResolvedKind[] }[],
): WatchTarget[] {
  const byResource = new Map<string, { r: ResolvedKind; scopes: (ReadonlySet<string> | null)[] }>();
  const add = (r: ResolvedKind, p: CompiledPolicy) => {
    const k = `${r.group}/${r.resource}`;
    let e = byResource.get(k);
    if (!e) byResource.set(k, (e = { r, scopes: [] }));
    e.scopes.push(r.namespaced ? p.include : null);
  };
  for (const { policy, kinds } of policies) {
    for (const r of kinds) add(r, policy);
    if (policy.events) add(EVENTS, policy);
    if (policy.namespaceSelector) add(NAMESPACES, policy);
  }
  const out: WatchTarget[] = [];
  for (const { r, scopes } of byResource.values()) {
    if (scopes.some((s) => s === null)) out.push(target(r, null));
    else {
      const namespaces = new Set<string>();
      for (const s of scopes) for (const ns of s ?? []) namespaces.add(ns);
      for (const ns of [...namespaces].sort()) out.push(target(r, ns));
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export interface WatchStatus {
  state: ReflectorState | 'Pending';
  message: string;
  /** When the watch entered this state (ms). */
  since: number;
}

export interface WatchSetOptions {
  kc: KubeConfig;
  http: KubeHttp;
  recorder: Recorder;
  writer: HistoryWriter;
  log: Logger;
  metrics?: ReflectorMetrics;
  /** Called when the state of a watch changes, e.g. to requeue the policies using it. */
  onChange?: (key: string) => void;
  /** The clock of watch states (ms). */
  now?: () => number;
}

export class WatchSet {
  private readonly o: WatchSetOptions;
  private readonly running = new Map<string, { reflector: Reflector; status: WatchStatus }>();
  private readonly now: () => number;

  constructor(opts: WatchSetOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Starts the watches that are missing and stops those no longer desired. */
  async update(desired: readonly WatchTarget[]): Promise<void> {
    const want = new Map(desired.map((t) => [t.key, t]));
    const stopping: Promise<void>[] = [];
    for (const [key, w] of this.running) {
      const t = want.get(key);
      if (!t || t.version !== w.reflector.target.version) {
        this.running.delete(key);
        this.o.log.info('Stopped watch', { watch: key });
        stopping.push(w.reflector.stop());
      }
    }
    await Promise.all(stopping);
    for (const [key, t] of want) {
      if (this.running.has(key)) continue;
      const entry = {
        reflector: this.reflector(t),
        status: { state: 'Pending', message: 'starting', since: this.now() } as WatchStatus,
      };
      this.running.set(key, entry);
      this.o.log.info('Started watch', { watch: key });
      entry.reflector.start();
    }
  }

  private reflector(t: WatchTarget): Reflector {
    const { kc, http, recorder, writer, log, metrics } = this.o;
    return new Reflector({
      kc,
      http,
      target: t,
      sink: (target, items) => recorder.write(target, items),
      checkpoint: () => writer.checkpoint(t.key),
      log: log.child({ watch: t.key }),
      metrics,
      onState: (state, message) => {
        const entry = this.running.get(t.key);
        if (entry) entry.status = { state, message, since: this.now() };
        this.o.onChange?.(t.key);
      },
    });
  }

  status(key: string): WatchStatus | undefined {
    return this.running.get(key)?.status;
  }

  keys(): string[] {
    return [...this.running.keys()];
  }

  /** Watches that have been failing (Error or Forbidden) for longer than `ms`. */
  failingLongerThan(ms: number, now = this.now()): string[] {
    return [...this.running]
      .filter(
        ([, w]) =>
          (w.status.state === 'Error' || w.status.state === 'Forbidden') &&
          now - w.status.since > ms,
      )
      .map(([key]) => key);
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((w) => w.reflector.stop()));
  }
}

/** The readiness check of the watches: not ready while one has been failing longer than `ms`. */
export function watchesReadiness(set: WatchSet, ms = WATCH_FAILURE_THRESHOLD_MS): ReadinessCheck {
  return () => {
    const failing = set.failingLongerThan(ms);
    return failing.length === 0
      ? { ok: true }
      : {
          ok: false,
          message: `watches failing for more than ${ms / 60_000} minutes: ${failing.join(', ')}`,
        };
  };
}
