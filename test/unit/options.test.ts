import { describe, expect, it } from 'vitest';
import { parseListen, parseOptions, UsageError } from '../../src/options.ts';

function options(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseOptions(argv, env);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.options;
}

describe('parseOptions', () => {
  it('uses defaults when nothing is given', () => {
    expect(options([])).toEqual({
      kubeconfig: undefined,
      context: undefined,
      dataDir: './data',
      listen: { host: '127.0.0.1', port: 8080 },
      logLevel: 'info',
      maxDisk: null,
      retentionIntervalMs: 60_000,
      auth: 'token',
      restore: undefined,
      clusterName: 'default',
      namespace: 'hindsight-system',
      sinkMaxHoldMs: 24 * 3_600_000,
      tls: null,
      listenPlain: null,
      tokenAudience: null,
      authCacheTtlMs: 10_000,
      streamAccessRefreshMs: 30_000,
    });
  });

  it('reads flags, and environment variables where no flag is given', () => {
    const env = {
      HINDSIGHT_RESTORE: '/backups/h.db',
      HINDSIGHT_CONTEXT: 'from-env',
      HINDSIGHT_LOG_LEVEL: 'warn',
      HINDSIGHT_DATA_DIR: '/env',
      POD_NAMESPACE: 'observability',
      HINDSIGHT_SINK_MAX_HOLD: 'none',
    };
    expect(
      options(
        [
          '--kubeconfig',
          '/k',
          '--context=flag',
          '--listen',
          '0.0.0.0:9090',
          '--cluster-name=prod-eu',
          '--tls-cert=/tls/tls.crt',
          '--listen-plain=0.0.0.0:8080',
        ],
        { ...env, HINDSIGHT_TLS_KEY: '/tls/tls.key', HINDSIGHT_TOKEN_AUDIENCE: 'hindsight' },
      ),
    ).toEqual({
      kubeconfig: '/k',
      context: 'flag',
      dataDir: '/env',
      listen: { host: '0.0.0.0', port: 9090 },
      logLevel: 'warn',
      maxDisk: null,
      retentionIntervalMs: 60_000,
      auth: 'token',
      restore: '/backups/h.db',
      clusterName: 'prod-eu',
      namespace: 'observability',
      sinkMaxHoldMs: null,
      tls: { cert: '/tls/tls.crt', key: '/tls/tls.key' },
      listenPlain: { host: '0.0.0.0', port: 8080 },
      tokenAudience: 'hindsight',
      authCacheTtlMs: 10_000,
      streamAccessRefreshMs: 30_000,
    });
  });

  it('wants a TLS certificate and its key together', () => {
    expect(() => parseOptions(['--tls-cert', '/tls/tls.crt'], {})).toThrow(
      /^--tls-cert needs --tls-key \(or HINDSIGHT_TLS_KEY\) too/,
    );
    expect(() => parseOptions([], { HINDSIGHT_TLS_KEY: '/k' })).toThrow(
      /^HINDSIGHT_TLS_KEY needs --tls-cert \(or HINDSIGHT_TLS_CERT\) too/,
    );
  });

  it('names the flag of a bad cluster name, namespace or Sink hold', () => {
    expect(() => parseOptions(['--cluster-name', 'Prod EU'], {})).toThrow(
      /--cluster-name must be lowercase letters.*'Prod EU'/,
    );
    expect(() => parseOptions([], { POD_NAMESPACE: 'Not_A_Namespace' })).toThrow(
      /POD_NAMESPACE must be a namespace name/,
    );
    expect(() => parseOptions(['--sink-max-hold', 'forever'], {})).toThrow(
      /--sink-max-hold must be a duration such as 24h or 7d, or none, got 'forever'/,
    );
  });

  it('names an unknown flag', () => {
    expect(() => parseOptions(['--kubeconfg', 'x'], {})).toThrow(
      /Unknown option '--kubeconfg'.*--help/,
    );
  });

  it('names the environment variable that holds a bad value', () => {
    expect(() => parseOptions([], { HINDSIGHT_LOG_LEVEL: 'loud' })).toThrow(
      new UsageError("HINDSIGHT_LOG_LEVEL must be one of debug, info, warn, error, got 'loud'"),
    );
    expect(() => parseOptions(['--log-level', 'trace'], {})).toThrow(/--log-level must be one of/);
  });

  it('parses the byte budget and retention interval, naming a bad value', () => {
    expect(options(['--max-disk', '10Gi', '--retention-interval', '30s'])).toMatchObject({
      maxDisk: 10 * 2 ** 30,
      retentionIntervalMs: 30_000,
    });
    expect(options([], { HINDSIGHT_MAX_DISK: '500M' }).maxDisk).toBe(500e6);
    expect(() => parseOptions(['--max-disk', '10GB'], {})).toThrow(
      "--max-disk must be a size such as 10Gi, 500Mi or 2G, got '10GB'",
    );
    expect(() => parseOptions([], { HINDSIGHT_RETENTION_INTERVAL: 'soon' })).toThrow(
      "HINDSIGHT_RETENTION_INTERVAL must be a duration such as 1m or 30s, got 'soon'",
    );
  });

  it('parses how long access answers are reused and how often a stream asks again, naming a bad value', () => {
    expect(options(['--auth-cache-ttl', '500ms', '--stream-access-refresh=2s'])).toMatchObject({
      authCacheTtlMs: 500,
      streamAccessRefreshMs: 2_000,
    });
    const fromEnv = options([], {
      HINDSIGHT_AUTH_CACHE_TTL: '1m',
      HINDSIGHT_STREAM_ACCESS_REFRESH: '1m30s',
    });
    expect([fromEnv.authCacheTtlMs, fromEnv.streamAccessRefreshMs]).toEqual([60_000, 90_000]);
    // A flag wins over its environment variable.
    expect(
      options(['--auth-cache-ttl', '3s'], { HINDSIGHT_AUTH_CACHE_TTL: '1m' }).authCacheTtlMs,
    ).toBe(3_000);
    expect(() => parseOptions(['--auth-cache-ttl', '10'], {})).toThrow(
      new UsageError("--auth-cache-ttl must be a duration such as 10s or 500ms, got '10'"),
    );
    expect(() => parseOptions(['--auth-cache-ttl', '0s'], {})).toThrow(
      "--auth-cache-ttl must be a duration such as 10s or 500ms, got '0s'",
    );
    expect(() => parseOptions([], { HINDSIGHT_STREAM_ACCESS_REFRESH: 'often' })).toThrow(
      "HINDSIGHT_STREAM_ACCESS_REFRESH must be a duration such as 30s or 5s, got 'often'",
    );
  });

  it('allows --auth=none only on a loopback address', () => {
    expect(options(['--auth', 'none', '--listen', '127.0.0.1:9000']).auth).toBe('none');
    expect(options(['--auth=none', '--listen', '[::1]:9000']).auth).toBe('none');
    expect(() => parseOptions(['--auth', 'none', '--listen', '0.0.0.0:8080'], {})).toThrow(
      /--auth=none serves history to anyone .* --listen is 0\.0\.0\.0:8080/,
    );
    expect(() => parseOptions([], { HINDSIGHT_AUTH: 'basic' })).toThrow(
      "HINDSIGHT_AUTH must be token or none, got 'basic'",
    );
  });

  it('rejects empty values and positional arguments', () => {
    expect(() => parseOptions(['--context', ''], {})).toThrow('--context must not be empty');
    expect(() => parseOptions(['start'], {})).toThrow(/Unexpected argument 'start'/);
  });

  it('returns help for -h', () => {
    expect(parseOptions(['-h'], {})).toEqual({ help: true });
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    [':9000', { host: '0.0.0.0', port: 9000 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
  ])('parses %s', (input, expected) => {
    expect(parseListen(input, '--listen')).toEqual(expected);
  });

  it.each(['8080', 'host:', 'host:65536', 'a:b:1', 'host:port'])(
    'rejects %s naming the source',
    (input) => {
      expect(() => parseListen(input, 'HINDSIGHT_LISTEN')).toThrow(
        /^HINDSIGHT_LISTEN must be HOST:PORT/,
      );
    },
  );
});
