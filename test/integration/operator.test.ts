// The operator's entry point (`npm start`) against the local control plane, and without one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../cluster/control-plane.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hindsight-op-'));
  dirs.push(d);
  return d;
}

interface Run {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const run: Run = {
    child,
    lines: [],
    stderr: [],
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  createInterface({ input: child.stderr }).on('line', (line) => {
    run.stderr.push(line);
    try {
      run.lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  return run;
}

async function until<T>(what: string, f: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start', () => {
  it('connects to the cluster, serves health and metrics, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const run = start([
      '--kubeconfig',
      inject('kubeconfig'),
      '--data-dir',
      join(await tempDir(), 'data'),
      '--listen',
      `127.0.0.1:${port}`,
    ]);
    const connected = await until('the connection log line', () =>
      run.lines.find((l) => l.msg === 'Connected to Kubernetes'),
    );
    expect(connected).toMatchObject({
      level: 'info',
      context: 'hindsight-local',
      serverVersion: 'v1.37.1',
    });
    await until('the serving log line', () => run.lines.find((l) => l.msg === 'Serving HTTP'));

    const base = `http://127.0.0.1:${port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ready: true,
      checks: { kubernetes: { ok: true }, store: { ok: true }, watches: { ok: true } },
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
    expect(metrics).toMatch(
      /^hindsight_build_info\{version="0\.1\.0",node_version="24\.\d+\.\d+"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^hindsight_kube_apiserver_info\{server="https:\/\/127\.0\.0\.1:\d+",git_version="v1\.37\.1"\} 1$/m,
    );

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.lines.map((l) => l.msg)).toContain('Stopped');
  });

  it('exits non-zero with one sentence naming the context when no cluster answers', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: nowhere, context: {cluster: gone, user: u}}]
current-context: nowhere
`,
    );
    const run = start([
      '--kubeconfig',
      kubeconfig,
      '--data-dir',
      join(dir, 'data'),
      '--log-level',
      'warn',
    ]);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toEqual([
      `hindsight: Cannot reach the Kubernetes API server of context 'nowhere' at https://127.0.0.1:${port} (ECONNREFUSED); start the local control plane with \`npm run cluster:up\` and export the KUBECONFIG it prints, or pass --kubeconfig/--context.`,
    ]);
  });

  it('rejects a mistyped flag with exit code 2 and a pointer to --help', async () => {
    const run = start(['--kubeconfg', '/x']);
    expect(await run.exited).toBe(2);
    expect(run.stderr).toEqual([
      "hindsight: Unknown option '--kubeconfg'; run with --help to see the flags",
    ]);
  });
});
