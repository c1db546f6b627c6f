// A real local Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, built from upstream sources by build.sh and started on 127.0.0.1 with
// free ports, TLS, client-certificate authentication and RBAC.
//
// Every process is started detached with its pid in `<dir>/pids`; a small reaper process kills
// them when the owning process dies, so an interrupted or crashed test run leaves nothing behind.
// The state is kept in `<dir>/state.json`, so another process (a test worker, `cluster:down`) can
// attach to a running control plane and stop or restart its components.
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makePki, type Pki } from './pki.ts';

const here = dirname(fileURLToPath(import.meta.url));
const exec = promisify(execFile);

export type ComponentName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export interface ComponentState {
  name: ComponentName;
  pid: number;
  argv: string[];
  log: string;
  /** URL whose 200 answer means the component is up. */
  health: string;
}

export interface ClusterState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  server: string;
  etcdUrl: string;
  pki: Pki;
  components: ComponentState[];
  reaperPid: number | null;
}

export interface StartOptions {
  /** Directory for data, certificates, logs and state; created if missing. */
  dir: string;
  /** Process whose death stops the control plane; null keeps it running until `stop()`. */
  owner: number | null;
  /** Keep the directory (data and logs) when the owner dies. */
  keep?: boolean;
  /** Number of kwok Nodes to create. */
  nodes?: number;
  /** Progress messages. */
  log?: (message: string) => void;
}

const ORDER: ComponentName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

/** Runs build.sh (a no-op when the cache is warm) and returns the directory of the binaries. */
export async function ensureBinaries(log: (m: string) => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(here, 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else {
        const tail = err.trim().split('\n').slice(-15).join('\n');
        reject(
          new Error(
            `building the local control plane failed (test/cluster/build.sh exited ${code}):\n${tail}`,
          ),
        );
      }
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function kubeconfigYaml(server: string, pki: Pki): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: hindsight-local
  cluster:
    server: ${server}
    certificate-authority: ${pki.caCert}
users:
- name: admin
  user:
    client-certificate: ${pki.adminCert}
    client-key: ${pki.adminKey}
contexts:
- name: hindsight-local
  context:
    cluster: hindsight-local
    user: admin
current-context: hindsight-local
`;
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const binDir = await ensureBinaries(log);
  const dir = opts.dir;
  await mkdir(join(dir, 'pki'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const pki = await makePki(join(dir, 'pki'));
  const [etcdPort, peerPort, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  const server = `https://127.0.0.1:${apiPort}`;
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(server, pki), { mode: 0o600 });
  const bin = (n: string) => join(binDir, n);
  const argv: Record<ComponentName, { argv: string[]; health: string }> = {
    etcd: {
      health: `${etcdUrl}/health`,
      argv: [
        bin('etcd'),
        '--name=etcd',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=etcd=http://127.0.0.1:${peerPort}`,
        // Test data only: skipping fsync keeps the suite fast on slow disks.
        '--unsafe-no-fsync=true',
      ],
    },
    'kube-apiserver': {
      health: `${server}/readyz`,
      argv: [
        bin('kube-apiserver'),
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'apiserver')}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        // Front-proxy (aggregation) authentication, as in a kubeadm cluster; without it every
        // component logs a missing requestheader CA bundle.
        `--requestheader-client-ca-file=${pki.caCert}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        '--authorization-mode=Node,RBAC',
        '--allow-privileged=true',
        // The API server may not publish a loopback address as the `kubernetes` Service endpoint.
        '--endpoint-reconciler-type=none',
        // Pod logs (and exec, port-forward) go to the Node's kubelet endpoint, which is kwok's
        // server: its InternalIP, since the Hostname address (the Node name) does not resolve.
        // kwok serves the API server's certificate (valid for 127.0.0.1), so it is verified
        // against our CA; kwok asks for no client certificate.
        '--kubelet-preferred-address-types=InternalIP',
        `--kubelet-certificate-authority=${pki.caCert}`,
      ],
    },
    'kube-controller-manager': {
      health: `https://127.0.0.1:${kcmPort}/healthz`,
      argv: [
        bin('kube-controller-manager'),
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(dir, 'kcm')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
      ],
    },
    'kube-scheduler': {
      health: `https://127.0.0.1:${schedPort}/healthz`,
      argv: [
        bin('kube-scheduler'),
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${schedPort}`,
        `--cert-dir=${join(dir, 'scheduler')}`,
        '--leader-elect=false',
      ],
    },
    kwok: {
      health: `http://127.0.0.1:${kwokPort}/healthz`,
      argv: [
        bin('kwok'),
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(here, 'kwok-stages.yaml')}`,
        '--manage-all-nodes=true',
        // The kwok Nodes' kubelet endpoint (status.addresses InternalIP and daemonEndpoints
        // port) is kwok's own server, which answers the API server's /containerLogs requests
        // over TLS; plain HTTP on the same port keeps serving /healthz.
        `--server-address=127.0.0.1:${kwokPort}`,
        '--node-ip=127.0.0.1',
        `--node-port=${kwokPort}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        // Which file a fake container's log is read from is declared in the API server by the
        // tests, with kwok's Logs (one Pod, by name) or ClusterLogs (Pods selected by namespace
        // and/or name; when several match, kwok tries them in no fixed order) objects:
        // spec.logs[] = { containers? (none: every other container), logsFile, previousLogsFile? }.
        // The files are in the CRI log format ("<RFC3339Nano time> stdout F <line>"), kwok reads
        // them on every request, and `follow` streams lines appended later until the client hangs
        // up (kwok cannot tell that a container stopped). The CRDs are installed before kwok.
        '--enable-crds=Logs,ClusterLogs',
        '--cidr=10.1.0.0/16',
      ],
    },
  };
  const state: ClusterState = {
    dir,
    binDir,
    kubeconfig,
    server,
    etcdUrl,
    pki,
    components: ORDER.map((name) => ({
      name,
      pid: 0,
      argv: argv[name].argv,
      health: argv[name].health,
      log: join(dir, 'logs', `${name}.log`),
    })),
    reaperPid: null,
  };
  const cp = new ControlPlane(state);
  await cp.saveState();
  if (opts.owner !== null) await cp.startReaper(opts.owner, opts.keep ?? false);
  try {
    for (const name of ORDER) {
      if (name === 'kwok') await cp.installKwokLogsCrds();
      log(`cluster: starting ${name}`);
      await cp.startComponent(name);
    }
    await cp.createNodes(opts.nodes ?? 2);
    await cp.waitForDefaultServiceAccount();
  } catch (err) {
    const logs = cp.recentLogs(20);
    await cp.stop();
    throw new Error(`the local control plane did not start: ${(err as Error).message}\n${logs}`, {
      cause: err,
    });
  }
  return cp;
}

