// The Helm chart (charts/hindsight), with helm built from its Go module (test/cluster/build-helm.sh)
// and the local control plane: it lints; its default render is the Kustomize base in manifests/
// (and its CRDs those of crds/); what it renders with every option on is accepted by the API
// server (server-side dry run); and it installs, upgrades and uninstalls, the operator started
// with the chart's own ServiceAccount and RBAC recording a policy given in values. The operator
// runs as a process beside the cluster: kwok's Pods run no containers.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, serviceAccountKubeconfig } from './operator-process.ts';
import { waitForPolicyReady } from './world.ts';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const CHART = join(ROOT, 'charts/hindsight');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

/** Builds helm on first use (cached by version) and returns its path. */
function ensureHelm(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'test/cluster/build-helm.sh')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve(out.trim().split('\n').at(-1)!)
        : reject(new Error(`test/cluster/build-helm.sh exited ${code}`)),
    );
  });
}

const docs = (yaml: string) =>
  (loadAll(yaml) as (K8sObject | null)[]).filter((d): d is K8sObject => d !== null);
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [key(o), o]));

describe('the Helm chart', () => {
  let cp: ControlPlane;
  let helmBin: string;
  let dir: string;
  const helm = async (...args: string[]) =>
    (await exec(helmBin, [...args, '--kubeconfig', cp.kubeconfig], { maxBuffer: 64 << 20 })).stdout;

  beforeAll(async () => {
    cp = await controlPlane();
    helmBin = await ensureHelm();
    dir = await mkdtemp(join(tmpdir(), 'hindsight-helm-'));
    await cp.kubectl(['apply', '-f', join(ROOT, 'crds')]);
  }, 1_200_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lints, and renders with its defaults exactly the Kustomize base and the CRDs', async () => {
    expect(await helm('lint', CHART, '--strict')).toMatch(
      /1 chart\(s\) linted, 0 chart\(s\) failed/,
    );
    const rendered = docs(await helm('template', 'hindsight', CHART, '-n', 'hindsight-system'));
    const base = docs(await cp.kubectl(['kustomize', join(ROOT, 'manifests')]));
    // The Namespace is helm's (--create-namespace), the rest must be equal object by object.
    expect(base.filter((o) => o.kind === 'Namespace').map(key)).toEqual([
      'Namespace//hindsight-system',
    ]);
    expect(byKey(rendered)).toEqual(byKey(base.filter((o) => o.kind !== 'Namespace')));
    expect(rendered.length).toBeGreaterThan(10);
    for (const file of await readdir(join(ROOT, 'crds'))) {
      expect(await readFile(join(CHART, 'crds', file), 'utf8'), file).toBe(
        await readFile(join(ROOT, 'crds', file), 'utf8'),
      );
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const chart = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
    expect(chart).toContain(`\nversion: ${pkg.version}\n`);
    expect(chart).toContain(`\nappVersion: ${pkg.version}\n`);
  });

  it('derives maxDisk from the volume size, and names a size it cannot derive it from', async () => {
    const maxDisk = async (...set: string[]) => {
      const sts = docs(await helm('template', 'h', CHART, ...set.flatMap((s) => ['--set', s])))
        .filter((o) => o.kind === 'StatefulSet')
        .at(0) as unknown as {
        spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
      };
      return sts.spec.template.spec.containers[0]!.env.find((e) => e.name === 'HINDSIGHT_MAX_DISK')
        ?.value;
    };
    expect(await maxDisk()).toBe('9Gi');
    expect(await maxDisk('persistence.size=20Gi')).toBe('18Gi');
    expect(await maxDisk('persistence.size=5Gi')).toBe('4608Mi');
    expect(await maxDisk('persistence.size=5Gi', 'maxDisk=3Gi')).toBe('3Gi');
    // A number of bytes stays a whole number (YAML numbers are floats to Helm).
    expect(await maxDisk('maxDisk=9663676416')).toBe('9663676416');
    const err = (await helm('template', 'h', CHART, '--set', 'persistence.size=10GB').catch(
      (e: unknown) => e,
    )) as { stderr: string };
    expect(err.stderr).toContain(
      'persistence.size must be a whole number of Mi, Gi or Ti (such as 10Gi) for maxDisk to be derived from it, got "10GB"',
    );
  });

  it('renders, with every option on, what the API server accepts (server-side dry run)', async () => {
    const ns = uniqueName('helm-dry');
    await cp.kubectl(['create', 'namespace', ns]);
    const values = join(dir, 'all.yaml');
    await writeFile(
      values,
      JSON.stringify({
        name: uniqueName('hs'),
        maxDisk: '2Gi',
        persistence: { size: '3Gi', storageClassName: 'fast' },
        extraArgs: ['--log-level=debug'],
        policies: { [uniqueName('p')]: { resources: [{ group: 'apps', kinds: ['Deployment'] }] } },
        sinks: {
          [uniqueName('s')]: { type: 'file', records: ['changes'], file: { directory: '/data/x' } },
        },
        networkPolicy: {
          enabled: true,
          apiFrom: [{ namespaceSelector: { matchLabels: { team: 'sre' } } }],
        },
      }),
    );
    const rendered = await helm('template', 'h', CHART, '-n', ns, '-f', values);
    const kinds = docs(rendered).map((o) => o.kind);
    expect(kinds).toEqual(expect.arrayContaining(['HistoryPolicy', 'Sink', 'NetworkPolicy']));
    const file = join(dir, 'all-rendered.yaml');
    await writeFile(file, rendered);
    const out = await cp.kubectl(['apply', '--dry-run=server', '-f', file]);
    expect(out.split('\n').filter((l) => l.includes('(server dry run)')).length).toBe(kinds.length);
    // The ServiceMonitor's CRD (Prometheus Operator) is not on this control plane: its shape.
    const monitor = docs(
      await helm('template', 'h', CHART, '--set', 'serviceMonitor.enabled=true'),
    ).find((o) => o.kind === 'ServiceMonitor') as unknown as {
      spec: { endpoints: { port: string }[] };
    };
    expect(monitor.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '30s' },
    ]);
  });

  it('installs, upgrades and uninstalls; the operator with its ServiceAccount records a policy from values', async () => {
    const ns = uniqueName('helm');
    const name = uniqueName('hs');
    const watched = uniqueName('helm-app');
    const policy = uniqueName('helm-policy');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: watched } } });
    const spec = (events: boolean) =>
      JSON.stringify({
        [policy]: {
          resources: [{ group: '', kinds: ['Service'] }],
          events,
          namespaces: { include: [watched] },
        },
      });
    await helm(
      'install',
      'hindsight',
      CHART,
      '-n',
      ns,
      '--create-namespace',
      '--set',
      `name=${name}`,
      '--set-json',
      `policies=${spec(false)}`,
    );
    let op: OperatorProcess | undefined;
    const data = await mkdtemp(join(tmpdir(), 'hindsight-helm-data-'));
    try {
      expect(await cp.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'name'])).toContain(
        `statefulset.apps/${name}`,
      );
      expect(await cp.kubectl(['get', 'clusterrole', `${name}-watch`, '-o', 'name'])).toContain(
        name,
      );
      const kubeconfig = await serviceAccountKubeconfig(cp, { namespace: ns, name });
      op = await OperatorProcess.start({
        kubeconfig,
        dataDir: data,
        args: ['--auth', 'none', '--namespace', ns],
      });
      await waitForPolicyReady(cp, policy);
      await core.createNamespacedService({
        namespace: watched,
        body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } },
      });
      await waitFor('the Service to be recorded', 60_000, async () => {
        const res = await fetch(`${op!.url}/api/v1/resources?namespace=${watched}&kind=Service`);
        const page = (await res.json()) as { items: { name: string }[] };
        return page.items.some((o) => o.name === 'web');
      });

      await helm(
        'upgrade',
        'hindsight',
        CHART,
        '-n',
        ns,
        '--set',
        `name=${name}`,
        '--set',
        'maxDisk=2Gi',
        '--set-json',
        `policies=${spec(true)}`,
      );
      expect(await cp.kubectl(['get', 'hp', policy, '-o', 'jsonpath={.spec.events}'])).toBe('true');
      expect(
        await cp.kubectl([
          'get',
          'statefulset',
          name,
          '-n',
          ns,
          '-o',
          'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="HINDSIGHT_MAX_DISK")].value}',
        ]),
      ).toBe('2Gi');
    } finally {
      await op?.stop();
      await rm(data, { recursive: true, force: true });
    }
    await helm('uninstall', 'hindsight', '-n', ns, '--wait');
    for (const what of [
      ['statefulset', name, '-n', ns],
      ['clusterrole', name],
      ['hp', policy],
    ]) {
      expect(
        await cp.kubectl(['get', ...what, '--ignore-not-found', '-o', 'name']),
        what.join(' '),
      ).toBe('');
    }
    // CRDs are not removed with a release (Helm's rule: they hold everyone's policies).
    expect(await cp.kubectl(['get', 'crd', 'historypolicies.hindsight.dev', '-o', 'name'])).toBe(
      'customresourcedefinition.apiextensions.k8s.io/historypolicies.hindsight.dev\n',
    );
    await cp.kubectl(['delete', 'namespace', ns, watched, '--wait=false']);
  }, 300_000);
});
