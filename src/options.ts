// Command-line flags and environment variables of the operator, validated into Options.
import { parseArgs } from 'node:util';
import { parseBytes, parseDuration } from './duration.ts';
import { LOG_LEVELS, type LogLevel } from './log.ts';
import { isLoopback } from './loopback.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Options {
  /** Path of a kubeconfig file; undefined means $KUBECONFIG, ~/.kube/config or in-cluster. */
  kubeconfig: string | undefined;
  /** kubeconfig context; undefined means the current context. */
  context: string | undefined;
  dataDir: string;
  listen: ListenAddress;
  logLevel: LogLevel;
  /** Byte budget of the history volume; null for none. */
  maxDisk: number | null;
  /** How often retention runs, in ms. */
  retentionIntervalMs: number;
  /** `token`: callers authenticate with Kubernetes bearer tokens; `none`: no checks (loopback only). */
  auth: 'token' | 'none';
  /** A backup to restore into the data directory before starting (once per file). */
  restore: string | undefined;
  /** Name of the cluster in exported records and batch identities. */
  clusterName: string;
  /** The operator's namespace: where Sinks' Secrets are read. */
  namespace: string;
  /** How long past retention records a Sink has not delivered are kept for it; null: no limit. */
  sinkMaxHoldMs: number | null;
  /** PEM certificate chain and key: serve HTTPS on `listen` (re-read when the files change). */
  tls: { cert: string; key: string } | null;
  /** A plain-HTTP address for /healthz, /readyz and /metrics only; null: none. */
  listenPlain: ListenAddress | null;
  /** The audience callers' tokens must be issued for (TokenReview audiences); null: the API server's default. */
  tokenAudience: string | null;
  /** How long a TokenReview or SubjectAccessReview answer is reused, in ms: the delay before a changed RBAC binding takes effect. */
  authCacheTtlMs: number;
  /** How often an open live stream asks again what its caller may read, in ms. */
  streamAccessRefreshMs: number;
}

