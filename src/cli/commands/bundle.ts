// `hindsight bundle` downloads the history of some namespaces in a window as a database of its
// own; `hindsight serve` answers from one (or from a backup) read-only, no cluster needed.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { formatTime, parseInstant } from '../time.ts';

export async function bundle(ctx: Context): Promise<void> {
  const namespaces = (ctx.flags.namespace ?? '').split(',').filter(Boolean);
  if (namespaces.length === 0) {
    throw new UsageError("'bundle' needs -n NS[,NS...]: the namespaces to put in it");
  }
  const file = ctx.flags.output;
  if (file === undefined || file === '') {
    throw new UsageError("'bundle' needs -o FILE: where to write it");
  }
  if (ctx.flags.from === undefined) {
    throw new UsageError("'bundle' needs --from TIME: the start of the window (such as 2h)");
  }
  const from = parseInstant(ctx.flags.from, '--from', ctx.now);
  const to = parseInstant(ctx.flags.to ?? 'now', '--to', ctx.now);
  if (from > to) throw new UsageError('--from must be before --to');
  const { client } = await ctx.connect();
  const res = await client.open(
    '/api/v1/bundle',
    { namespace: namespaces.join(','), from: String(from), to: String(to) },
    { accept: 'application/vnd.sqlite3' },
    ctx.signal,
  );
  if (!res.body) throw new CliError('the operator answered the bundle request without a body');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  // Written aside and renamed, so an interrupted download never looks like a bundle.
  const target = resolve(file);
  const partial = `${target}.partial`;
  try {
    await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw new CliError(
      `the bundle could not be written to ${target} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  ctx.err.write(
    `Wrote ${res.headers.get('x-hindsight-objects') ?? '?'} objects and ${res.headers.get('x-hindsight-versions') ?? '?'} versions of ${namespaces.join(', ')} from ${formatTime(from)} to ${formatTime(to)} to ${target}; 'hindsight serve ${file}' answers from it\n`,
  );
}

export async function serve(ctx: Context): Promise<void> {
  const file = resolve(ctx.args[0]!);
  // Loaded only here: the server, SQLite and the query threads.
  const [{ serveHistory }, { parseListen, UsageError: OptionsUsageError }, { createLogger }] =
    await Promise.all([
      import('../../serve.ts'),
      import('../../options.ts'),
      import('../../log.ts'),
    ]);
  let serving;
  try {
    const at = parseListen(ctx.flags.listen ?? '127.0.0.1:8080', '--listen');
    serving = await serveHistory(file, at, createLogger('warn'));
  } catch (err) {
    if (err instanceof OptionsUsageError) throw new UsageError(err.message, { cause: err });
    throw new CliError(`cannot serve ${file}: ${(err as Error).message}`, { cause: err });
  }
  const url = `http://${serving.listening.address}`;
  const what = serving.bundle
    ? `the bundle of ${serving.bundle.namespaces.join(', ')} from ${formatTime(serving.bundle.window.from)} to ${formatTime(serving.bundle.window.to)}`
    : 'the history';
  ctx.out.write(
    `Serving ${what} in ${file}, read-only, at ${url}/ (the API under /api/v1). Ctrl-C stops.\n  hindsight --server ${url} changes -A --since 30d\n`,
  );
  await new Promise<void>((r) => {
    if (ctx.signal.aborted) r();
    else ctx.signal.addEventListener('abort', () => r(), { once: true });
  });
  await serving.close();
}