export class ControlPlane {
  readonly state: ClusterState;

  constructor(state: ClusterState) {
    this.state = state;
  }

  /** Attaches to a control plane started by another process. */
  static async attach(dir: string): Promise<ControlPlane> {
    const file = join(dir, 'state.json');
    if (!existsSync(file)) {
      throw new Error(
        `no local control plane is running in ${dir} (no state.json); start one with npm run cluster:up`,
      );
    }
    return new ControlPlane(JSON.parse(await readFile(file, 'utf8')) as ClusterState);
  }

  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  private component(name: ComponentName): ComponentState {
    const c = this.state.components.find((x) => x.name === name);
    if (!c) throw new Error(`unknown control-plane component ${name}`);
    return c;
  }

  async saveState(): Promise<void> {
    await writeFile(join(this.state.dir, 'state.json'), JSON.stringify(this.state, null, 2));
    const pids = this.state.components.map((c) => c.pid).filter((p) => p > 0);
    await writeFile(join(this.state.dir, 'pids'), pids.join('\n') + '\n');
  }

  /**
   * Starts a process that kills every component once `owner` has exited, and removes the
   * directory unless `keep`.
   */
  async startReaper(owner: number, keep: boolean): Promise<void> {
    const pidsFile = join(this.state.dir, 'pids');
    const script = `
      while kill -0 ${owner} 2>/dev/null; do sleep 1; done
      for p in $(cat '${pidsFile}'); do kill -TERM "$p" 2>/dev/null; done
      sleep 5
      for p in $(cat '${pidsFile}'); do kill -KILL "$p" 2>/dev/null; done
      ${keep ? '' : `rm -rf '${this.state.dir}'`}`;
    const child = spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' });
    child.unref();
    this.state.reaperPid = child.pid ?? null;
    await this.saveState();
  }

  async startComponent(name: ComponentName): Promise<void> {
    const c = this.component(name);
    const [cmd, ...args] = c.argv;
    if (!cmd) throw new Error(`no command for ${name}`);
    const fd = openSync(c.log, 'a');
    try {
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
      child.unref();
      if (!child.pid) throw new Error(`could not start ${cmd}`);
      c.pid = child.pid;
    } finally {
      closeSync(fd);
    }
    await this.saveState();
    await waitFor(`${name} to become healthy at ${c.health}`, 90_000, async () => {
      if (!alive(c.pid)) throw new Fatal(`${name} exited during start-up; see ${c.log}`);
      return (await this.probe(c.health)) === 200;
    });
  }

