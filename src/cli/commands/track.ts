// `hindsight track`: waits for workloads to be rolled out, through the Kubernetes API server
// (src/rollouts/tracker.ts), and exits with a code CI can act on (EXIT in the tracker).
import { readFile } from 'node:fs/promises';
import { parseDuration } from '../../duration.ts';
import { connect, ConnectError, type Connection } from '../../kube/connect.ts';
import { KubeHttp } from '../../kube/http.ts';
import { ManifestError, workloadsOf } from '../../rollouts/manifest.ts';
import {
  describeTarget,
  EXIT,
  exitCodeOf,
  track as runTracker,
  type Target,
} from '../../rollouts/tracker.ts';
import type { Rollout } from '../../store/rollouts.ts';
import { ApiError } from '../client.ts';
import type { Context } from '../context.ts';
import { ExitError, UsageError } from '../errors.ts';
import { parseObjectRef } from '../kinds.ts';
import { trackPrinter, type TrackFormat } from '../track-output.ts';

/** A duration flag: `10m`, `90s`, `1h30m`; `0` means none. */
function durationFlag(
  ctx: Context,
  flag: 'timeout' | 'no-activity-timeout' | 'unschedulable-grace',
): number | undefined {
  const v = ctx.flags[flag];
  if (v === undefined) return undefined;
  if (v === '0') return 0;
  const ms = parseDuration(v);
  if (ms === null) {
    throw new UsageError(
      `--${flag} '${v}' is not a duration: use for example 90s, 10m or 1h30m (0 for none)`,
    );
  }
  return ms;
}

function isOneOf<T extends string>(v: string, values: readonly T[]): v is T {
  return (values as readonly string[]).includes(v);
}

function options(ctx: Context): {
  format: TrackFormat;
  timeoutMs: number | undefined;
  noActivityTimeoutMs: number | undefined;
  unschedulableGraceMs: number | undefined;
  allowFailures: number;
  failMode: 'fail-fast' | 'keep-going';
  logs: boolean;
  containers?: string[];
  follow: boolean;
} {
  const format = ctx.flags.output ?? 'text';
  if (!isOneOf(format, ['text', 'json'] as const)) {
    throw new UsageError(`-o ${format} is not offered here; use one of text, json`);
  }
  const allow = ctx.flags['allow-failures'];
  if (allow !== undefined && !/^\d+$/.test(allow)) {
    throw new UsageError(`--allow-failures must be a whole number (0 or more), got '${allow}'`);
  }
  const mode = ctx.flags['fail-mode'] ?? 'fail-fast';
  if (!isOneOf(mode, ['fail-fast', 'keep-going'] as const)) {
    throw new UsageError(`--fail-mode '${mode}' is not a mode; use fail-fast or keep-going`);
  }
  const containers = ctx.flags.containers
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (ctx.flags.containers !== undefined && !containers?.length) {
    throw new UsageError('--containers needs at least one container name');
  }
  if (ctx.flags['no-logs'] && containers) {
    throw new UsageError('give either --no-logs or --containers, not both');
  }
  return {
    format: format,
    timeoutMs: durationFlag(ctx, 'timeout'),
    noActivityTimeoutMs: durationFlag(ctx, 'no-activity-timeout'),
    unschedulableGraceMs: durationFlag(ctx, 'unschedulable-grace'),
    allowFailures: allow === undefined ? 0 : Number(allow),
    failMode: mode,
    logs: !ctx.flags['no-logs'],
    ...(containers ? { containers } : {}),
    follow: Boolean(ctx.flags.follow),
  };
}

