// A full disk makes the operator not ready but keeps it alive, and refuses a backup it has no
// room for; recording resumes, without loss, when space returns. The history volume is a small
// tmpfs, which needs root to mount.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import { controlPlane, kubeConfig, waitFor } from './cluster.ts';
import { checkHistory, Driver, missing } from './ground-truth.ts';
import { configMapRecording, OperatorProcess } from './operator-process.ts';

const kc = kubeConfig();
const cleanup: (() => unknown)[] = [];

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const volume = mkdtempSync(join(tmpdir(), 'hindsight-full-'));
const mounted = mountTmpfs(volume, '6m');

afterAll(async () => {
  for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {});
  if (mounted) execFileSync('umount', [volume]);
  rmSync(volume, { recursive: true, force: true });
});

/** Fills the volume with a file until writing fails. */
function fill(path: string): void {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(path, chunk, { flag: 'a' });
    } catch {
      return;
    }
    if (i > 10_000) throw new Error('the volume did not fill up');
  }
}

// Skipped where a tmpfs cannot be mounted (not root): the behaviour needs a real full file system.
it.skipIf(!mounted)(
  'goes not-ready on a full disk, stays alive, refuses a backup (507), and resumes without loss when space returns',
  async () => {
    const cp = await controlPlane();
    const { namespace: ns, kubeconfig } = await configMapRecording(cp, 'full', cleanup);
    const dataDir = join(volume, 'data');
    // No authentication: the backup endpoint's own checks are what is tested.
    const op = await OperatorProcess.start({ kubeconfig, dataDir, args: ['--auth', 'none'] });
    cleanup.push(() => op.stop());
    await waitFor('the watch', 30_000, () =>
      Promise.resolve(op.lines.some((l) => l.msg === 'Started watch')),
    );

    const filler = join(volume, 'filler');
    fill(filler);
    const driver = new Driver(kc);
    // Incompressible values: the database must grow to record them.
    for (let i = 0; i < 12; i++)
      await driver.createConfigMap(ns, `big-${i}`, {
        blob: randomBytes(96 * 1024).toString('base64'),
      });

    const ready = async () => {
      const res = await fetch(`${op.url}/readyz`);
      return {
        status: res.status,
        body: (await res.json()) as { checks: Record<string, { ok: boolean; message?: string }> },
      };
    };
    await waitFor(
      '/readyz to report the unwritable store',
      30_000,
      async () => (await ready()).status === 503,
    );
    const notReady = await ready();
    expect(notReady.body.checks.store?.message).toMatch(
      /history database cannot be written: .*(full|space)/i,
    );
    expect((await fetch(`${op.url}/healthz`)).status).toBe(200);
    expect(op.child.exitCode).toBeNull();
    expect(await (await fetch(`${op.url}/metrics`)).text()).toMatch(
      /^hindsight_store_writable 0$/m,
    );

    // No room for a backup: refused before any of it is written.
    const backup = await fetch(`${op.url}/api/v1/backup`);
    expect(backup.status).toBe(507);
    expect(((await backup.json()) as { detail: string }).detail).toMatch(
      /^a backup needs about [\d.]+ MiB free on the history volume and [\d.]+ MiB is free/,
    );
    const folder = join(dataDir, 'backups');
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);

    rmSync(filler);
    await waitFor('/readyz to recover', 30_000, async () => (await ready()).status === 200);
    const db = openDatabase(join(dataDir, 'history.db'), { readonly: true });
    cleanup.push(() => db.close());
    const reader = new HistoryReader(db);
    await waitFor('every write to be recorded', 30_000, () =>
      Promise.resolve(missing(reader, driver.log).length === 0),
    );
    checkHistory(reader, driver.log);
    expect(op.lines.some((l) => l.msg === 'Recording resumed')).toBe(true);
  },
);
