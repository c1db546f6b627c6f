#!/usr/bin/env node
// The hindsight command (also `kubectl hindsight`): reads the history a Hindsight operator
// recorded, and tracks rollouts. Exit codes: 0 ok, 1 error, 2 usage error (`track` has its own,
// src/rollouts/tracker.ts EXIT); every error is one line on stderr.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, type Flags } from './args.ts';
import { connect, type Connected } from './client.ts';
import { backup, restore } from './commands/backup.ts';
import { bundle, serve } from './commands/bundle.ts';
import { follow } from './commands/follow.ts';
import { diff, get, history } from './commands/object.ts';
import { rollouts } from './commands/rollouts.ts';
import { track } from './commands/track.ts';
import { changes, events } from './commands/window.ts';
import type { Context } from './context.ts';
import { VERSION } from '../version.ts';
import { CliError, ExitError, UsageError } from './errors.ts';
import type { Out } from './output.ts';

const HANDLERS: Record<string, (ctx: Context) => Promise<void | number>> = {
  history,
  get,
  diff,
  events,
  changes,
  follow,
  rollouts,
  track,
  backup,
  restore,
  bundle,
  serve,
};

export interface Io {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  now?: () => number;
}

function schemeOf(value: string): 'http' | 'https' {
  if (value === 'http' || value === 'https') return value;
  throw new UsageError(`--operator-scheme must be https or http, got '${value}'`);
}

function connectionOf(flags: Flags, env: NodeJS.ProcessEnv) {
  const pick = (value: string | undefined, name: string, fallback?: string) => {
    const v = value ?? (env[name] === '' ? undefined : env[name]) ?? fallback;
    return v;
  };
  return {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    server: pick(flags.server, 'HINDSIGHT_SERVER'),
    token: pick(flags.token, 'HINDSIGHT_TOKEN'),
    useKubeToken: flags['use-kube-token'] === true,
    operatorNamespace: pick(
      flags['operator-namespace'],
      'HINDSIGHT_OPERATOR_NAMESPACE',
      'hindsight-system',
    )!,
    operatorService: pick(flags['operator-service'], 'HINDSIGHT_OPERATOR_SERVICE', 'hindsight')!,
    operatorPort: pick(flags['operator-port'], 'HINDSIGHT_OPERATOR_PORT', 'https')!,
    operatorScheme: schemeOf(pick(flags['operator-scheme'], 'HINDSIGHT_OPERATOR_SCHEME', 'https')!),
    serverCa: pick(flags['server-ca'], 'HINDSIGHT_SERVER_CA'),
  };
}

/** Runs one command line; returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) {
      io.stdout.write(`hindsight ${VERSION}\n`);
      return 0;
    }
    const parsed = parseCommandLine(argv);
    if ('help' in parsed) {
      io.stdout.write(parsed.help);
      return 0;
    }
    let connected: Promise<Connected> | undefined;
    const ctx: Context = {
      args: parsed.args,
      flags: parsed.flags,
      out: io.stdout,
      err: io.stderr,
      now: (io.now ?? Date.now)(),
      signal: io.signal,
      connect: () => (connected ??= connect(connectionOf(parsed.flags, io.env))),
    };
    return (await HANDLERS[parsed.command.name]!(ctx)) ?? 0;
  } catch (err) {
    if (io.signal.aborted) return 0;
    const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${oneLine(err.message)}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.stderr.write(`error: ${oneLine(err.message)}\n`);
      return err instanceof ExitError ? err.code : 1;
    }
    io.stderr.write(
      `error: unexpected failure: ${oneLine((err as Error).message ?? String(err))}\n`,
    );
    if (io.env.HINDSIGHT_DEBUG) io.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 1;
  }
}

function out(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Out {
  return {
    write: (text) => void stream.write(text),
    columns: stream.isTTY ? stream.columns : undefined,
    color: Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb',
  };
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  // `hindsight ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const code = await run(process.argv.slice(2), {
    stdout: out(process.stdout, process.env),
    stderr: out(process.stderr, process.env),
    env: process.env,
    signal: abort.signal,
  });
  process.exitCode = code;
  // A stream or keep-alive socket must not hold the process open once the command is done.
  if (code !== 0 || abort.signal.aborted) process.exit(code);
}