async function readManifest(file: string): Promise<string> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read -f ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** `--replay ID`: a recorded rollout printed as tracking it printed, with the exit code it had. */
async function replay(ctx: Context, format: TrackFormat): Promise<number> {
  const id = ctx.flags.replay!;
  if (!/^\d{1,15}$/.test(id)) {
    throw new UsageError(
      `--replay '${id}' is not a rollout id; 'hindsight rollouts KIND/NAME' lists them`,
    );
  }
  if (ctx.args.length > 0 || ctx.flags.file !== undefined || ctx.flags.follow) {
    throw new UsageError(
      '--replay takes no KIND/NAME, -f or --follow: the rollout names its workload',
    );
  }
  const { client } = await ctx.connect();
  let r: Rollout;
  try {
    r = await client.get<Rollout>(`/api/v1/rollouts/${id}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new ExitError(EXIT.notFound, `no rollout ${id} is recorded that you may read`, {
        cause: err,
      });
    }
    throw err;
  }
  const target: Target = { kind: r.kind, name: r.name, namespace: r.namespace };
  let clock = r.started;
  const print = trackPrinter(ctx.out, format, [target], () => clock);
  const images = r.imagesBefore.length
    ? `${r.imagesBefore.join(',')} → ${r.imagesAfter.join(',')}`
    : r.imagesAfter.join(',');
  print.status?.(target, {
    state: 'progressing',
    message: `rollout ${r.id} of generation ${r.generation} started${r.actor ? ` by ${r.actor}` : ''}${images ? `: ${images}` : ''}`,
    pods: [],
  });
  for (const e of r.events) {
    clock = e.time;
    print.event?.(target, { ...e, time: new Date(e.time).toISOString(), count: 1 });
  }
  if (r.problem && r.outcome !== 'failed') {
    print.warning?.(target, r.problem);
  }
  clock = r.ended ?? ctx.now;
  const durationMs = clock - r.started;
  const message = r.message ?? '';
  if (r.outcome === 'complete') {
    print.ready?.(target, { target, outcome: 'ready', message, durationMs });
    return EXIT.ready;
  }
  if (r.outcome === 'failed') {
    print.failed?.(target, {
      target,
      outcome: 'failed',
      message: `${describeTarget(target)} failed: ${r.reason ?? 'Failed'}: ${message}`,
      durationMs,
    });
    return EXIT.failed;
  }
  if (r.outcome === 'in-progress') {
    print.done?.(target, { target, outcome: 'timeout', message: 'still in progress', durationMs });
    return EXIT.timeout;
  }
  if (r.outcome === 'superseded') {
    // It never reached a verdict: a newer generation took over, as a timeout would have ended it.
    print.done?.(target, {
      target,
      outcome: 'stopped',
      message: `superseded: ${message}`,
      durationMs,
    });
    return EXIT.timeout;
  }
  print.done?.(target, { target, outcome: 'deleted', message, durationMs });
  return EXIT.notFound;
}

export async function track(ctx: Context): Promise<number> {
  const o = options(ctx);
  if (ctx.flags.replay !== undefined) return replay(ctx, o.format);
  for (const flag of [
    'server',
    'token',
    'operator-namespace',
    'operator-service',
    'operator-port',
  ] as const) {
    if (ctx.flags[flag] !== undefined) {
      throw new UsageError(
        `--${flag} applies only to --replay: live tracking talks to the Kubernetes API server`,
      );
    }
  }
  if (ctx.args.length === 0 && ctx.flags.file === undefined) {
    throw new UsageError(
      "'track' needs what to track: KIND/NAME arguments (deploy/web sts/db) or -f FILE; usage: hindsight track KIND/NAME... | -f FILE|-",
    );
  }
  const refs = ctx.args.map(parseObjectRef);
  const clusterScoped = refs.find((r) => r.clusterScoped);
  if (clusterScoped) {
    throw new UsageError(`${clusterScoped.kind} is cluster-scoped and has no rollout to track`);
  }
  const manifest = ctx.flags.file === undefined ? undefined : await readManifest(ctx.flags.file);

  let connection: Connection;
  try {
    connection = await connect({ kubeconfig: ctx.flags.kubeconfig, context: ctx.flags.context });
  } catch (err) {
    if (err instanceof ConnectError) throw new ExitError(EXIT.api, err.message, { cause: err });
    throw err;
  }
  const { kubeConfig: kc, context } = connection;
  const namespace = ctx.flags.namespace ?? kc.getContextObject(context)?.namespace ?? 'default';
  const targets: Target[] = refs.map((r) => ({ kind: r.kind, name: r.name, namespace }));
  if (manifest !== undefined) {
    try {
      targets.push(
        ...workloadsOf(
          manifest,
          namespace,
          ctx.flags.file === '-' ? 'standard input' : ctx.flags.file!,
        ),
      );
    } catch (err) {
      if (err instanceof ManifestError) throw new UsageError(err.message, { cause: err });
      throw err;
    }
    if (targets.length === 0) {
      throw new UsageError(
        `${ctx.flags.file === '-' ? 'standard input' : ctx.flags.file} has no Deployment, StatefulSet, DaemonSet, Job or Pod to track`,
      );
    }
  }
  const results = await runTracker(
    {
      http: new KubeHttp(kc),
      targets,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.noActivityTimeoutMs !== undefined
        ? { noActivityTimeoutMs: o.noActivityTimeoutMs }
        : {}),
      ...(o.unschedulableGraceMs !== undefined
        ? { unschedulableGraceMs: o.unschedulableGraceMs }
        : {}),
      allowFailures: o.allowFailures,
      failMode: o.failMode,
      logs: o.logs,
      ...(o.containers ? { containers: o.containers } : {}),
      follow: o.follow,
      signal: ctx.signal,
    },
    trackPrinter(ctx.out, o.format, targets),
  );
  if (ctx.signal.aborted) return 0;
  return exitCodeOf(results);
}