  async stopComponent(name: ComponentName, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.component(name);
    await terminate(c.pid, signal);
    c.pid = 0;
    await this.saveState();
  }

  /** Stops a component and starts it again with the same arguments and data. */
  async restart(name: ComponentName): Promise<void> {
    await this.stopComponent(name);
    await this.startComponent(name);
  }

  /** GETs a URL with the admin credentials; returns the status code, or 0 when unreachable. */
  probe(url: string): Promise<number> {
    const u = new URL(url);
    const pki = this.state.pki;
    return new Promise((resolve) => {
      const onRes = (res: { statusCode?: number; resume(): void }) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      };
      const req =
        u.protocol === 'https:'
          ? request(
              url,
              {
                ca: readFileSync(pki.caCert),
                cert: readFileSync(pki.adminCert),
                key: readFileSync(pki.adminKey),
                // kube-controller-manager and kube-scheduler serve self-signed certificates.
                rejectUnauthorized: u.port === new URL(this.state.server).port,
                timeout: 2000,
              },
              onRes,
            )
          : httpRequest(url, { timeout: 2000 }, onRes);
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  /**
   * Compacts etcd at its current revision, so watches and lists from an older resourceVersion
   * get 410 Gone once the API server's watch cache no longer covers them. Returns the revision.
   */
  async compactEtcd(): Promise<number> {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${this.state.etcdUrl}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`etcd ${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { header?: { revision?: string } };
    };
    const revision = Number(
      (await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') })).header?.revision,
    );
    await post('/v3/kv/compaction', { revision: String(revision), physical: true });
    return revision;
  }

  /** Runs the built kubectl against this control plane. */
  async kubectl(args: string[]): Promise<string> {
    try {
      const { stdout } = await exec(
        join(this.state.binDir, 'kubectl'),
        [`--kubeconfig=${this.kubeconfig}`, ...args],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr?.trim() ?? String(err)}`, {
        cause: err,
      });
    }
  }

  /** Installs kwok's Logs and ClusterLogs CRDs, which kwok watches (--enable-crds). */
  async installKwokLogsCrds(): Promise<void> {
    await this.kubectl(['apply', '-f', join(here, 'kwok-logs-crds.yaml')]);
    await this.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/logs.kwok.x-k8s.io',
      'crd/clusterlogs.kwok.x-k8s.io',
    ]);
  }

  async createNodes(count: number): Promise<void> {
    const nodes = Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `kwok-node-${i}`,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: {
          'kubernetes.io/hostname': `kwok-node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
        capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      },
    }));
    const file = join(this.state.dir, 'nodes.json');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes }));
    await this.kubectl(['apply', '-f', file]);
    await waitFor(`${count} kwok Nodes to become Ready`, 60_000, async () => {
      const out = await this.kubectl([
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      ]);
      return out.split('\n').filter((s) => s === 'True').length >= count;
    });
  }

  async waitForDefaultServiceAccount(): Promise<void> {
    await waitFor(
      'the controller manager to create the default ServiceAccount',
      60_000,
      async () => {
        try {
          await this.kubectl(['get', 'serviceaccount', 'default', '-n', 'default']);
          return true;
        } catch {
          return false;
        }
      },
    );
  }

  /** The last lines of every component's log, for explaining a failed test. */
  recentLogs(lines = 30): string {
    return this.state.components
      .map((c) => {
        let text: string;
        try {
          text = readFileSync(c.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
        } catch {
          text = '(no log)';
        }
        return `--- ${c.name} (${c.log}) ---\n${text}`;
      })
      .join('\n');
  }

  /** Stops every component (newest first) and the reaper. */
  async stop(): Promise<void> {
    for (const c of [...this.state.components].reverse()) {
      if (c.pid > 0) await terminate(c.pid, 'SIGTERM');
      c.pid = 0;
    }
    if (this.state.reaperPid) await terminate(this.state.reaperPid, 'SIGKILL');
    this.state.reaperPid = null;
    await this.saveState();
  }

  /** Stops everything and removes the directory. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.state.dir, { recursive: true, force: true });
  }
}

/** Thrown inside a waitFor condition to give up at once. */
class Fatal extends Error {}

export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function terminate(pid: number, signal: NodeJS.Signals): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
}
