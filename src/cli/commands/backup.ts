// `hindsight backup` downloads a consistent copy of the history database through the API;
// `hindsight restore` puts one into a stopped operator's data directory, offline.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';

export async function backup(ctx: Context): Promise<void> {
  const file = ctx.flags.file;
  if (file === undefined || file === '') {
    throw new UsageError(
      "'backup' needs -f FILE: where to write the backup ('-' for standard output)",
    );
  }
  const { client } = await ctx.connect();
  const res = await client.open(
    '/api/v1/backup',
    {},
    { accept: 'application/octet-stream, application/vnd.sqlite3' },
    ctx.signal,
  );
  if (!res.body) throw new CliError('the operator answered the backup request without a body');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  if (file === '-') {
    await pipeline(body, process.stdout);
    return;
  }
  // Written aside and renamed, so an interrupted download never looks like a backup.
  const target = resolve(file);
  const partial = `${target}.partial`;
  try {
    await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw new CliError(
      `the backup could not be written to ${target} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  ctx.err.write(`Wrote the backup to ${target}\n`);
}

export async function restore(ctx: Context): Promise<void> {
  const dataDir = ctx.flags['data-dir'];
  if (dataDir === undefined || dataDir === '') {
    throw new UsageError(
      "'restore' needs --data-dir DIR: the data directory of the stopped operator",
    );
  }
  const source = resolve(ctx.args[0]!);
  // Loaded only here: it loads SQLite, which no other command needs.
  const { restoreDatabase } = await import('../../store/backup.ts');
  let result;
  try {
    result = await restoreDatabase(source, dataDir);
  } catch (err) {
    throw new CliError(`cannot restore ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (result.replaced) ctx.err.write(`The database it replaced is kept as ${result.replaced}\n`);
  ctx.out.write(
    `Restored ${source} (history up to seq ${result.seq}) as ${result.database}; start the operator with --data-dir ${dataDir}\n`,
  );
}
