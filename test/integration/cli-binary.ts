// Running the built `hindsight` binary from integration tests.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'dist/cli/main.js');

/** A table with its ages (`12s ago`, which change between two runs) blanked. */
export function withoutAges(table: string): string {
  return table.replace(/\d+[smhd](\d+[mh])? ago/g, 'AGE').replace(/ +/g, ' ');
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function exec(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `npm test` alone does not build: build the CLI when dist/ is missing or older than src/. */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newestSource(join(ROOT, 'src'))) {
    chmodSync(BIN, 0o755);
    return;
  }
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = await exec(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    PATH: process.env.PATH,
  });
  if (r.code !== 0) throw new Error(`the build failed:\n${r.stdout}${r.stderr}`);
  // As `npm run build` does: kubectl finds the plugin only when it is executable.
  chmodSync(BIN, 0o755);
}
