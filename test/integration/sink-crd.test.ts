// The Sink CRD and its samples against a real API server: what the schema accepts, defaults and
// rejects, and what kubectl prints from the status the operator writes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  loadAllYaml,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { GROUP, VERSION } from '../../src/api/history-policy.ts';
import { SINK_PLURAL, type Sink, type SinkSpec, type SinkStatus } from '../../src/api/sink.ts';
import { toKubeError, type KubeError } from '../../src/kube/errors.ts';
import { controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';

const ROOT = join(import.meta.dirname, '../..');
const CRD_FILE = join(ROOT, 'crds/hindsight.dev_sinks.yaml');
const SAMPLES = join(ROOT, 'config/samples');
const CRD_NAME = `${SINK_PLURAL}.${GROUP}`;

const kc = kubeConfig();
const ext = kc.makeApiClient(ApiextensionsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const sinkApi = { group: GROUP, version: VERSION, plural: SINK_PLURAL };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let cp: ControlPlane;
/** Sinks this file created, and the CRD when this file installed it; cleanup deletes them. */
const created: string[] = [];

function sink(name: string, spec: unknown): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Sink', metadata: { name }, spec };
}

async function createSink(name: string, spec: unknown): Promise<Sink> {
  const got = (await custom.createClusterCustomObject({
    ...sinkApi,
    body: sink(name, spec),
    fieldValidation: 'Strict',
  })) as Sink;
  created.unshift(`${CRD_NAME}/${got.metadata.name}`);
  return got;
}

/** What a server-side dry-run create of a Sink with this spec stores, or its error. */
async function dryRun(spec: unknown): Promise<{ stored?: Sink; err?: KubeError }> {
  try {
    const stored = (await custom.createClusterCustomObject({
      ...sinkApi,
      body: sink(uniqueName('dry-run'), spec),
      dryRun: 'All',
      fieldValidation: 'Strict',
    })) as Sink;
    return { stored };
  } catch (err) {
    return { err: toKubeError(err, 'creating the sink') };
  }
}

/** `kubectl get ARGS` as rows of whitespace-separated cells, the header first. */
async function table(...args: string[]): Promise<string[][]> {
  return (await cp.kubectl(['get', ...args]))
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));
}

beforeAll(async () => {
  cp = await controlPlane();
  const out = await cp.kubectl(['apply', '-f', CRD_FILE]);
  if (out.includes(' created'))
    created.push(`customresourcedefinition.apiextensions.k8s.io/${CRD_NAME}`);
  await waitFor('the Sink CRD to be Established', 30_000, async () => {
    const crd = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : false;
  });
});

afterAll(async () => {
  // Sinks first (newest first), then the CRD if this file installed it.
  for (const ref of created) {
    await cp.kubectl(['delete', ref, '--ignore-not-found', '--wait=true']);
  }
});

