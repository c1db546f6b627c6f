// Loading the kubeconfig (or in-cluster config) and connecting to the API server. This folder is
// the only place that imports the Kubernetes client library.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { toKubeError } from './errors.ts';
import { KubeHttp } from './http.ts';

export interface ConnectOptions {
  /** Explicit kubeconfig path; otherwise $KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig: string | undefined;
  context: string | undefined;
  /** How long to wait for the API server to answer. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** What to suggest when no usable kubeconfig is found; default: the local control plane. */
  hint?: string;
}

export interface Connection {
  kubeConfig: KubeConfig;
  /** Name of the context used, or `in-cluster`. */
  context: string;
  server: string;
  serverVersion: string;
}

/** A problem reaching the cluster, phrased as one sentence for the user. */
export class ConnectError extends Error {
  override name = 'ConnectError';
}

const LOCAL_CLUSTER_HINT =
  'start the local control plane with `npm run cluster:up` and export the KUBECONFIG it prints, or pass --kubeconfig/--context';

export function loadKubeConfig(opts: ConnectOptions): { kc: KubeConfig; context: string } {
  const env = opts.env ?? process.env;
  const hint = opts.hint ?? LOCAL_CLUSTER_HINT;
  const kc = new KubeConfig();
  const defaultFile = join(homedir(), '.kube', 'config');
  try {
    if (opts.kubeconfig) {
      if (!existsSync(opts.kubeconfig)) {
        throw new ConnectError(`The kubeconfig file ${opts.kubeconfig} does not exist; ${hint}.`);
      }
      kc.loadFromFile(opts.kubeconfig);
    } else if (env.KUBECONFIG || existsSync(defaultFile)) {
      kc.loadFromDefault();
    } else if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
      return { kc, context: 'in-cluster' };
    } else {
      throw new ConnectError(
        `No kubeconfig was found ($KUBECONFIG is unset and ${defaultFile} does not exist) and Hindsight is not running in a cluster; ${hint}.`,
      );
    }
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw new ConnectError(
      `The kubeconfig could not be read (${(err as Error).message}); ${hint}.`,
      {
        cause: err,
      },
    );
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ConnectError(
        `The kubeconfig has no context named '${opts.context}'; it has ${known.length ? known.join(', ') : 'none'}.`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getCurrentContext();
  if (!context || !kc.getCurrentCluster()) {
    throw new ConnectError(
      `The kubeconfig has no usable current context; pass --context or ${hint}.`,
    );
  }
  return { kc, context };
}

/** Loads the configuration and asks the API server for its version. */
export async function connect(opts: ConnectOptions): Promise<Connection> {
  const { kc, context } = loadKubeConfig(opts);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // Through KubeHttp (undici) rather than the generated client, whose keep-alive agent would hold
  // a short-lived CLI process open after its work is done.
  const http = new KubeHttp(kc);
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      http.get<{ gitVersion: string }>('/version'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutMs / 1000}s`)),
          timeoutMs,
        );
      }),
    ]);
    return { kubeConfig: kc, context, server, serverVersion: version.gitVersion };
  } catch (err) {
    const e = toKubeError(err, 'no version');
    const detail = e.message.replace(/^(no version|GET \/version): /, '');
    const why =
      e.reason === 'Unreachable' || e.reason === 'Other'
        ? `Cannot reach the Kubernetes API server of context '${context}' at ${server} (${detail})`
        : `The Kubernetes API server of context '${context}' at ${server} refused the credentials (${detail})`;
    throw new ConnectError(`${why}; ${opts.hint ?? LOCAL_CLUSTER_HINT}.`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
