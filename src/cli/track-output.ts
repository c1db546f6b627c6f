// How `hindsight track` prints: on a terminal, a live block at the bottom with one line per
// object still tracked (its state and compact status: replicas up-to-date/available, each new
// Pod's state), redrawn in place, with Events, logs and each object's end scrolling above it in
// short times and colour; to a pipe or file, every status as a line too, with full RFC 3339 times
// and no ANSI codes (what CI logs keep); with -o json, one JSON object per line (status, event,
// log, warning, result).
import type {
  Result,
  StatusUpdate,
  Target,
  TrackedEvent,
  TrackerCallbacks,
} from '../rollouts/tracker.ts';
import type { LogLine } from '../rollouts/logs.ts';
import { paint, type Out } from './output.ts';

export type TrackFormat = 'text' | 'json';

/** `deployment/web`, with the namespace when several are tracked: `shop/deployment/web`. */
function refOf(t: Target, withNamespace: boolean): string {
  return `${withNamespace ? `${t.namespace}/` : ''}${t.kind.toLowerCase()}/${t.name}`;
}

function duration(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

/** The compact status: `up-to-date 1/3 available 0/3 · web-5d-x Running 1/1 · 2 old`. */
export function compactStatus(s: StatusUpdate): string {
  const parts: string[] = [];
  const r = s.replicas;
  if (r) {
    const counts = [`up-to-date ${r.updated}/${r.desired}`];
    if (r.available !== undefined) counts.push(`available ${r.available}/${r.desired}`);
    parts.push(counts.join(' '));
  }
  const fresh = s.pods.filter((p) => p.new);
  for (const p of fresh.slice(0, 6)) {
    parts.push(`${p.name} ${p.status} ${p.ready}${p.restarts ? ` ↻${p.restarts}` : ''}`);
  }
  if (fresh.length > 6) parts.push(`${fresh.length - 6} more new Pods`);
  const old = s.pods.length - fresh.length;
  if (old > 0) parts.push(`${old} old Pod${old === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** Callbacks that print to `out` in `format`. */
export function trackPrinter(
  out: Out,
  format: TrackFormat,
  targets: Target[],
  now: () => number = Date.now,
): TrackerCallbacks {
  const withNamespace = new Set(targets.map((t) => t.namespace)).size > 1;
  const ref = (t: Target) => refOf(t, withNamespace);
  if (format === 'json') {
    const emit = (type: string, t: Target, fields: object) =>
      out.write(
        `${JSON.stringify({
          type,
          time: new Date(now()).toISOString(),
          object: { kind: t.kind, namespace: t.namespace, name: t.name },
          ...fields,
        })}\n`,
      );
    const result = (t: Target, r: Result) =>
      emit('result', t, {
        outcome: r.outcome,
        message: r.message,
        ...(r.reason ? { reason: r.reason } : {}),
        durationMs: r.durationMs,
      });
    return {
      status: (t, s) => emit('status', t, s),
      event: (t, e) => emit('event', t, { event: e }),
      log: (t, l) => emit('log', t, { log: l }),
      warning: (t, message) => emit('warning', t, { message }),
      ready: result,
      failed: result,
      done: result,
    };
  }
  const tty = out.columns !== undefined;
  const stamp = (ms: number) => {
    const iso = new Date(ms).toISOString();
    return tty ? paint(out, 'dim', iso.slice(11, 19)) : iso;
  };
  // The live block (terminal only): its lines by object, and how many are on the screen now.
  const live = new Map<string, string>();
  let drawn = 0;
  const erase = () => {
    if (drawn > 0) out.write(`\u001b[${drawn}A\r\u001b[J`);
    drawn = 0;
  };
  const draw = () => {
    for (const l of live.values()) out.write(`${l}\n`);
    drawn = live.size;
  };
  /** Writes lines above the live block. */
  const above = (text: string) => {
    erase();
    out.write(text);
    draw();
  };
  const line = (t: Target, text: string, at = now()) =>
    above(`${stamp(at)} ${paint(out, 'bold', ref(t))} ${text}\n`);
  const stateWord = (s: StatusUpdate) =>
    s.state === 'ready' ? 'ready' : s.state === 'failed' ? 'failing' : 'waiting';
  const state = (s: StatusUpdate) =>
    paint(
      out,
      s.state === 'ready' ? 'green' : s.state === 'failed' ? 'red' : 'yellow',
      stateWord(s),
    );
  /** One line of the block, cut to the terminal's width so that it never wraps. */
  const blockLine = (t: Target, s: StatusUpdate) => {
    const width = Math.max(20, (out.columns ?? 80) - 1);
    const head = `${ref(t)} ${stateWord(s)}: `;
    const compact = compactStatus(s);
    let rest = `${s.message}${compact ? `  [${compact}]` : ''}`;
    if (head.length + rest.length > width) {
      rest = `${rest.slice(0, Math.max(0, width - head.length - 1))}…`;
    }
    return `${paint(out, 'bold', ref(t))} ${state(s)}: ${rest}`;
  };
  const finish = (t: Target, text: string) => {
    live.delete(ref(t));
    line(t, text);
  };
  return {
    status: (t, s) => {
      if (tty) {
        live.set(ref(t), blockLine(t, s));
        erase();
        draw();
        return;
      }
      const compact = compactStatus(s);
      line(
        t,
        `${state(s)}: ${s.message}${compact ? `  ${paint(out, 'dim', `[${compact}]`)}` : ''}`,
      );
    },
    event: (t, e: TrackedEvent) => {
      const type = e.type === 'Warning' ? paint(out, 'yellow', 'Warning') : e.type;
      line(
        t,
        `event ${type} ${e.reason} ${e.object}: ${e.message}${e.count > 1 ? ` (×${e.count})` : ''}`,
      );
    },
    log: (t, l: LogLine) => {
      const at = Date.parse(l.time);
      line(
        t,
        `${paint(out, 'dim', `${l.pod}/${l.container}`)} | ${l.text}`,
        Number.isNaN(at) ? now() : at,
      );
    },
    warning: (t, message) => line(t, `${paint(out, 'yellow', 'warning')}: ${message}`),
    ready: (t, r) =>
      finish(t, `${paint(out, 'green', 'READY')} in ${duration(r.durationMs)}: ${r.message}`),
    failed: (t, r) =>
      finish(t, `${paint(out, 'red', 'FAILED')} after ${duration(r.durationMs)}: ${r.message}`),
    done: (t, r) => {
      const word = {
        timeout: 'TIMEOUT',
        'not-found': 'NOT FOUND',
        deleted: 'DELETED',
        error: 'ERROR',
        stopped: 'STOPPED',
      }[r.outcome as 'timeout'];
      finish(t, `${paint(out, 'red', word ?? r.outcome.toUpperCase())}: ${r.message}`);
    },
  };
}
