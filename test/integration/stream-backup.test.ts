// The live stream and backup/restore against an operator recording the local control plane,
// with real ServiceAccount tokens and RBAC: a caller allowed only namespace A streams only A's
// history; a backup is refused to callers without the hindsight-backup grant; a backup taken
// while recording restores (the --restore start-up flag) into an operator that answers the same;
// a backup is refused (503, Retry-After) while another is still being sent.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinceItem } from '../../src/store/queries.ts';
import { inspectHistoryFile } from '../../src/store/backup.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { conforms } from '../support/openapi.ts';
import { readSse, sseData } from '../support/sse.ts';
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
/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = 'SQLite format 3\0';
/**
 * ConfigMaps of random data (bytes before base64) that make the history, and so a backup, about
 * 14 MiB: well beyond the 3-5 MB a loopback connection was measured to hold unread.
 */
const BULK_CONFIGMAPS = 12;
const BULK_BYTES = 576 * 1024;
const BIG_BACKUP = 10 * 1024 * 1024;

interface Version {
  seq: number;
  time: number;
  type: string;
  paths: string[];
}

describe('live stream and backup', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let kubeconfig: string;
  const dirs: string[] = [];
  const tokens: Record<'reader' | 'viewer' | 'backup', string> = {
    reader: '',
    viewer: '',
    backup: '',
  };
  const [nsA, nsB] = [uniqueName('sb-a'), uniqueName('sb-b')];
  const policy = uniqueName('sb');

  const get = (o: OperatorProcess, path: string, token: string | null) =>
    fetch(`${o.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const json = async <T>(o: OperatorProcess, path: string, token = tokens.viewer): Promise<T> => {
    const res = await get(o, path, token);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const tmp = async (prefix: string) => {
    const d = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const setValue = (ns: string, name: string, value: string) =>
    core.patchNamespacedConfigMap({
      namespace: ns,
      name,
      body: [{ op: 'replace', path: '/data/value', value }],
    });

  beforeAll(async () => {
    cp = await controlPlane();
    kubeconfig = await operatorKubeconfig(cp);
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
    ]);
    for (const ns of [nsA, nsB]) await core.createNamespace({ body: { metadata: { name: ns } } });
    const account = (name: string) => ({ name, namespace: nsA });
    const clusterBinding = (name: string, role: string) =>
      clusterRoleBinding(`${nsA}-${name}-${role}`, role, account(name));
    // reader: view in namespace A only; viewer: view everywhere; backup: view everywhere and
    // the hindsight-backup ClusterRole of manifests/rbac.yaml.
    await apply(
      serviceAccount(account('reader')),
      serviceAccount(account('viewer')),
      serviceAccount(account('backup')),
      roleBinding('reader', nsA, 'view', account('reader')),
      clusterBinding('viewer', 'view'),
      clusterBinding('backup', 'view'),
      clusterBinding('backup', 'hindsight-backup'),
    );
    for (const who of ['reader', 'viewer', 'backup'] as const) {
      tokens[who] = await serviceAccountToken(cp, account(who));
    }
    await apply(
      historyPolicy(policy, {
        resources: [{ group: '', kinds: ['ConfigMap'] }],
        events: false,
        namespaces: { include: [nsA, nsB] },
      }),
    );
    op = await OperatorProcess.start({ kubeconfig, dataDir: await tmp('hindsight-sb-') });
    await waitForPolicyReady(cp, policy);
    for (const ns of [nsA, nsB]) {
      for (const name of ['one', 'two']) {
        await core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name }, data: { value: '0' } },
        });
      }
    }
  });

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    for (const name of ['viewer-view', 'backup-view', 'backup-hindsight-backup']) {
      await cp?.kubectl(['delete', 'clusterrolebinding', `${nsA}-${name}`, '--ignore-not-found']);
    }
    for (const ns of [nsA, nsB]) await core.deleteNamespace({ name: ns }).catch(() => {});
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("streams to a caller allowed only namespace A nothing but A's changes, as they happen", async () => {
    const url = `${op.url}/api/v1/stream?kinds=ConfigMap`;
    const auth = { authorization: `Bearer ${tokens.reader}` };
    const start = Number((await readSse(url, () => true, auth))[0]!.id);
    const reading = readSse(
      `${url}&since=${start}`,
      (got) => sseData<SinceItem>(got).filter((i) => i.object?.name === 'two').length >= 2,
      auth,
    );
    for (let i = 1; i <= 2; i++) {
      for (const ns of [nsB, nsA]) {
        await setValue(ns, 'one', `s${i}`);
        await setValue(ns, 'two', `s${i}`);
      }
    }
    const items = sseData<SinceItem>(await reading);
    for (const i of items) conforms('SinceItem', i);
    expect(items.map((i) => `${i.object?.namespace}/${i.object?.name}`)).toEqual([
      `${nsA}/one`,
      `${nsA}/two`,
      `${nsA}/one`,
      `${nsA}/two`,
    ]);
    expect(items.every((i) => i.version?.paths.includes('data.value'))).toBe(true);
    // The viewer, allowed everywhere, sees B's changes in the same span too.
    const all = sseData<SinceItem>(
      await readSse(`${url}&since=${start}`, (got) => sseData<SinceItem>(got).length >= 8, {
        authorization: `Bearer ${tokens.viewer}`,
      }),
    );
    expect(all.filter((i) => i.object?.namespace === nsB)).toHaveLength(4);
    const anonymous = await get(op, '/api/v1/stream', null);
    expect(anonymous.status).toBe(401);
  });

  it('refuses the backup to callers without the hindsight-backup grant', async () => {
    expect((await get(op, '/api/v1/backup', null)).status).toBe(401);
    for (const who of ['reader', 'viewer'] as const) {
      const res = await get(op, '/api/v1/backup', tokens[who]);
      expect(res.status, who).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      const problem = (await res.json()) as { detail: string };
      conforms('Problem', problem);
      expect(problem.detail).toMatch(
        /needs permission to get backups\.hindsight\.dev cluster-wide/,
      );
    }
  });

  it('takes a backup while recording that restores into an operator answering the same', async () => {
    const oneA = await json<{ items: { uid: string }[] }>(
      op,
      `/api/v1/resources?namespace=${nsA}&kind=ConfigMap&name=one`,
    );
    const versionsOfOne = async (o: OperatorProcess) =>
      (
        await json<{ items: Version[] }>(
          o,
          `/api/v1/objects/${oneA.items[0]!.uid}/versions?limit=500`,
        )
      ).items.length;
    const before = await versionsOfOne(op);
    // Keep writing while the backup is taken, and take it once the writes are being recorded.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await setValue(nsA, 'one', `w${i}`);
    })();
    await waitFor('a write to be recorded', 30_000, async () => (await versionsOfOne(op)) > before);
    const res = await get(op, '/api/v1/backup', tokens.backup);
    const body = Buffer.from(await res.arrayBuffer());
    writing = false;
    await writer;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.sqlite3');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="hindsight-.*\.db"$/,
    );
    const seq = Number(res.headers.get('x-hindsight-sequence'));
    const file = join(await tmp('hindsight-backup-file-'), 'backup.db');
    await writeFile(file, body);
    expect(inspectHistoryFile(file).seq).toBe(seq);

    const restored = await OperatorProcess.start({
      kubeconfig,
      dataDir: await tmp('hindsight-restored-'),
      args: ['--restore', file],
    });
    try {
      await restored.waitForLog('Restored history from a backup');
      for (const ns of [nsA, nsB]) {
        for (const name of ['one', 'two']) {
          const path = `/api/v1/resources?namespace=${ns}&kind=ConfigMap&name=${name}`;
          const [a, b] = await Promise.all(
            [op, restored].map((o) => json<{ items: { uid: string }[] }>(o, path)),
          );
          expect(b!.items.map((x) => x.uid)).toEqual(a!.items.map((x) => x.uid));
          const uid = a!.items[0]!.uid;
          const upTo = async (o: OperatorProcess) =>
            (
              await json<{ items: Version[] }>(o, `/api/v1/objects/${uid}/versions?limit=500`)
            ).items.filter((v) => v.seq <= seq);
          const original = await upTo(op);
          expect(original.length).toBeGreaterThan(0);
          expect(await upTo(restored)).toEqual(original);
          const last = original[0]!;
          const at = `/api/v1/objects/${uid}/versions/${last.seq}`;
          expect(await json(restored, at)).toEqual(await json(op, at));
        }
      }
      // The backup holds changes made while it was taken, not just what came before.
      expect(await versionsOfOne(restored)).toBeGreaterThan(before);
    } finally {
      await restored.stop();
    }
    // What the operator's metrics say about it: one backup sent, two refused, by route.
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    const value = (series: string) =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.split(' ')[1],
      );
    expect(value('hindsight_api_backups_total{result="sent"}')).toBe(1);
    expect(value('hindsight_api_backups_total{result="forbidden"}')).toBe(2);
    expect(value('hindsight_api_backup_bytes_total')).toBe(body.length);
    expect(value('hindsight_api_requests_total{route="/backup",code="403"}')).toBe(2);
    expect(
      value('hindsight_api_requests_total{route="/stream",code="200"}'),
    ).toBeGreaterThanOrEqual(3);
  });

  it('refuses a second backup while one is being sent, and takes one again once it was read', async () => {
    // A history bigger than the loopback connection holds unread, so a download that is not
    // read is still being sent by the operator: random data, which compresses to little.
    for (let i = 1; i <= BULK_CONFIGMAPS; i++) {
      await core.createNamespacedConfigMap({
        namespace: nsB,
        body: {
          metadata: { name: `bulk-${i}` },
          data: { value: randomBytes(BULK_BYTES).toString('base64') },
        },
      });
    }
    await waitFor('the bulk ConfigMaps to be recorded', 60_000, async () => {
      const page = await json<{ items: unknown[] }>(
        op,
        `/api/v1/resources?namespace=${nsB}&kind=ConfigMap&name=bulk-${BULK_CONFIGMAPS}`,
      );
      return page.items.length === 1;
    });

    const first = await get(op, '/api/v1/backup', tokens.backup);
    expect(first.status).toBe(200);
    const size = Number(first.headers.get('content-length'));
    expect(size).toBeGreaterThan(BIG_BACKUP);
    // Read a little of it, then nothing while the second is asked for.
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    const head = await reader.read();
    if (head.done) throw new Error('the backup ended before its first chunk');
    chunks.push(head.value);

    const second = await get(op, '/api/v1/backup', tokens.backup);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('30');
    expect(second.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await second.json()) as { title: string; status: number; detail: string };
    conforms('Problem', problem);
    expect(problem.status).toBe(503);
    expect(problem.title).toBe('Backup in progress');
    expect(problem.detail).toMatch(/backup is being taken/);

    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(size);
    expect(body.subarray(0, 16).toString('latin1')).toBe(SQLITE_HEADER);

    const third = await get(op, '/api/v1/backup', tokens.backup);
    expect(third.status).toBe(200);
    const again = Buffer.from(await third.arrayBuffer());
    expect(again.subarray(0, 16).toString('latin1')).toBe(SQLITE_HEADER);
    expect(again.length).toBeGreaterThan(BIG_BACKUP);
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    expect(metrics).toMatch(/^hindsight_api_backups_total\{result="busy"\} 1$/m);
    expect(metrics).toMatch(/^hindsight_api_requests_total\{route="\/backup",code="503"\} 1$/m);
  });
});
