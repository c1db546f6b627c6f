// The file destination: one gzip'd NDJSON file per batch under
// <directory>/dt=YYYY-MM-DD/hour=HH/<first-seq>-<last-seq>.ndjson.gz. A file is written as a
// temporary file, fsync'd, renamed into place and its directory fsync'd, so a crash leaves either
// the whole file or none; a batch replayed after a crash finds its file and counts as delivered.
// Files beyond maxFiles or older than maxAge are removed, oldest first.
import { constants } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  batchOwner,
  batchPath,
  DeliveryError,
  type Delivery,
  type Destination,
} from '../destination.ts';

/** Names the exporter that writes to a directory (see claim). */
const OWNER_FILE = '.hindsight-sink';

export interface FileOptions {
  directory: string;
  maxFiles: number;
  maxAgeMs: number | null;
  now?: () => number;
}

/** Pruning lists the directory at most this often. */
const PRUNE_EVERY_MS = 10_000;

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, constants.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

function ioError(what: string, err: unknown): DeliveryError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new DeliveryError(`cannot ${what} (${code})`, {
    reason: 'io',
    // A full disk or a read-only volume needs someone to act; retried slowly meanwhile.
    permanent: code === 'EACCES' || code === 'EROFS' || code === 'EPERM',
    notReceived: true,
    cause: err,
  });
}

export class FileDestination implements Destination {
  readonly format = 'ndjson' as const;
  readonly gzip = true;
  readonly keepsPayload = false;
  readonly describe: string;
  private readonly o: FileOptions;
  private lastPrune = 0;
  private cleaned = false;

  constructor(o: FileOptions) {
    this.o = o;
    this.describe = `file ${o.directory}`;
  }

  async send(d: Delivery): Promise<void> {
    if (!this.cleaned) {
      await this.claim(batchOwner(d.id));
      await this.removeTemporaries(this.o.directory);
      this.cleaned = true;
    }
    const path = join(this.o.directory, batchPath(d));
    const dir = dirname(path);
    try {
      await stat(path);
      return; // written before a crash or a lost acknowledgement: delivered
    } catch {
      // not there yet
    }
    const tmp = join(dir, `.${d.firstSeq}-${d.lastSeq}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const h = await open(tmp, 'w');
      try {
        await h.writeFile(d.payload);
        await h.sync();
      } finally {
        await h.close();
      }
      await rename(tmp, path);
      await fsyncDir(dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw ioError(`write ${path}`, err);
    }
    const now = (this.o.now ?? Date.now)();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.prune(now);
    }
  }

  /** Removes files beyond maxFiles (oldest names first) or older than maxAge. */
  async prune(now: number): Promise<number> {
    const files = (await this.list(this.o.directory)).sort((a, b) => a.rel.localeCompare(b.rel));
    const cut = files.length - this.o.maxFiles;
    let removed = 0;
    for (const [i, f] of files.entries()) {
      const old = this.o.maxAgeMs !== null && now - f.mtimeMs > this.o.maxAgeMs;
      if (i < cut || old) {
        await rm(f.path, { force: true });
        removed++;
        await rmdir(dirname(f.path)).catch(() => undefined);
        await rmdir(dirname(dirname(f.path))).catch(() => undefined);
      }
    }
    return removed;
  }

  private async list(dir: string): Promise<{ path: string; rel: string; mtimeMs: number }[]> {
    const out: { path: string; rel: string; mtimeMs: number }[] = [];
    let entries;
    try {
      entries = await readdir(dir, { recursive: true, withFileTypes: true });
    } catch {
      return out;
    }
    for (const e of entries) {
      if (!e.isFile() || !e.name.endsWith('.ndjson.gz')) continue;
      const path = join(e.parentPath, e.name);
      const s = await stat(path).catch(() => null);
      // Partition first, then the name: the sequence order.
      if (s) out.push({ path, rel: path.slice(dir.length), mtimeMs: s.mtimeMs });
    }
    return out;
  }

  /**
   * Marks the directory as this exporter's, or refuses one another exporter writes to: names are
   * sequence ranges, so a file of another Sink (or cluster) would pass for this Sink's batch.
   */
  private async claim(owner: string): Promise<void> {
    const marker = join(this.o.directory, OWNER_FILE);
    let current: string | null = null;
    try {
      current = (await readFile(marker, 'utf8')).trim();
    } catch {
      // unclaimed
    }
    if (current === owner) return;
    if (current !== null)
      throw new DeliveryError(
        `${this.o.directory} holds the export of ${current}; give each Sink a directory of its own`,
        { reason: 'refused', permanent: true, notReceived: true },
      );
    try {
      await mkdir(this.o.directory, { recursive: true });
      const tmp = `${marker}.tmp`;
      await writeFile(tmp, `${owner}\n`);
      await rename(tmp, marker);
    } catch (err) {
      throw ioError(`write ${marker}`, err);
    }
  }

  /** Temporary files a crash left behind. */
  private async removeTemporaries(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { recursive: true, withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries)
      if (e.isFile() && e.name.startsWith('.') && e.name.endsWith('.tmp'))
        await unlink(join(e.parentPath, e.name)).catch(() => undefined);
  }

  async close(): Promise<void> {}
}