describe('the Sink CRD', () => {
  it('is structural, cluster-scoped, and named sink, hsink and hindsight', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toMatchObject({
      kind: 'Sink',
      singular: 'sink',
      shortNames: ['hsink'],
      categories: ['hindsight'],
    });
    const problems = crd.status?.conditions?.filter(
      (c) => c.type === 'NonStructuralSchema' && c.status === 'True',
    );
    expect(problems).toEqual([]);
  });

  it('accepts every Sink sample and stores it without dropping a field', async () => {
    const files = readdirSync(SAMPLES).filter((f) => f.startsWith('sink-') && f.endsWith('.yaml'));
    const samples: { metadata: { name: string }; spec: SinkSpec }[] = [];
    for (const file of files) {
      // What a user does; kubectl validates strictly, so an unknown field would fail here too.
      const out = await cp.kubectl(['apply', '--dry-run=server', '-f', join(SAMPLES, file)]);
      expect(out).toContain('(server dry run)');
      const docs = loadAllYaml(readFileSync(join(SAMPLES, file), 'utf8')) as Sink[];
      samples.push(...docs.filter((d) => d.kind === 'Sink'));
    }
    expect(samples.map((s) => s.metadata.name).sort()).toEqual([
      'archive',
      'collector',
      'shop-export',
    ]);
    expect(samples.map((s) => s.spec.type).sort()).toEqual(['file', 's3', 'webhook']);
    for (const sample of samples) {
      const { stored, err } = await dryRun(sample.spec);
      expect(err).toBeUndefined();
      // Defaults may be added; nothing the sample says is pruned or changed.
      expect(stored?.spec).toMatchObject(sample.spec);
    }
  });

  it.each([
    {
      type: 'file',
      spec: { type: 'file', file: { directory: '/export' } },
      defaulted: { file: { directory: '/export', maxFiles: 1000 } },
    },
    {
      type: 'webhook',
      spec: { type: 'webhook', webhook: { url: 'https://collector.example.com/hindsight' } },
      defaulted: {
        webhook: {
          url: 'https://collector.example.com/hindsight',
          format: 'ndjson',
          timeout: '30s',
        },
      },
    },
    {
      type: 's3',
      spec: { type: 's3', s3: { bucket: 'hindsight-archive' } },
      defaulted: { s3: { bucket: 'hindsight-archive' } },
    },
  ])(
    'accepts a minimal $type Sink and fills in the defaults',
    async ({ type, spec, defaulted }) => {
      const got = await createSink(uniqueName(`minimal-${type}`), spec);
      expect(got.spec).toEqual({ type, delivery: 'atLeastOnce', startFrom: 'now', ...defaulted });
    },
  );

  const file = { type: 'file', file: { directory: '/var/lib/hindsight/export' } };
  const webhook = (w: object) => ({ type: 'webhook', webhook: { url: 'https://a.example', ...w } });
  const s3 = (b: object) => ({ type: 's3', s3: { bucket: 'hindsight', ...b } });
  it.each<{ what: string; spec: unknown; field: string; says?: string }>([
    { what: 'a missing type', spec: { file: file.file }, field: 'spec.type: Required value' },
    {
      what: 'an unknown type',
      spec: { ...file, type: 'kafka' },
      field: 'spec.type: Unsupported value: "kafka"',
    },
    {
      what: 'type s3 without the s3 block',
      spec: { type: 's3' },
      field: 'spec.s3: Required value',
      says: 'spec.s3 is required when spec.type is s3',
    },
    {
      what: 'type webhook without the webhook block',
      spec: { type: 'webhook' },
      field: 'spec.webhook: Required value',
      says: 'spec.webhook is required when spec.type is webhook',
    },
    {
      what: 'type file with a webhook block too',
      spec: { ...file, webhook: { url: 'https://a.example' } },
      field: 'spec.webhook: Forbidden',
      says: 'spec.webhook must not be set when spec.type is file',
    },
    {
      what: 'type s3 with a file block too',
      spec: { ...s3({}), file: file.file },
      field: 'spec.file: Forbidden',
      says: 'spec.file must not be set when spec.type is s3',
    },
    {
      what: 'an unknown record type',
      spec: { ...file, records: ['changes', 'logs'] },
      field: 'spec.records[1]: Unsupported value: "logs"',
    },
    {
      what: 'a record type twice',
      spec: { ...file, records: ['events', 'events'] },
      field: 'spec.records[1]: Duplicate value',
    },
    {
      what: 'a namespace both included and excluded',
      spec: { ...file, namespaces: { include: ['shop', 'checkout'], exclude: ['checkout'] } },
      field: 'spec.namespaces',
      says: 'namespace checkout is both in namespaces.include and namespaces.exclude',
    },
    {
      what: 'a namespace name that is not a DNS label',
      spec: { ...file, namespaces: { exclude: ['Kube_System'] } },
      field: 'spec.namespaces.exclude[0]',
    },
    {
      what: 'an unknown label selector operator',
      spec: {
        ...file,
        namespaces: { selector: { matchExpressions: [{ key: 'team', operator: 'Equals' }] } },
      },
      field: 'spec.namespaces.selector.matchExpressions[0].operator',
    },
    { what: 'a lowercase kind', spec: { ...file, kinds: ['deployment'] }, field: 'spec.kinds[0]' },
    {
      what: 'a policy name that is not a DNS subdomain',
      spec: { ...file, policies: ['Workloads'] },
      field: 'spec.policies[0]',
    },
    {
      what: 'maxRecords 0',
      spec: { ...file, batch: { maxRecords: 0 } },
      field: 'spec.batch.maxRecords',
    },
    {
      what: 'maxRecords above 100000',
      spec: { ...file, batch: { maxRecords: 100_001 } },
      field: 'spec.batch.maxRecords',
    },
    ...['lots', '8MB', '0', '0.5', '-1Mi'].map((maxBytes) => ({
      what: `maxBytes ${maxBytes}`,
      spec: { ...file, batch: { maxBytes } },
      field: 'spec.batch.maxBytes',
      says: 'e.g. 8Mi, 500k or 1048576',
    })),
    ...['5 minutes', '1.5m', '0s', '30s5m'].map((maxDelay) => ({
      what: `maxDelay ${maxDelay}`,
      spec: { ...file, batch: { maxDelay } },
      field: 'spec.batch.maxDelay',
      says: 'e.g. 60s, 5m or 1h30m',
    })),
    {
      what: 'delivery exactlyOnce',
      spec: { ...file, delivery: 'exactlyOnce' },
      field: 'spec.delivery: Unsupported value: "exactlyOnce"',
    },
    ...['yesterday', '2025-06-01', '2025-06-01 00:00:00Z', '2025-02-30T00:00:00Z'].map(
      (startFrom) => ({
        what: `startFrom ${startFrom}`,
        spec: { ...file, startFrom },
        field: 'spec.startFrom',
        says: 'startFrom must be now, beginning or an RFC 3339 time',
      }),
    ),
    {
      what: 'a relative file directory',
      spec: { type: 'file', file: { directory: 'export' } },
      field: 'spec.file.directory',
      says: 'must be an absolute path',
    },
    {
      what: 'maxFiles 0',
      spec: { type: 'file', file: { directory: '/export', maxFiles: 0 } },
      field: 'spec.file.maxFiles',
    },
    {
      what: 'a file maxAge of a week spelt out',
      spec: { type: 'file', file: { directory: '/export', maxAge: '1 week' } },
      field: 'spec.file.maxAge',
      says: 'e.g. 7d, 168h or 1d12h',
    },
    ...['ftp://x', 'collector.example.com/hindsight', '/hindsight'].map((url) => ({
      what: `webhook url ${url}`,
      spec: { type: 'webhook', webhook: { url } },
      field: 'spec.webhook.url',
      says: 'url must be an http or https URL',
    })),
    {
      what: 'webhook format xml',
      spec: webhook({ format: 'xml' }),
      field: 'spec.webhook.format: Unsupported value',
    },
    {
      what: 'a signingSecretRef without its key',
      spec: webhook({ signingSecretRef: { name: 'signing' } }),
      field: 'spec.webhook.signingSecretRef.key: Required value',
    },
    {
      what: 'a Secret name that is not a DNS subdomain',
      spec: webhook({ headersSecretRef: { name: 'Collector_Headers' } }),
      field: 'spec.webhook.headersSecretRef.name',
    },
    {
      what: 'a caBundle in base64 rather than PEM',
      spec: webhook({ caBundle: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' }),
      field: 'spec.webhook.caBundle',
      says: 'PEM certificates',
    },
    {
      what: 'webhook timeout 30',
      spec: webhook({ timeout: '30' }),
      field: 'spec.webhook.timeout',
      says: 'e.g. 30s, 2m or 1m30s',
    },
    ...['My_Bucket', 'ab', '-hindsight', 'hindsight.'].map((bucket) => ({
      what: `bucket name ${bucket}`,
      spec: { type: 's3', s3: { bucket } },
      field: 'spec.s3.bucket',
    })),
    ...['/clusters/prod', 'clusters/prod/'].map((prefix) => ({
      what: `prefix ${prefix}`,
      spec: s3({ prefix }),
      field: 'spec.s3.prefix',
      says: 'must not start or end with a slash',
    })),
    {
      what: 'an S3 endpoint without a scheme',
      spec: s3({ endpoint: 'versitygw.storage:7070' }),
      field: 'spec.s3.endpoint',
      says: 'endpoint must be an http or https URL',
    },
    {
      what: 'forcePathStyle that is not a boolean',
      spec: s3({ forcePathStyle: 'yes' }),
      field: 'spec.s3.forcePathStyle',
    },
    {
      what: 'a credentialsSecretRef without a name',
      spec: s3({ credentialsSecretRef: {} }),
      field: 'spec.s3.credentialsSecretRef.name: Required value',
    },
  ])('rejects $what with a 422 naming the field', async ({ spec, field, says }) => {
    const { err } = await dryRun(spec);
    expect(err?.status, err?.message).toBe(422);
    expect(err?.message).toContain(field);
    if (says) expect(err?.message).toContain(says);
  });

  it.each([
    {
      what: 'an RFC 3339 startFrom with an offset',
      spec: { ...file, startFrom: '2025-06-01T02:00:00.5+02:00' },
    },
    { what: 'startFrom beginning', spec: { ...file, startFrom: 'beginning' } },
    { what: 'a fractional maxBytes', spec: { ...file, batch: { maxBytes: '1.5Mi' } } },
    { what: 'a plain byte count', spec: { ...file, batch: { maxBytes: '1048576' } } },
    {
      what: 'include and exclude without overlap',
      spec: { ...file, namespaces: { include: ['shop'], exclude: ['kube-system'] } },
    },
    {
      what: 'an http URL with a port',
      spec: webhook({ url: 'http://collector.observability:8080/in' }),
    },
  ])('accepts $what', async ({ spec }) => {
    const { err } = await dryRun(spec);
    expect(err).toBeUndefined();
  });

  it('refuses a misspelt field instead of dropping it', async () => {
    const { err } = await dryRun(webhook({ signingSecret: { name: 's', key: 'k' } }));
    expect(err?.status).toBe(400);
    expect(err?.message).toContain('unknown field "spec.webhook.signingSecret"');
  });

  it('shows READY, TYPE, DELIVERED and PENDING in kubectl get, from the status subresource', async () => {
    const name = uniqueName('columns');
    await createSink(name, file);

    const [header, row] = await table('sinks', name);
    expect(header).toEqual(['NAME', 'READY', 'TYPE', 'DELIVERED', 'PENDING', 'AGE']);
    // Before the operator has written a status, only the name, type and age are known.
    expect(row).toHaveLength(3);
    expect(row?.[1]).toBe('file');

    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status: SinkStatus = {
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'UpToDate',
          message: 'Delivered every record up to 98765',
          observedGeneration: 1,
          lastTransitionTime: now,
        },
      ],
      delivered: 12345,
      pending: 67,
      cursor: 98765,
      lastDeliveryTime: now,
      lost: [{ fromSeq: 10, toSeq: 19, records: 10, reason: 'RetentionExpired', time: now }],
    };
    const patched = (await custom.patchClusterCustomObjectStatus(
      { ...sinkApi, name, body: { status } },
      mergePatch,
    )) as Sink;
    expect(patched.status).toEqual(status);
    // A status write is not a change of the Sink.
    expect(patched.metadata.generation).toBe(1);

    const [, byShortName] = await table('hsink', name);
    expect(byShortName?.slice(0, 5)).toEqual([name, 'True', 'file', '12345', '67']);
    const [wideHeader, wideRow] = await table('hsink', name, '-o', 'wide');
    expect(wideHeader?.slice(-2)).toEqual(['REASON', 'CURSOR']);
    expect(wideRow?.slice(-2)).toEqual(['UpToDate', '98765']);
    expect(await cp.kubectl(['get', 'hindsight'])).toContain(name);

    // The status schema holds the operator to the shapes of the TypeScript types.
    const bad = { status: { pending: -1, lost: [{ fromSeq: 1, toSeq: 2 }] } };
    const err = await custom
      .patchClusterCustomObjectStatus({ ...sinkApi, name, body: bad }, mergePatch)
      .then(
        () => undefined,
        (e: unknown) => toKubeError(e, 'patching the status'),
      );
    expect(err?.status).toBe(422);
    expect(err?.message).toContain('status.pending');
    expect(err?.message).toContain('status.lost[0].records: Required value');
  });
});
