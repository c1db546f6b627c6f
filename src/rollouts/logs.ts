// Container logs of a tracked workload's new Pods, from the start of tracking, each line once.
// A follow stream of the API server can end early (kubernetes#104580; the client library's own
// TODO says so), so it is re-opened from the last second seen (`sinceTime` has second
// precision) and the lines seen again are dropped by their timestamp. After a restart, the
// previous container's lines not yet printed are fetched first (`previous=true`).
import type { KubeHttp } from '../kube/http.ts';
import { sleep } from '../runtime/sleep.ts';

export interface LogLine {
  pod: string;
  container: string;
  /** The kubelet's RFC 3339 timestamp of the line. */
  time: string;
  text: string;
}

/** A timestamp as a string that sorts by time: the fraction padded to nanoseconds. */
function sortable(ts: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return ts;
  const base = m[3] === 'Z' ? m[1]! : new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${base}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Drops lines already seen: older than the newest one, or equal to it and seen at that instant. */
export class LineDedup {
  private last = '';
  private atLast = new Set<string>();

  accept(ts: string, text: string): boolean {
    const t = sortable(ts);
    if (t < this.last) return false;
    if (t === this.last) {
      if (this.atLast.has(text)) return false;
      this.atLast.add(text);
      return true;
    }
    this.last = t;
    this.atLast = new Set([text]);
    return true;
  }

  /** Where to re-open a stream: the second of the newest line, or undefined before any. */
  get resumeAt(): string | undefined {
    return this.last ? `${this.last.slice(0, 19)}Z` : undefined;
  }
}

/** Splits `2026-12-03T10:00:00.123456789Z text` into its timestamp and text. */
export function splitTimestamp(line: string): { time: string; text: string } | undefined {
  const space = line.indexOf(' ');
  const time = space < 0 ? line : line.slice(0, space);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(time)) return undefined;
  return { time, text: space < 0 ? '' : line.slice(space + 1) };
}

export interface FollowOptions {
  http: KubeHttp;
  namespace: string;
  pod: string;
  container: string;
  /** Lines before this instant are not shown. */
  sinceMs: number;
  onLine: (l: LogLine) => void;
  /** A problem worth telling (logs unavailable); the follower keeps trying. */
  onTrouble?: (message: string) => void;
  /** Pause between re-opens; grows while nothing new comes, up to 10 s. */
  retryMs?: number;
}

/** Follows one container's log until stopped. */
export class ContainerLogs {
  private readonly o: FollowOptions;
  private readonly dedup = new LineDedup();
  private readonly stopCtl = new AbortController();
  private loop: Promise<void> | null = null;
  private restarts: number | undefined;
  private previousWanted = false;
  private troubled = false;
  /** Ends the stream being read, so a restart's previous lines are fetched before the new ones. */
  private readCtl: AbortController | null = null;

  constructor(o: FollowOptions) {
    this.o = o;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** The container's restart count as last seen; an increase fetches the previous instance's tail. */
  seenRestarts(count: number): void {
    if (this.restarts !== undefined && count > this.restarts) {
      this.previousWanted = true;
      this.readCtl?.abort();
    }
    this.restarts = count;
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const base = this.o.retryMs ?? 1000;
    let pause = base;
    while (!this.stopCtl.signal.aborted) {
      let fresh = 0;
      if (this.previousWanted) {
        this.previousWanted = false;
        fresh += await this.read(false, true);
      }
      fresh += await this.read(true, false);
      pause = fresh > 0 ? base : Math.min(10_000, pause * 2);
      if (!this.previousWanted) await sleep(pause, this.stopCtl.signal);
    }
  }

  /** Reads one stream to its end; returns how many new lines it gave. */
  private async read(follow: boolean, previous: boolean): Promise<number> {
    const { http, namespace, pod, container } = this.o;
    const since = this.dedup.resumeAt ?? new Date(this.o.sinceMs).toISOString();
    let fresh = 0;
    const ctl = new AbortController();
    this.readCtl = ctl;
    try {
      const res = await http.open(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
        {
          query: {
            container,
            timestamps: 'true',
            sinceTime: since.replace(/\.\d+Z$/, 'Z'),
            ...(follow ? { follow: 'true' } : {}),
            ...(previous ? { previous: 'true' } : {}),
          },
          signal: AbortSignal.any([this.stopCtl.signal, ctl.signal]),
        },
      );
      if (res.status !== 200) {
        const body = await res.text().catch(() => '');
        // 400 while the container is still waiting to start is expected: try again later.
        if (res.status !== 400) this.trouble(`HTTP ${res.status}: ${messageOf(body)}`);
        return 0;
      }
      this.troubled = false;
      let rest = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body ?? []) {
        rest += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          fresh += this.line(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
      }
      if (rest) fresh += this.line(rest);
    } catch (err) {
      if (!this.stopCtl.signal.aborted && !ctl.signal.aborted) this.trouble((err as Error).message);
    } finally {
      this.readCtl = null;
    }
    return fresh;
  }

  private line(raw: string): number {
    const l = splitTimestamp(raw.replace(/\r$/, ''));
    if (!l) return 0;
    if (!this.dedup.accept(l.time, l.text)) return 0;
    this.o.onLine({ pod: this.o.pod, container: this.o.container, ...l });
    return 1;
  }

  private trouble(message: string): void {
    if (this.troubled) return;
    this.troubled = true;
    this.o.onTrouble?.(`logs of Pod ${this.o.pod} container ${this.o.container}: ${message}`);
  }
}

function messageOf(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
