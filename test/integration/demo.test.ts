// `npm run demo` as a newcomer runs it: its own local control plane, the operator and the
// scripted incident. The test waits until the demo says the incident is recorded, reads the UI
// and the API it serves for what the incident should have left (two complete rollouts and a
// failed one, Warning Events, a deleted namespace's objects), then stops it with Ctrl-C (SIGINT)
// and checks that it removed its cluster and history.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { freePort } from '../cluster/control-plane.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('npm run demo', () => {
  it('records a successful and a failed rollout, Warning Events and a deleted namespace, serves them, and cleans up on Ctrl-C', async () => {
    const port = await freePort();
    const demo = spawn(process.execPath, [join(ROOT, 'src/demo/main.ts')], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, HINDSIGHT_DEMO_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    createInterface({ input: demo.stdout }).on('line', (l) => lines.push(l));
    createInterface({ input: demo.stderr }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((r) => demo.on('exit', (code) => r(code)));
    const base = `http://127.0.0.1:${port}`;
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${base}/api/v1${path}`);
      expect(res.status, path).toBe(200);
      return (await res.json()) as T;
    };
    try {
      const deadline = Date.now() + 240_000;
      while (!lines.some((l) => l.startsWith('The incident is recorded'))) {
        if (demo.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the demo did not finish its incident:\n${lines.join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(lines).toContain(`Hindsight is recording. Open ${base}/ (the API is under /api/v1).`);

      const ui = await fetch(`${base}/?namespace=demo`);
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await ui.text()).toMatch(/<title>[^<]*Hindsight/);

      const rollouts = await api<{ items: { name: string; outcome: string; reason: string }[] }>(
        '/rollouts?namespace=demo&kind=Deployment&name=web',
      );
      expect(rollouts.items.map((r) => r.outcome).sort()).toEqual([
        'complete',
        'complete',
        'failed',
      ]);
      expect(rollouts.items.find((r) => r.outcome === 'failed')?.reason).toBe('FailedCreate');
      const warnings = await api<{ items: { reason: string }[] }>(
        '/events?namespace=demo&type=Warning&from=-1h',
      );
      expect(warnings.items.map((e) => e.reason)).toContain('FailedCreate');
      const scratch = await api<{ items: { kind: string; deletedAt: number | null }[] }>(
        '/resources?namespace=scratch&includeDeleted=true',
      );
      expect(scratch.items.map((o) => o.kind).sort()).toEqual(
        expect.arrayContaining(['Deployment', 'Pod', 'ReplicaSet', 'Service']) as unknown,
      );
      expect(scratch.items.every((o) => o.deletedAt !== null)).toBe(true);
    } finally {
      if (demo.exitCode === null) demo.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(lines).toContain('Stopped; the demo’s cluster and history are removed.');
    const kubeconfig = lines
      .map((l) => /export KUBECONFIG=(\S+)/.exec(l)?.[1])
      .find((k) => k !== undefined);
    expect(kubeconfig).toBeDefined();
    expect(existsSync(join(kubeconfig!, '../..'))).toBe(false);
    await expect(fetch(`${base}/readyz`)).rejects.toThrow();
  }, 360_000);
});
