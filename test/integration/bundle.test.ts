// Incident bundles against an operator recording the local control plane: a bundle of one
// namespace in a window holds exactly that namespace's history in the window (checked against the
// live operator's answers and in the file itself), nothing of another namespace nor from after
// the window, only what the caller may read; and `hindsight serve` answers from it offline with
// the same API and UI.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.ts';
import { freePort, type ControlPlane } from '../cluster/control-plane.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import {
  clusterRoleBinding,
  historyPolicy,
  roleBinding,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
} from './world.ts';

const core = kubeConfig().makeApiClient(CoreV1Api);

interface Change {
  object: { uid: string; name: string; namespace: string; deletedAt: number | null };
  versions: { seq: number }[];
  patch: unknown;
}

/** The CLI in this process; its exit code and output. */
async function cli(args: string[], signal = new AbortController().signal) {
  let out = '';
  let err = '';
  const code = await run(args, {
    stdout: { write: (t: string) => void (out += t), columns: undefined, color: false },
    stderr: { write: (t: string) => void (err += t), columns: undefined, color: false },
    env: {},
    signal,
  });
  return { code, out, err };
}

describe('incident bundles', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dir: string;
  let adminToken: string;
  let readerToken: string;
  const [nsA, nsB] = [uniqueName('bundle-a'), uniqueName('bundle-b')];
  const policy = uniqueName('bundle');
  const w = { from: 0, to: 0 };

  const api = async <T>(path: string, token = adminToken): Promise<T> => {
    const res = await fetch(`${op.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const changesOf = (c: Change[]) =>
    c.map((x) => [x.object.uid, x.versions.map((v) => v.seq), x.patch]);
  const settle = () => new Promise((r) => setTimeout(r, 1100));
  const cm = (namespace: string, name: string, data: Record<string, string>) =>
    core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data } });
  const patch = (namespace: string, name: string, value: string) =>
    core.patchNamespacedConfigMap({
      namespace,
      name,
      body: [{ op: 'replace', path: '/data/v', value }],
    });

  beforeAll(async () => {
    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    for (const ns of [nsA, nsB]) await core.createNamespace({ body: { metadata: { name: ns } } });
    const admin = { name: 'admin', namespace: nsA };
    const reader = { name: 'reader', namespace: nsA };
    await apply(
      serviceAccount(admin),
      serviceAccount(reader),
      clusterRoleBinding(`${nsA}-admin`, 'view', admin),
      roleBinding('reader', nsA, 'view', reader),
      historyPolicy(policy, {
        resources: [{ group: '', kinds: ['ConfigMap'] }],
        events: true,
        namespaces: { include: [nsA, nsB] },
      }),
    );
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
    ]);
    adminToken = await serviceAccountToken(cp, admin);
    readerToken = await serviceAccountToken(cp, reader);
    dir = await mkdtemp(join(tmpdir(), 'hindsight-bundle-'));
    op = await OperatorProcess.start({ kubeconfig, dataDir: join(dir, 'data') });
    await waitForPolicyReady(cp, policy);

    // Before the window: what the bundle holds as the state at its start.
    for (const ns of [nsA, nsB]) {
      await cm(ns, 'kept', { v: '0' });
      await cm(ns, 'doomed', { v: '0' });
      await cm(ns, 'later-gone', { v: '0' });
    }
    await settle();
    w.from = Date.now();
    await settle();
    for (const ns of [nsA, nsB]) {
      await patch(ns, 'kept', '1');
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'doomed' });
      await cm(ns, 'during', { v: '1' });
    }
    await waitFor('the window to be recorded', 30_000, async () => {
      const c = await api<{ items: Change[] }>(`/api/v1/changes?namespace=${nsB}&from=${w.from}`);
      return c.items.some((x) => x.object.name === 'during');
    });
    await settle();
    w.to = Date.now();
    await settle();
    // After the window: none of it may show in the bundle.
    await patch(nsA, 'during', '2');
    await core.deleteNamespacedConfigMap({ namespace: nsA, name: 'later-gone' });
    await cm(nsA, 'after', { v: '2' });
    await waitFor('the changes after the window to be recorded', 30_000, async () => {
      const c = await api<{ items: Change[] }>(`/api/v1/changes?namespace=${nsA}&from=${w.to}`);
      return c.items.some((x) => x.object.name === 'after');
    });
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    await cp?.kubectl(['delete', 'clusterrolebinding', `${nsA}-admin`, '--ignore-not-found']);
    for (const ns of [nsA, nsB]) await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("holds exactly one namespace's history in the window, and serves it offline", async () => {
    const file = join(dir, 'a.db');
    const got = await cli([
      'bundle',
      '-n',
      nsA,
      '--from',
      new Date(w.from).toISOString(),
      '--to',
      new Date(w.to).toISOString(),
      '-o',
      file,
      '--server',
      op.url,
      '--token',
      adminToken,
    ]);
    expect(got.err).toMatch(/^Wrote \d+ objects and \d+ versions of /);
    expect(got.code).toBe(0);

    // In the file: only A, nothing after the window, the deletion after it not shown.
    const db = new Database(file, { readonly: true });
    try {
      const objects = db
        .prepare('SELECT namespace, name, deleted_at FROM objects ORDER BY name')
        .all() as { namespace: string; name: string; deleted_at: number | null }[];
      expect(objects.map((o) => `${o.namespace}/${o.name}`)).toEqual(
        // kube-root-ca.crt: the controller manager's, in every namespace.
        ['doomed', 'during', 'kept', 'kube-root-ca.crt', 'later-gone'].map((n) => `${nsA}/${n}`),
      );
      expect(objects.find((o) => o.name === 'later-gone')?.deleted_at).toBeNull();
      expect(objects.find((o) => o.name === 'doomed')?.deleted_at).toBeGreaterThanOrEqual(w.from);
      const late = db.prepare('SELECT count(*) AS n FROM versions WHERE time > ?').get(w.to);
      expect(late).toEqual({ n: 0 });
      const events = db.prepare('SELECT DISTINCT namespace FROM events').all();
      expect(events.every((e) => (e as { namespace: string }).namespace === nsA)).toBe(true);
    } finally {
      db.close();
    }

    // Served: the same changes as the live operator, A's only.
    const port = await freePort();
    const stop = new AbortController();
    const serving = cli(['serve', file, '--listen', `127.0.0.1:${port}`], stop.signal);
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor('serve to answer', 30_000, () =>
        fetch(`${base}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      );
      const window = `from=${w.from}&to=${w.to}`;
      const live = await api<{ items: Change[] }>(`/api/v1/changes?namespace=${nsA}&${window}`);
      expect(live.items.length).toBe(3);
      const offline = (await (
        await fetch(`${base}/api/v1/changes?namespace=${nsA}&${window}`)
      ).json()) as {
        items: Change[];
      };
      expect(changesOf(offline.items)).toEqual(changesOf(live.items));
      const other = (await (
        await fetch(`${base}/api/v1/resources?namespace=${nsB}&includeDeleted=true`)
      ).json()) as {
        items: unknown[];
      };
      expect(other.items).toEqual([]);
      // The state at the start of the window, as the live operator has it.
      const kept = live.items.find((c) => c.object.name === 'kept')!;
      const at = `/api/v1/objects/${kept.object.uid}/at?time=${w.from}`;
      expect(await (await fetch(`${base}${at}`)).json()).toEqual(await api(at));
      const ui = await fetch(`${base}/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('<title>Hindsight</title>');
    } finally {
      stop.abort();
    }
    const served = await serving;
    expect(served.out).toMatch(
      /^Serving the bundle of .* read-only, at http:\/\/127\.0\.0\.1:\d+\//,
    );
    expect(served.code).toBe(0);
  });

  it('holds only what the caller may read', async () => {
    const res = await fetch(
      `${op.url}/api/v1/bundle?namespace=${nsA}&namespace=${nsB}&from=${w.from}&to=${w.to}`,
      { headers: { authorization: `Bearer ${readerToken}` } },
    );
    expect(res.status).toBe(200);
    const file = join(dir, 'reader.db');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    const db = new Database(file, { readonly: true });
    try {
      const namespaces = db.prepare('SELECT DISTINCT namespace FROM objects').all();
      expect(namespaces).toEqual([{ namespace: nsA }]);
      const bNames = db
        .prepare('SELECT count(*) AS n FROM events WHERE namespace = ?')
        .get(nsB) as { n: number };
      expect(bNames.n).toBe(0);
    } finally {
      db.close();
    }
    // The admin's bundle of both holds both.
    const both = await fetch(
      `${op.url}/api/v1/bundle?namespace=${nsA},${nsB}&from=${w.from}&to=${w.to}`,
      { headers: { authorization: `Bearer ${adminToken}` } },
    );
    expect(Number(both.headers.get('x-hindsight-objects'))).toBe(10);
    await both.arrayBuffer();
    const bad = await fetch(`${op.url}/api/v1/bundle?from=${w.from}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ param: 'namespace' });
  });
});
