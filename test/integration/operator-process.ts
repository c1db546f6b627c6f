// Runs the real operator (`node src/main.ts`) as a child process for integration tests, with the
// least-privilege ServiceAccount of manifests/rbac.yaml, optionally through a TCP proxy the test
// can cut.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, type ControlPlane } from '../cluster/control-plane.ts';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A loopback TCP proxy to the API server whose connections a test can cut at will. */
export class CuttableProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly sockets: Set<Socket>;

  private constructor(server: Server, port: number, sockets: Set<Socket>) {
    this.server = server;
    this.port = port;
    this.sockets = sockets;
  }

  static async start(upstream: URL): Promise<CuttableProxy> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const up = connect(Number(upstream.port), upstream.hostname);
      sockets.add(client);
      sockets.add(up);
      const close = () => {
        client.destroy();
        up.destroy();
        sockets.delete(client);
        sockets.delete(up);
      };
      client.on('error', close).on('close', close);
      up.on('error', close).on('close', close);
      client.pipe(up).pipe(client);
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    return new CuttableProxy(server, port, sockets);
  }

  /** Open client connections. */
  get open(): number {
    return this.sockets.size / 2;
  }

  /** Destroys every open connection (as a network failure would); new ones still work. */
  cut(): number {
    const n = this.open;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return n;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Applies the CRDs, the namespace and the operator's RBAC, and returns a kubeconfig for its ServiceAccount. */
export async function operatorKubeconfig(cp: ControlPlane, server?: string): Promise<string> {
  await cp.kubectl(['apply', '-f', join(ROOT, 'crds')]);
  await cp.kubectl(['apply', '-f', join(ROOT, 'manifests/namespace.yaml')]);
  await cp.kubectl(['apply', '-f', join(ROOT, 'manifests/rbac.yaml')]);
  await cp.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/historypolicies.hindsight.dev',
    'crd/sinks.hindsight.dev',
  ]);
  return serviceAccountKubeconfig(cp, { namespace: 'hindsight-system', name: 'hindsight' }, server);
}

/** A kubeconfig presenting a token of the ServiceAccount `sa` (valid 2 h) to the control plane. */
export async function serviceAccountKubeconfig(
  cp: ControlPlane,
  sa: { namespace: string; name: string },
  server?: string,
): Promise<string> {
  const token = (
    await cp.kubectl(['create', 'token', sa.name, '-n', sa.namespace, '--duration=2h'])
  ).trim();
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-sa-'));
  const file = join(dir, 'kubeconfig');
  const ca = readFileSync(cp.state.pki.caCert).toString('base64');
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "${server ?? cp.state.server}", certificate-authority-data: ${ca}}}]
users: [{name: hindsight, user: {token: "${token}"}}]
contexts: [{name: hindsight, context: {cluster: local, user: hindsight}}]
current-context: hindsight
`,
    { mode: 0o600 },
  );
  return file;
}

export interface OperatorOptions {
  kubeconfig: string;
  dataDir: string;
  args?: string[];
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Flags for node itself, such as the V8 flags of `npm start`. */
  nodeArgs?: readonly string[];
  /** Serve HTTPS with this certificate and key (--tls-cert, --tls-key). */
  tls?: { cert: string; key: string };
}

export class OperatorProcess {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly port: number;
  readonly host: string;
  readonly scheme: 'http' | 'https';

  private constructor(child: ChildProcess, port: number, host: string, scheme: 'http' | 'https') {
    this.child = child;
    this.port = port;
    this.host = host;
    this.scheme = scheme;
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.lines.push({ msg: line });
      }
    });
  }

  static async start(o: OperatorOptions): Promise<OperatorProcess> {
    const port = await freePort();
    const host = o.host ?? '127.0.0.1';
    const child = spawn(
      process.execPath,
      [
        ...(o.nodeArgs ?? []),
        MAIN,
        '--kubeconfig',
        o.kubeconfig,
        '--data-dir',
        o.dataDir,
        '--listen',
        `${host}:${port}`,
        '--log-level',
        'debug',
        ...(o.tls ? ['--tls-cert', o.tls.cert, '--tls-key', o.tls.key] : []),
        ...(o.args ?? []),
      ],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const op = new OperatorProcess(child, port, host, o.tls ? 'https' : 'http');
    await op.waitForLog('Serving HTTP', 30_000);
    return op;
  }

  get url(): string {
    return `${this.scheme}://${this.host}:${this.port}`;
  }

  async waitForLog(msg: string, ms = 30_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => l.msg === msg);
      if (hit) return hit;
      if (this.child.exitCode !== null)
        throw new Error(
          `the operator exited (${this.child.exitCode}) before logging '${msg}':\n${this.tail()}`,
        );
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the operator to log '${msg}':\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  tail(n = 30): string {
    return this.lines
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }

  /** SIGTERM and wait: the operator flushes its last batch. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A fresh namespace, a HistoryPolicy recording its ConfigMaps, and the operator's kubeconfig
 * (with ConfigMaps granted). Undo steps are pushed onto `cleanup`.
 */
export async function configMapRecording(
  cp: ControlPlane,
  prefix: string,
  cleanup: (() => unknown)[],
): Promise<{ namespace: string; kubeconfig: string }> {
  const kubeconfig = await operatorKubeconfig(cp);
  await cp.kubectl([
    'apply',
    '-f',
    join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
  ]);
  const namespace = `${prefix}-${Date.now().toString(36)}`;
  await cp.kubectl(['create', 'namespace', namespace]);
  cleanup.push(() => cp.kubectl(['delete', 'namespace', namespace, '--wait=false']));
  const dir = await mkdtemp(join(tmpdir(), 'hindsight-policy-'));
  const file = join(dir, 'policy.json');
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'hindsight.dev/v1alpha1',
      kind: 'HistoryPolicy',
      metadata: { name: namespace },
      spec: {
        resources: [{ group: '', kinds: ['ConfigMap'] }],
        events: false,
        namespaces: { include: [namespace] },
      },
    }),
  );
  await cp.kubectl(['apply', '-f', file]);
  cleanup.push(() => cp.kubectl(['delete', 'hp', namespace, '--ignore-not-found']));
  return { namespace, kubeconfig };
}
