// The local control plane harness leaves nothing behind when the process that owns it dies.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import type { ClusterState } from '../cluster/control-plane.ts';
import { waitFor } from './cluster.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('stops every component and removes its data when the owning process is killed', async () => {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/owned-cluster.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = await new Promise<string>((resolve, reject) => {
    child.on('exit', (code) =>
      reject(new Error(`the fixture exited with ${code} before it was ready`)),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('ready ')) resolve(line.slice(6));
    });
  });
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ClusterState;
  const pids = state.components.map((c) => c.pid);
  expect(pids).toHaveLength(5);
  expect(pids.every(alive)).toBe(true);

  child.kill('SIGKILL');
  await waitFor('every component to exit and the directory to go', 30_000, () =>
    Promise.resolve(!pids.some(alive) && !existsSync(dir)),
  );
});
