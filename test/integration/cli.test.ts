// The built `hindsight` binary against the real operator recording the local control plane. The
// operator listens on this machine's non-loopback address behind a selector-less Service, so the
// CLI's default path — the kube-apiserver's service proxy with a ServiceAccount token — is the
// one a user in a real cluster takes.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ControlPlane } from '../cluster/control-plane.ts';
import { BIN, ensureBuilt, exec, withoutAges } from './cli-binary.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import { exposeThroughService, HOST_NODE, machineAddress } from './operator-service.ts';
import { servingCertificate } from '../cluster/pki.ts';
import {
  clusterRoleBinding,
  createDeployment,
  historyPolicy,
  roleBinding,
  ROLLOUT_RESOURCES,
  rollOutImage,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
} from './world.ts';

const apps = kubeConfig().makeApiClient(AppsV1Api);

describe('hindsight CLI', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let dataDir: string;
  let home: string;
  let tls: { ca: string; cert: string; key: string };
  let readerKubeconfig: string;
  let readerToken: string;
  const ns = uniqueName('cli');
  const reader = { name: 'reader', namespace: ns };
  const policy = uniqueName('cli');
  const marks: Record<string, number> = {};

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    exec(process.execPath, [BIN, ...args], {
      PATH: process.env.PATH,
      HOME: home,
      KUBECONFIG: readerKubeconfig,
      ...env,
    });
  /** Runs a command that must succeed; returns its standard output. */
  const ok = async (args: string[], env?: NodeJS.ProcessEnv): Promise<string> => {
    const r = await run(args, env);
    if (r.code !== 0) throw new Error(`hindsight ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  /** Runs a command that must fail with one line on stderr. */
  const fails = async (args: string[], env?: NodeJS.ProcessEnv) => {
    const r = await run(args, env);
    expect(r.code, `hindsight ${args.join(' ')}: ${r.stdout}${r.stderr}`).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);
    return { code: r.code, message: r.stderr.trim() };
  };

  beforeAll(async () => {
    await ensureBuilt();
    cp = await controlPlane();
    home = await mkdtemp(join(tmpdir(), 'hindsight-cli-home-'));
    const kubeconfig = await operatorKubeconfig(cp);
    await cp.kubectl(['create', 'namespace', ns]);
    // The caller: a ServiceAccount that may read the namespace and reach the operator's Service
    // through the API server's proxy (bound to the shipped hindsight-cli Role).
    await apply(
      serviceAccount(reader),
      roleBinding('reader', ns, 'view', reader),
      // The hindsight-cli Role of manifests/rbac.yaml.
      roleBinding(`${ns}-proxy`, 'hindsight-system', 'hindsight-cli', reader, 'Role'),
    );
    readerToken = await serviceAccountToken(cp, reader);
    readerKubeconfig = join(home, 'reader.kubeconfig');
    const ca = readFileSync(cp.state.pki.caCert).toString('base64');
    await writeFile(
      readerKubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "${cp.state.server}", certificate-authority-data: ${ca}}}]
users: [{name: reader, user: {token: "${readerToken}"}}]
contexts: [{name: reader, context: {cluster: local, user: reader, namespace: ${ns}}}]
current-context: reader
`,
      { mode: 0o600 },
    );

    await apply(
      historyPolicy(policy, {
        resources: ROLLOUT_RESOURCES,
        events: true,
        namespaces: { include: [ns] },
      }),
    );
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-cli-'));
    const address = machineAddress();
    // Served over HTTPS as the manifests serve it: the proxy path is https:hindsight:https.
    tls = await servingCertificate(home, 'hindsight', [address]);
    op = await OperatorProcess.start({ kubeconfig, dataDir, host: address, tls });
    await exposeThroughService(cp, address, op.port);
    await waitForPolicyReady(cp, policy);

    const web = { namespace: ns, name: 'web', replicas: 1 };
    await createDeployment({ ...web, image: 'web:1' });
    await new Promise((r) => setTimeout(r, 1100));
    marks.beforeRollout = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    await rollOutImage({ ...web, image: 'web:2' });
    let last = '';
    await waitFor('the rollout to be recorded', 30_000, async () => {
      const r = await run(['changes', '-o', 'json', '--since', '10m']);
      last = r.stderr;
      const items = r.code === 0 ? (JSON.parse(r.stdout) as { object: { kind: string } }[]) : [];
      return items.filter((i) => i.object.kind === 'ReplicaSet').length === 2;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; the CLI said: ${last}`, { cause: err });
    });
    await new Promise((r) => setTimeout(r, 1000));
  });

  afterAll(async () => {
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    await cp?.kubectl([
      'delete',
      '-n',
      'hindsight-system',
      `role/${ns}-proxy`,
      `rolebinding/${ns}-proxy`,
      'service/hindsight',
      'endpointslice/hindsight-test',
      'pod/hindsight-0',
      '--ignore-not-found',
      '--grace-period=0',
      '--force',
    ]);
    await cp?.kubectl(['delete', 'node', HOST_NODE, '--ignore-not-found']);
    await cp?.kubectl(['delete', 'namespace', ns, '--wait=false']);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (home) await rm(home, { recursive: true, force: true });
  });

  interface Version {
    seq: number;
    type: string;
    paths: string[];
    actor: string | null;
  }

  it('shows the history of a Deployment after a rollout, through the service proxy', async () => {
    const out = await ok(['history', 'deploy/web']);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+AGE\s+TYPE\s+ACTOR\s+CHANGED$/);
    expect(lines[1]).toMatch(/\s+added\s+.*\(created\)$/);
    expect(out).toMatch(/modified\s+.*spec\.template\.spec\.containers.*image/);
    // The same history in JSON, for scripts; and every way of naming the kind finds it.
    const json = JSON.parse(await ok(['history', 'deploy/web', '-o', 'json'])) as {
      object: { kind: string; name: string; namespace: string };
      versions: Version[];
    };
    expect(json.object).toMatchObject({ kind: 'Deployment', name: 'web', namespace: ns });
    expect(json.versions.at(-1)!.type).toBe('added');
    expect(lines).toHaveLength(json.versions.length + 1);
    for (const v of json.versions) expect(out).toMatch(new RegExp(`^${v.seq}\\s`, 'm'));
    for (const kind of ['deployment', 'Deployment', 'deployments', 'DEPLOY']) {
      expect(withoutAges(await ok(['history', `${kind}/web`, '-n', ns]))).toBe(withoutAges(out));
    }
    const yaml = await ok(['history', 'deploy/web', '-o', 'yaml']);
    expect(yaml).toMatch(/^object:\n/);
  });

  it('gets the object as of an instant before the rollout, as YAML or JSON', async () => {
    const before = new Date(marks.beforeRollout!).toISOString();
    const yaml = await ok(['get', 'deploy/web', '--at', before]);
    expect(yaml).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
    expect(yaml).toContain('image: web:1');
    expect(yaml).not.toContain('web:2');
    expect(await ok(['get', 'deploy/web'])).toContain('image: web:2');
    const json = JSON.parse(await ok(['get', 'deployment/web', '--at', before, '-o', 'json'])) as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(json.spec.template.spec.containers[0]!.image).toBe('web:1');
  });

  it('gets a deleted object as it was last recorded', async () => {
    const changes = JSON.parse(await ok(['changes', '--since', '10m', '-o', 'json'])) as {
      object: { kind: string; name: string; deletedAt: number | null };
    }[];
    const gone = changes.find((c) => c.object.kind === 'Pod' && c.object.deletedAt !== null);
    expect(gone, 'the rollout replaced a Pod').toBeDefined();
    const r = await run(['get', `po/${gone!.object.name}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `^note: Pod ${ns}/${gone!.object.name} was deleted at \\S+Z \\(\\S+ ago\\); showing its last recorded state\n$`,
      ),
    );
    expect(r.stdout).toMatch(/^apiVersion: v1\nkind: Pod\n/);
    expect(r.stdout).toContain('image: web:1');
    expect(await ok(['history', `pod/${gone!.object.name}`])).toMatch(/\sdeleted\s/);
  });

  it('diffs the rollout by time and by version', async () => {
    const before = new Date(marks.beforeRollout!).toISOString();
    const byTime = await ok(['diff', 'deploy/web', '--from', before, '--to', 'now']);
    expect(byTime.split('\n')[0]).toMatch(
      new RegExp(`^Deployment ${ns}/web: version \\d+ .* → version \\d+ `),
    );
    expect(byTime).toMatch(/^~ spec\.template\.spec\.containers\[0\]\.image: "web:1" → "web:2"$/m);
    const { versions } = JSON.parse(await ok(['history', 'deploy/web', '-o', 'json'])) as {
      versions: Version[];
    };
    const imageChange = versions.find((v) => v.paths.some((p) => p.includes('image')))!;
    const previous = versions[versions.indexOf(imageChange) + 1]!;
    const bySeq = JSON.parse(
      await ok([
        'diff',
        'deploy/web',
        '--from',
        String(previous.seq),
        '--to',
        String(imageChange.seq),
        '-o',
        'json',
      ]),
    ) as { from: Version; to: Version; text: string[] };
    expect(bySeq.from.seq).toBe(previous.seq);
    expect(bySeq.to.seq).toBe(imageChange.seq);
    expect(bySeq.text.join('\n')).toMatch(/image.*web:1.*web:2/);
  });

  it('lists Events, also those of one object', async () => {
    const out = await ok(['events', '--since', '10m']);
    expect(out.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+COUNT\s+MESSAGE$/);
    expect(out).toMatch(/Normal\s+ScalingReplicaSet\s+deployment\/web\s+\d+\s+Scaled up/);
    expect(out).toMatch(/Normal\s+Scheduled\s+pod\/web-/);
    const mine = await ok(['events', '--for', 'deploy/web', '--since', '10m']);
    const rows = mine.trimEnd().split('\n').slice(1);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect(row).toMatch(/ScalingReplicaSet\s+deployment\/web\s/);
    const json = JSON.parse(
      await ok(['events', '--reason', 'ScalingReplicaSet', '--since', '10m', '-o', 'json']),
    ) as { reason: string; namespace: string }[];
    expect(json.length).toBeGreaterThanOrEqual(2);
    expect(json.every((e) => e.reason === 'ScalingReplicaSet' && e.namespace === ns)).toBe(true);
  });

  it('lists what changed in a window', async () => {
    const since = new Date(marks.beforeRollout!).toISOString();
    const out = await ok(['changes', '--since', since]);
    expect(out.split('\n')[0]).toMatch(/^OBJECT\s+CHANGE\s+VERSIONS\s+LAST\s+ACTORS\s+PATHS$/);
    expect(out).toMatch(/^deployment\/web\s+modified\s/m);
    expect(out).toMatch(/^replicaset\/web-\S+\s+created/m);
    const json = JSON.parse(await ok(['changes', '--since', '10m', '-o', 'json'])) as {
      object: { kind: string; namespace: string };
    }[];
    expect(new Set(json.map((c) => c.object.kind))).toEqual(
      new Set(['Deployment', 'ReplicaSet', 'Pod']),
    );
  });

  it('works as a kubectl plugin', async () => {
    const bin = join(home, 'bin');
    await exec('mkdir', ['-p', bin], { PATH: process.env.PATH });
    await symlink(BIN, join(bin, 'kubectl-hindsight'));
    const r = await exec(join(cp.state.binDir, 'kubectl'), ['hindsight', 'history', 'deploy/web'], {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: home,
      KUBECONFIG: readerKubeconfig,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(withoutAges(r.stdout)).toBe(withoutAges(await ok(['history', 'deploy/web'])));
  });

  it('reaches the operator directly with --server and --token, and never sends the kube context token unasked', async () => {
    const direct = ['--server', op.url, '--server-ca', tls.ca];
    const out = await ok(['history', 'deploy/web', '-n', ns, ...direct, '--token', readerToken], {
      KUBECONFIG: join(home, 'none'),
    });
    expect(withoutAges(out)).toBe(withoutAges(await ok(['history', 'deploy/web'])));
    // The reader's kubeconfig holds a token; a --server does not get it without being asked,
    // gets it over https when asked, and not over plain http to a non-loopback address.
    const unasked = await fails(['history', 'deploy/web', ...direct]);
    expect(unasked.message).toMatch(
      /^error: the operator at https:\/\/.* wants a bearer token \(.*\); pass --token TOKEN, or --use-kube-token/,
    );
    const asked = await ok(['history', 'deploy/web', ...direct, '--use-kube-token']);
    expect(withoutAges(asked)).toBe(withoutAges(out));
    const plain = op.url.replace('https:', 'http:');
    const remote = await fails(['history', 'deploy/web', '--server', plain, '--use-kube-token']);
    expect(remote.code).toBe(2);
    expect(remote.message).toMatch(/only to a loopback or https:\/\/ --server/);
    // Its certificate is checked: without the CA that signed it, no connection.
    const unknownCa = await fails(['history', 'deploy/web', '--server', op.url, '--token', 't']);
    expect(unknownCa.message).toMatch(
      /^error: cannot reach the operator at https:\/\/.*(certificate|SELF_SIGNED|UNABLE_TO)/i,
    );
  });

  it('follows the live stream through the service proxy until interrupted', async () => {
    const { versions } = JSON.parse(await ok(['history', 'deploy/web', '-o', 'json'])) as {
      versions: Version[];
    };
    const since = versions[0]!.seq;
    const child = spawn(
      process.execPath,
      [BIN, 'follow', '--kinds', 'deploy,event', '--since-seq', String(since), '-o', 'json'],
      {
        env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: readerKubeconfig },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await apps.patchNamespacedDeployment({
        name: 'web',
        namespace: ns,
        body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
      });
      const items = () =>
        stdout
          .split('\n')
          .filter(Boolean)
          .map(
            (l) =>
              JSON.parse(l) as {
                kind: string;
                seq: number;
                object?: { kind: string; name: string };
                version?: { paths: string[] };
                event?: { reason: string };
              },
          );
      await waitFor('the scale-up to be followed', 30_000, () =>
        Promise.resolve(
          items().some((i) => i.kind === 'occurrence' && i.event?.reason === 'ScalingReplicaSet'),
        ),
      ).catch((err: Error) => {
        throw new Error(`${err.message}; follow printed ${stdout} ${stderr}`, { cause: err });
      });
      const seen = items();
      const seqs = seen.map((i) => i.seq);
      expect(seqs[0]).toBeGreaterThan(since);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(seen.every((i) => i.kind === 'occurrence' || i.object?.kind === 'Deployment')).toBe(
        true,
      );
      expect(seen.some((i) => i.version?.paths.includes('spec.replicas'))).toBe(true);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('downloads a backup that restores into a working history', async () => {
    const file = join(home, 'backup.db');
    // A backup holds every namespace's history: it needs the hindsight-backup ClusterRole.
    const refused = await fails(['backup', '-f', file]);
    expect(refused.code).toBe(1);
    expect(refused.message).toMatch(/^error: the operator refused: .*hindsight-backup/);
    expect(existsSync(file)).toBe(false);
    await apply(clusterRoleBinding(`${ns}-backup`, 'hindsight-backup', reader));
    const before = JSON.parse(await ok(['history', 'deploy/web', '-o', 'json'])) as {
      versions: Version[];
    };
    await waitFor('the backup permission to take effect', 30_000, async () => {
      const r = await run(['backup', '-f', file]);
      return r.code === 0;
    });
    expect(readFileSync(file).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');

    const restored = await mkdtemp(join(tmpdir(), 'hindsight-cli-restored-'));
    try {
      const out = await ok(['restore', file, '--data-dir', restored]);
      expect(out).toMatch(/^Restored .*backup\.db \(history up to seq \d+\) as .*history\.db;/);
      // The restored history answers like the original: run an operator on it.
      const second = await OperatorProcess.start({
        kubeconfig: await operatorKubeconfig(cp),
        dataDir: restored,
        args: ['--auth', 'none'],
      });
      try {
        const after = JSON.parse(
          await ok(['history', 'deploy/web', '-n', ns, '--server', second.url, '-o', 'json'], {
            KUBECONFIG: join(home, 'none'),
          }),
        ) as { versions: Version[] };
        const seqs = new Set(after.versions.map((v) => v.seq));
        for (const v of before.versions) expect(seqs.has(v.seq)).toBe(true);
      } finally {
        await second.stop();
      }
      const notHistory = join(home, 'not-history.db');
      await writeFile(notHistory, 'hello');
      const bad = await fails(['restore', notHistory, '--data-dir', restored]);
      expect(bad.code).toBe(1);
      expect(bad.message).toMatch(
        /^error: cannot restore .*not-history\.db: .*not a SQLite database/,
      );
    } finally {
      await rm(restored, { recursive: true, force: true });
      await cp.kubectl(['delete', 'clusterrolebinding', `${ns}-backup`, '--ignore-not-found']);
    }
  });

  it('lists the rollouts the operator derived: the creation, the image change, and a failed one with its reason', async () => {
    interface RolloutJson {
      id: number;
      generation: number;
      outcome: string;
      reason: string | null;
      message: string | null;
      imagesBefore: string[];
      imagesAfter: string[];
      actor: string | null;
      newRevision: string | null;
    }
    let web: RolloutJson[] = [];
    await waitFor('the rollouts of web to be derived', 30_000, async () => {
      web = JSON.parse(await ok(['rollouts', 'deploy/web', '-o', 'json'])) as RolloutJson[];
      // Generation 3 (the scale-up of the follow test) may be there too, newest first.
      web = web.filter((r) => r.generation <= 2);
      return web.length === 2 && web.every((r) => r.outcome === 'complete');
    }).catch((err: Error) => {
      throw new Error(`${err.message}; derived: ${JSON.stringify(web)}`, { cause: err });
    });
    // Newest first.
    expect(web.map((r) => [r.generation, r.imagesBefore, r.imagesAfter, r.newRevision])).toEqual([
      [2, ['web:1'], ['web:2'], '2'],
      [1, [], ['web:1'], '1'],
    ]);
    expect(web[0]!.actor).toMatch(/\(Update\)|\(Apply\)/);
    const table = await ok(['rollouts', 'deploy/web']);
    expect(table.split('\n')[0]).toMatch(
      /^ID\s+STARTED\s+DURATION\s+OUTCOME\s+REVISION\s+IMAGES\s+BY\s+REASON$/,
    );
    expect(table).toMatch(/complete\s+2\s+web:1 → web:2/);

    // Its Pods cannot be created: the ServiceAccount it names does not exist.
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'orphan', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'orphan' } },
        template: {
          metadata: { labels: { app: 'orphan' } },
          spec: { serviceAccountName: 'missing', containers: [{ name: 'app', image: 'orphan:1' }] },
        },
      },
    });
    let orphan: RolloutJson[] = [];
    await waitFor('the failed rollout to be derived', 30_000, async () => {
      orphan = JSON.parse(await ok(['rollouts', 'deploy/orphan', '-o', 'json'])) as RolloutJson[];
      return orphan[0]?.outcome === 'failed';
    }).catch((err: Error) => {
      throw new Error(`${err.message}; derived: ${JSON.stringify(orphan)}`, { cause: err });
    });
    expect(orphan[0]!.reason).toMatch(/FailedCreate/);
    expect(orphan[0]!.message).toContain('serviceaccount "missing" not found');
    const one = await run(['rollouts', 'deploy/orphan']);
    expect(one.stdout).toMatch(/failed\s+.*FailedCreate/);
    // The failed rollout replayed as track printed it, with track's exit code.
    const replayed = await run(['track', '--replay', String(orphan[0]!.id)]);
    expect(replayed.code).toBe(1);
    expect(replayed.stdout).toMatch(
      /deployment\/orphan event Warning FailedCreate ReplicaSet\/orphan-/,
    );
    expect(replayed.stdout).toMatch(
      /deployment\/orphan FAILED after .*: Deployment .*\/orphan failed: FailedCreate: /,
    );
    const complete = await run(['track', '--replay', String(web[0]!.id)]);
    expect(complete.code).toBe(0);
    expect(complete.stdout).toMatch(/deployment\/web READY in /);
    const unknown = await run(['track', '--replay', '999999']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toBe('error: no rollout 999999 is recorded that you may read\n');
    const none = await ok(['rollouts', 'sts/nothing']);
    expect(none).toBe('No rollouts of statefulset/nothing recorded in that window.\n');
  });

  it('answers mistakes with one line and a non-zero exit code', async () => {
    const unknownKind = await fails(['history', 'deplyo/web']);
    expect(unknownKind).toEqual({
      code: 2,
      message: expect.stringMatching(/unknown kind 'deplyo'; did you mean 'deploy'\?/) as string,
    });
    const missing = await fails(['history', 'deploy/nope']);
    expect(missing.code).toBe(1);
    expect(missing.message).toContain(`no Deployment ${ns}/nope is recorded`);
    const badTime = await fails(['get', 'deploy/web', '--at', 'yesterday']);
    expect(badTime.code).toBe(2);
    expect(badTime.message).toMatch(/--at 'yesterday' is not a time/);
    const beforeBirth = await fails(['get', 'deploy/web', '--at', '2020-01-01T00:00:00Z']);
    expect(beforeBirth.message).toMatch(/did not exist at 2020-01-01T00:00:00Z; it existed from/);
    expect((await fails(['hisotry', 'deploy/web'])).message).toMatch(/did you mean 'history'/);
    expect((await fails(['events', '--reasn', 'X'])).message).toMatch(/did you mean --reason/);
    // Credentials the operator cannot check, or does not accept.
    const certificate = await fails(['history', 'deploy/web'], { KUBECONFIG: cp.kubeconfig });
    expect(certificate.message).toMatch(/has no bearer token.*--token/);
    const forged = await fails([
      'history',
      'deploy/web',
      '--server',
      op.url,
      '--server-ca',
      tls.ca,
      '--token',
      'forged',
    ]);
    expect(forged.message).toMatch(/the operator did not accept the bearer token/);
    // Wrong Service, unreachable operator.
    const noService = await fails(['history', 'deploy/web', '--operator-namespace', ns]);
    expect(noService.message).toMatch(
      /(has no Service|does not let you reach).*--operator-namespace|services\/proxy/,
    );
    const closed = await freePort();
    const unreachable = await fails([
      'history',
      'deploy/web',
      '--server',
      `http://127.0.0.1:${closed}`,
    ]);
    expect(unreachable.message).toMatch(
      new RegExp(
        `cannot reach the operator at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`,
      ),
    );
  });
});
