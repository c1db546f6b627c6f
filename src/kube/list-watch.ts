// Keeps a cache of a (small) collection of objects current: lists it, watches from the list's
// resourceVersion, and lists again when the watch ends or fails. Each object that changes, and
// each that disappears between lists, is handed to `onChange` by name.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { sleep } from '../runtime/sleep.ts';
import { toKubeError, type KubeError } from './errors.ts';
import type { KubeHttp } from './http.ts';

export interface Named {
  metadata: { name: string };
}

export interface ListWatchOptions {
  kc: KubeConfig;
  http: KubeHttp;
  path: string;
  /** What is listed, for messages: e.g. `Sinks`. */
  what: string;
  log: Logger;
  onChange: (name: string) => void;
  /** After each successful list. */
  onSynced?: () => void;
  /** Selectors and the like, sent with the list and the watch. */
  query?: Record<string, string>;
  /** Each failed list, before the retry (which still happens unless `stop()` is called). */
  onError?: (err: KubeError) => void;
}

export class ListWatch<T extends Named> {
  readonly cache = new Map<string, T>();
  private readonly o: ListWatchOptions;
  private readonly stopCtl = new AbortController();
  private watchCtl: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private synced = false;

  constructor(o: ListWatchOptions) {
    this.o = o;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.watchCtl?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { http, log } = this.o;
    let attempt = 0;
    while (!this.stopCtl.signal.aborted) {
      try {
        const list = await http.get<{ metadata: { resourceVersion: string }; items: T[] }>(
          this.o.path,
          this.o.query,
        );
        const names = new Set(list.items.map((p) => p.metadata.name));
        for (const name of [...this.cache.keys()]) {
          if (!names.has(name)) {
            this.cache.delete(name);
            this.o.onChange(name);
          }
        }
        for (const p of list.items) this.cache.set(p.metadata.name, p);
        for (const name of names) this.o.onChange(name);
        this.synced = true;
        this.o.onSynced?.();
        attempt = 0;
        await this.watch(list.metadata.resourceVersion);
      } catch (err) {
        if (this.stopCtl.signal.aborted) break;
        const e = toKubeError(err, `list ${this.o.what}`);
        this.o.onError?.(e);
        if (this.stopCtl.signal.aborted) break;
        const delay = Math.min(30_000, 500 * 2 ** attempt++);
        log.warn(
          e.reason === 'NotFound'
            ? `${this.o.what} cannot be listed: their CRD is not installed; apply crds/ and retrying`
            : `Listing ${this.o.what} failed; retrying`,
          { error: e.message, retryInMs: delay },
        );
        await sleep(delay, this.stopCtl.signal);
      }
    }
  }

  /** Watches until the watch ends; the caller lists again. */
  private watch(rv: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      new Watch(this.o.kc)
        .watch(
          this.o.path,
          { ...this.o.query, resourceVersion: rv, allowWatchBookmarks: true },
          (type: string, obj: T) => {
            if (type === 'ADDED' || type === 'MODIFIED') this.cache.set(obj.metadata.name, obj);
            else if (type === 'DELETED') this.cache.delete(obj.metadata.name);
            else return;
            this.o.onChange(obj.metadata.name);
          },
          (err: unknown) =>
            err && (err as Error).name !== 'AbortError' && (err as Error).name !== 'TimeoutError'
              ? reject(err as Error)
              : resolve(),
        )
        .then((ctl) => {
          this.watchCtl = ctl;
          if (this.stopCtl.signal.aborted) ctl.abort();
        }, reject);
    });
  }
}
