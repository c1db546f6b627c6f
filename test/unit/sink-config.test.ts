// Pure parts of Sinks: compiling a spec (what each field becomes, problems naming the field),
// the Sink status, Standard Webhooks signatures, partition and key names, Retry-After.
import { describe, expect, it } from 'vitest';
import type { SinkSpec } from '../../src/api/sink.ts';
import { buildSinkStatus, capLost, MAX_LOST_RANGES } from '../../src/controllers/sink/status.ts';
import { compileSink, type Resolved, type SecretLookup } from '../../src/sinks/config.ts';
import { batchPath, parseRetryAfter, partition } from '../../src/sinks/destination.ts';
import { objectKey } from '../../src/sinks/destinations/s3.ts';
import { sign, signingKey } from '../../src/sinks/destinations/webhook.ts';

function resolved(
  secrets: Record<string, SecretLookup> = {},
  over: Partial<Resolved> = {},
): Resolved {
  return {
    secrets: new Map(Object.entries(secrets)),
    policies: new Map(),
    namespaceLabels: null,
    namespace: 'hindsight-system',
    ...over,
  };
}

const found = (data: Record<string, string>): SecretLookup => ({
  found: true,
  data,
  resourceVersion: '1',
});

describe('compileSink', () => {
  it('applies the defaults to a minimal file Sink', () => {
    const r = compileSink({ type: 'file', file: { directory: '/export' } }, resolved());
    expect(r.problems).toEqual([]);
    expect(r.settings).toEqual({
      filter: {
        changes: true,
        events: true,
        gaps: true,
        namespaces: null,
        exclude: [],
        kinds: null,
        policies: null,
      },
      maxRecords: 5000,
      maxBytes: 8 * 2 ** 20,
      maxDelayMs: 60_000,
      delivery: 'atLeastOnce',
      startFrom: 'now',
      destination: { type: 'file', directory: '/export', maxFiles: 1000, maxAgeMs: null },
    });
  });

  it('resolves webhook headers and signing key, and S3 credentials, from Secrets', () => {
    const hook = compileSink(
      {
        type: 'webhook',
        webhook: {
          url: 'https://hooks.example.com/h',
          format: 'json',
          headersSecretRef: { name: 'h' },
          signingSecretRef: { name: 's', key: 'key' },
          timeout: '5s',
        },
      },
      resolved({ h: found({ Authorization: 'Bearer t' }), s: found({ key: 'whsec_abc' }) }),
    );
    expect(hook.settings?.destination).toMatchObject({
      type: 'webhook',
      format: 'json',
      headers: { Authorization: 'Bearer t' },
      signingSecret: 'whsec_abc',
      timeoutMs: 5000,
    });
    const s3 = compileSink(
      {
        type: 's3',
        s3: { bucket: 'b', prefix: '/p/q/', credentialsSecretRef: { name: 'c' } },
      },
      resolved({ c: found({ AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'key' }) }),
    );
    expect(s3.settings?.destination).toMatchObject({
      prefix: 'p/q',
      region: 'us-east-1',
      forcePathStyle: false,
      credentials: { accessKeyId: 'id', secretAccessKey: 'key' },
    });
  });

  it('names the field of each problem, Secrets included', () => {
    const problems = (spec: SinkSpec, secrets: Record<string, SecretLookup> = {}) =>
      compileSink(spec, resolved(secrets)).problems.map((p) => `${p.field}: ${p.message}`);
    expect(problems({ type: 's3' })).toEqual(['spec.s3: is required when spec.type is s3']);
    expect(
      problems(
        { type: 's3', s3: { bucket: 'b', credentialsSecretRef: { name: 'gone' } } },
        { gone: { found: false, message: 'Secret hindsight-system/gone does not exist' } },
      ),
    ).toEqual(['spec.s3.credentialsSecretRef.name: Secret hindsight-system/gone does not exist']);
    expect(
      problems(
        { type: 's3', s3: { bucket: 'b', credentialsSecretRef: { name: 'c' } } },
        { c: found({ AWS_ACCESS_KEY_ID: 'id' }) },
      ),
    ).toEqual([
      'spec.s3.credentialsSecretRef.name: Secret hindsight-system/c needs the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ]);
    expect(
      problems(
        { type: 'webhook', webhook: { url: 'ftp://x', signingSecretRef: { name: 's', key: 'k' } } },
        { s: found({ other: 'x' }) },
      ),
    ).toEqual([
      "spec.webhook.url: 'ftp://x' is not an http or https URL",
      'spec.webhook.signingSecretRef.key: Secret hindsight-system/s has no key k',
    ]);
    expect(
      problems({
        type: 'file',
        file: { directory: 'rel' },
        batch: { maxBytes: 'lots', maxDelay: 'soon' },
        startFrom: 'yesterday',
        policies: ['nope'],
      }),
    ).toEqual([
      'spec.policies[0]: HistoryPolicy nope does not exist',
      "spec.batch.maxBytes: 'lots' is not a size such as 8Mi",
      "spec.batch.maxDelay: 'soon' is not a duration such as 30s, 5m or 1h",
      "spec.startFrom: 'yesterday' is not now, beginning or an RFC 3339 time",
      "spec.file.directory: 'rel' is not an absolute path",
    ]);
  });

  it('narrows namespaces by selector and by the policies named', () => {
    const labels = new Map([
      ['shop', { team: 'a' }],
      ['ops', { team: 'b' }],
      ['web', { team: 'a' }],
    ]);
    const r = compileSink(
      {
        type: 'file',
        file: { directory: '/x' },
        namespaces: { include: ['shop', 'ops'], selector: { matchLabels: { team: 'a' } } },
        policies: ['p'],
      },
      resolved(
        {},
        {
          namespaceLabels: labels,
          policies: new Map([
            [
              'p',
              {
                resources: [{ group: 'apps', kinds: ['Deployment'] }],
                events: false,
                namespaces: { selector: { matchLabels: { team: 'a' } } },
              },
            ],
          ]),
        },
      ),
    );
    expect(r.settings?.filter.namespaces).toEqual(['shop']);
    expect(r.settings?.filter.policies).toEqual([
      { kinds: ['apps/Deployment'], events: false, namespaces: ['shop', 'web'], exclude: [] },
    ]);
  });
});

describe('Sink status', () => {
  const now = new Date('2026-12-03T09:00:00Z');
  const base = {
    generation: 3,
    specProblems: [],
    credentialProblems: [],
    usesSecrets: true,
    destination: 's3://b',
    pending: 0,
    lost: [],
    previous: undefined,
    now,
  };

  it('is Ready while delivering and names the failure when not', () => {
    const ok = buildSinkStatus({
      ...base,
      runner: { cursor: 10, delivered: 9, lastDeliveryTime: now.getTime(), failure: null },
    });
    expect(ok).toMatchObject({ observedGeneration: 3, delivered: 9, cursor: 10, pending: 0 });
    expect(ok.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'UpToDate'],
      ['CredentialsResolved', 'True', 'Resolved'],
      ['Delivering', 'True', 'UpToDate'],
    ]);
    const failing = buildSinkStatus({
      ...base,
      pending: 5,
      previous: ok,
      now: new Date(now.getTime() + 60_000),
      runner: {
        cursor: 10,
        delivered: 9,
        lastDeliveryTime: now.getTime(),
        failure: {
          reason: 'not-found',
          message: 'bucket b does not exist (NoSuchBucket)',
          permanent: true,
          since: now.getTime(),
        },
      },
    });
    const ready = failing.conditions?.[0];
    expect(ready).toMatchObject({ status: 'False', reason: 'BucketNotFound' });
    expect(ready?.message).toBe(
      'bucket b does not exist (NoSuchBucket); retrying slowly until it is accepted since 2026-12-03T09:00:00.000Z',
    );
    expect(ready?.lastTransitionTime).toBe('2026-12-03T09:01:00.000Z');
    // The credentials condition did not flip: its transition time stays.
    expect(failing.conditions?.[1]?.lastTransitionTime).toBe(
      ok.conditions?.[1]?.lastTransitionTime,
    );
    expect(failing.lastError).toMatch(/NoSuchBucket/);
  });

  it('reports a missing Secret without a runner', () => {
    const s = buildSinkStatus({
      ...base,
      pending: null,
      runner: null,
      credentialProblems: [
        {
          field: 'spec.s3.credentialsSecretRef.name',
          message: 'Secret hindsight-system/c does not exist',
        },
      ],
    });
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'SecretNotFound'],
      ['CredentialsResolved', 'False', 'SecretNotFound'],
      ['Delivering', 'False', 'SecretNotFound'],
    ]);
    expect(s.delivered).toBeUndefined();
  });

  it('keeps the newest loss ranges and sums the older ones', () => {
    const lost = Array.from({ length: MAX_LOST_RANGES + 5 }, (_, i) => ({
      fromSeq: i * 10 + 1,
      toSeq: i * 10 + 5,
      records: 5,
      reason: 'retention',
      time: `t${i}`,
    }));
    const capped = capLost(lost);
    expect(capped).toHaveLength(MAX_LOST_RANGES);
    expect(capped[0]).toEqual({
      fromSeq: 1,
      toSeq: 55,
      records: 30,
      reason: 'retention',
      time: 't5',
    });
    expect(capped.reduce((n, l) => n + l.records, 0)).toBe(lost.length * 5);
  });
});

describe('Destinations', () => {
  it('signs as the Standard Webhooks specification does', () => {
    // The specification's test vector.
    const key = signingKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(
      sign(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, Buffer.from('{"test": 2432232314}')),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('names batches by hour partition (UTC) and zero-padded sequence range', () => {
    const t = Date.parse('2026-12-03T23:59:59.999Z');
    expect(partition(t)).toBe('dt=2026-12-03/hour=23');
    expect(batchPath({ firstSeq: 7, lastSeq: 1234, firstTime: t })).toBe(
      'dt=2026-12-03/hour=23/000000000007-000000001234.ndjson.gz',
    );
    expect(objectKey('hist/prod', { firstSeq: 1, lastSeq: 2, firstTime: t })).toBe(
      'hist/prod/dt=2026-12-03/hour=23/000000000001-000000000002.ndjson.gz',
    );
    expect(objectKey('', { firstSeq: 1, lastSeq: 2, firstTime: t })).toBe(
      'dt=2026-12-03/hour=23/000000000001-000000000002.ndjson.gz',
    );
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-12-03T09:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 09:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