/** A user mistake in flags or environment, reported as one line without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: hindsight-operator [flags]

Flags (each also read from the environment variable in brackets):
  --kubeconfig PATH     kubeconfig file; default $KUBECONFIG, ~/.kube/config, or in-cluster config
  --context NAME        kubeconfig context to use [HINDSIGHT_CONTEXT]; default the current context
  --data-dir PATH       directory of the history volume [HINDSIGHT_DATA_DIR]; default ./data
  --listen HOST:PORT    address of the HTTP server (API, UI, /metrics, /healthz, /readyz)
                        [HINDSIGHT_LISTEN]; default 127.0.0.1:8080
  --tls-cert FILE, --tls-key FILE
                        serve HTTPS on --listen with this PEM certificate (chain) and key, both
                        re-read when they change, e.g. a mounted Secret [HINDSIGHT_TLS_CERT,
                        HINDSIGHT_TLS_KEY]; default plain HTTP
  --listen-plain HOST:PORT
                        also serve /healthz, /readyz and /metrics (nothing else) over plain HTTP
                        here, for probes and scrapers [HINDSIGHT_LISTEN_PLAIN]; default none
  --token-audience AUD  accept only bearer tokens issued for this audience (TokenReview
                        audiences) [HINDSIGHT_TOKEN_AUDIENCE]; default the API server's
  --auth-cache-ttl DURATION
                        how long an answer of the API server about a token or a permission is
                        reused, so how long a revoked binding still reads, e.g. 10s or 500ms
                        [HINDSIGHT_AUTH_CACHE_TTL]; default 10s
  --stream-access-refresh DURATION
                        how often an open live stream asks again what its caller may read; a
                        revoked binding stops a stream within this plus --auth-cache-ttl
                        [HINDSIGHT_STREAM_ACCESS_REFRESH]; default 30s
  --log-level LEVEL     ${LOG_LEVELS.join(', ')} [HINDSIGHT_LOG_LEVEL]; default info
  --max-disk SIZE       byte budget of the history volume, e.g. 10Gi or 500Mi [HINDSIGHT_MAX_DISK];
                        oldest history is removed beyond it; default no budget
  --auth MODE           token (callers send Kubernetes bearer tokens and see what their RBAC
                        allows) or none (no checks; only with a loopback --listen) [HINDSIGHT_AUTH];
                        default token
  --retention-interval DURATION
                        how often retention runs, e.g. 1m or 30s [HINDSIGHT_RETENTION_INTERVAL];
                        default 1m
  --restore FILE        restore this backup into the data directory before starting, keeping the
                        database it replaces; done once per file, so the flag may stay
                        [HINDSIGHT_RESTORE]
  --cluster-name NAME   name of this cluster in exported records and batch identities
                        [HINDSIGHT_CLUSTER_NAME]; default default
  --namespace NAME      the operator's namespace, where the Secrets Sinks name are read
                        [POD_NAMESPACE]; default hindsight-system
  --sink-max-hold DURATION
                        how long past their retention records a Sink has not delivered are kept
                        for it, e.g. 24h, or none for no limit (--max-disk still applies)
                        [HINDSIGHT_SINK_MAX_HOLD]; default 24h
  -h, --help            show this help
`;

export function parseListen(value: string, source: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(
      `${source} must be HOST:PORT with a port from 0 to 65535 (for example 127.0.0.1:8080 or 0.0.0.0:8080), got '${value}'`,
    );
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function parseLogLevel(value: string, source: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new UsageError(`${source} must be one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
}

function parsed(value: number | null, source: string, text: string, expected: string): number {
  if (value === null) throw new UsageError(`${source} must be ${expected}, got '${text}'`);
  return value;
}

function nonEmpty(value: string | undefined, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`${source} must not be empty`);
  return value;
}

/** Parses argv (without node and script) and env; throws UsageError naming the bad input. */
export function parseOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { help: true } | { help: false; options: Options } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'data-dir': { type: 'string' },
        listen: { type: 'string' },
        'log-level': { type: 'string' },
        'max-disk': { type: 'string' },
        'retention-interval': { type: 'string' },
        auth: { type: 'string' },
        restore: { type: 'string' },
        'cluster-name': { type: 'string' },
        namespace: { type: 'string' },
        'sink-max-hold': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'listen-plain': { type: 'string' },
        'token-audience': { type: 'string' },
        'auth-cache-ttl': { type: 'string' },
        'stream-access-refresh': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; run with --help to see the flags`, {
      cause: err,
    });
  }
  if (values.help) return { help: true };
  const pick = (flag: keyof typeof values, envName: string): [string | undefined, string] =>
    values[flag] !== undefined ? [values[flag] as string, `--${flag}`] : [env[envName], envName];

  const [context, contextSrc] = pick('context', 'HINDSIGHT_CONTEXT');
  const [dataDir, dataDirSrc] = pick('data-dir', 'HINDSIGHT_DATA_DIR');
  const [listen, listenSrc] = pick('listen', 'HINDSIGHT_LISTEN');
  const [logLevel, logLevelSrc] = pick('log-level', 'HINDSIGHT_LOG_LEVEL');
  const [maxDisk, maxDiskSrc] = pick('max-disk', 'HINDSIGHT_MAX_DISK');
  const [interval, intervalSrc] = pick('retention-interval', 'HINDSIGHT_RETENTION_INTERVAL');
  const [auth, authSrc] = pick('auth', 'HINDSIGHT_AUTH');
  const [restore, restoreSrc] = pick('restore', 'HINDSIGHT_RESTORE');
  const [clusterName, clusterNameSrc] = pick('cluster-name', 'HINDSIGHT_CLUSTER_NAME');
  const [namespace, namespaceSrc] = pick('namespace', 'POD_NAMESPACE');
  const [hold, holdSrc] = pick('sink-max-hold', 'HINDSIGHT_SINK_MAX_HOLD');
  const [tlsCert, tlsCertSrc] = pick('tls-cert', 'HINDSIGHT_TLS_CERT');
  const [tlsKey, tlsKeySrc] = pick('tls-key', 'HINDSIGHT_TLS_KEY');
  const [plain, plainSrc] = pick('listen-plain', 'HINDSIGHT_LISTEN_PLAIN');
  const [audience, audienceSrc] = pick('token-audience', 'HINDSIGHT_TOKEN_AUDIENCE');
  const [authTtl, authTtlSrc] = pick('auth-cache-ttl', 'HINDSIGHT_AUTH_CACHE_TTL');
  const [refresh, refreshSrc] = pick('stream-access-refresh', 'HINDSIGHT_STREAM_ACCESS_REFRESH');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError(
      tlsCert === undefined
        ? `${tlsKeySrc} needs --tls-cert (or HINDSIGHT_TLS_CERT) too: HTTPS takes a certificate and its key`
        : `${tlsCertSrc} needs --tls-key (or HINDSIGHT_TLS_KEY) too: HTTPS takes a certificate and its key`,
    );
  }
  if (clusterName !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(clusterName)) {
    throw new UsageError(
      `${clusterNameSrc} must be lowercase letters, digits, '.' and '-' (at most 63), got '${clusterName}'`,
    );
  }
  if (namespace !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new UsageError(`${namespaceSrc} must be a namespace name, got '${namespace}'`);
  }
  const listenAddress =
    listen === undefined ? { host: '127.0.0.1', port: 8080 } : parseListen(listen, listenSrc);
  if (auth !== undefined && auth !== 'token' && auth !== 'none') {
    throw new UsageError(`${authSrc} must be token or none, got '${auth}'`);
  }
  if (auth === 'none' && !isLoopback(listenAddress.host)) {
    throw new UsageError(
      `${authSrc}=none serves history to anyone who can connect, so it is allowed only on a loopback address; --listen is ${listenAddress.host}:${listenAddress.port}`,
    );
  }
  return {
    help: false,
    options: {
      kubeconfig: nonEmpty(values.kubeconfig, '--kubeconfig'),
      context: nonEmpty(context, contextSrc),
      dataDir: nonEmpty(dataDir, dataDirSrc) ?? './data',
      listen: listenAddress,
      auth: auth ?? 'token',
      restore: nonEmpty(restore, restoreSrc),
      logLevel: logLevel === undefined ? 'info' : parseLogLevel(logLevel, logLevelSrc),
      maxDisk:
        maxDisk === undefined
          ? null
          : parsed(parseBytes(maxDisk), maxDiskSrc, maxDisk, 'a size such as 10Gi, 500Mi or 2G'),
      clusterName: clusterName ?? 'default',
      namespace: namespace ?? 'hindsight-system',
      sinkMaxHoldMs:
        hold === undefined
          ? 24 * 3_600_000
          : hold === 'none'
            ? null
            : parsed(parseDuration(hold), holdSrc, hold, 'a duration such as 24h or 7d, or none'),
      tls:
        tlsCert === undefined || tlsKey === undefined
          ? null
          : { cert: nonEmpty(tlsCert, tlsCertSrc)!, key: nonEmpty(tlsKey, tlsKeySrc)! },
      listenPlain: plain === undefined ? null : parseListen(plain, plainSrc),
      tokenAudience: nonEmpty(audience, audienceSrc) ?? null,
      authCacheTtlMs:
        authTtl === undefined
          ? 10_000
          : parsed(parseDuration(authTtl), authTtlSrc, authTtl, 'a duration such as 10s or 500ms'),
      streamAccessRefreshMs:
        refresh === undefined
          ? 30_000
          : parsed(parseDuration(refresh), refreshSrc, refresh, 'a duration such as 30s or 5s'),
      retentionIntervalMs:
        interval === undefined
          ? 60_000
          : parsed(parseDuration(interval), intervalSrc, interval, 'a duration such as 1m or 30s'),
    },
  };
}
