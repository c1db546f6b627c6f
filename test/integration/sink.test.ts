// Sinks end to end: the real operator records a scripted workload (a Deployment rollout, ConfigMap
// edits, Events whose count goes up) and exports it to a directory (read back with DuckDB), a
// real webhook receiver and a real S3 server (versitygw); then the faults: the receiver down and
// back, refusing, throttling; the operator SIGKILLed mid-batch; Secrets missing, then created
// and changed; a missing bucket; a Sink backfilling an existing history, edited, deleted.
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sink } from '../../src/api/sink.ts';
import { S3Destination } from '../../src/sinks/destinations/s3.ts';
import { SinkEncoder } from '../../src/sinks/encoder.ts';
import { EXPORT_ALL, type ExportRecord } from '../../src/sinks/record.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { HEAD_SEQ_SQL } from '../../src/store/head.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { freePort } from '../cluster/control-plane.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { Driver } from './ground-truth.ts';
import { operatorKubeconfig, OperatorProcess } from './operator-process.ts';
import { createBucket, s3Client, s3Settings } from './s3.ts';
import { createDeployment, historyPolicy, rollOutImage } from './world.ts';

const OPERATOR_NS = 'hindsight-system';
const SIGNING_SECRET = `whsec_${Buffer.from('hindsight-test-signing-key-0123456789').toString('base64')}`;

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const cleanup: (() => unknown)[] = [];
let cp: ControlPlane;
let op: OperatorProcess;
let operatorConfig: string;
let dataDir: string;
let exportDir: string;
let ns: string;
let db: Db;

interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A real HTTP receiver that can be told to fail, hang, or stop and start again on its port. */
class Receiver {
  received: Received[] = [];
  mode: 'ok' | '500' | '429' | 'reset' | 'hang' = 'ok';
  /** Paths it accepts; others are refused with 400. */
  path = '/hooks/hindsight';
  private server: Server | null = null;
  port = 0;

  async start(port?: number): Promise<void> {
    this.port = port ?? (await freePort());
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = this.mode;
      if (mode === 'reset') {
        req.socket.destroy();
        return;
      }
      if (mode === 'hang') return;
      if (mode === 'ok' && req.url !== this.path) {
        res.writeHead(400).end('schema mismatch');
        return;
      }
      if (mode === 'ok') this.received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      if (mode === '429') res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      else if (mode === '500') res.writeHead(500).end('boom');
      else res.writeHead(204).end();
    });
  }

  /** Records received, in arrival order, with the batch each came in. */
  records(): { id: string; seq: number; batch: string }[] {
    return this.received.flatMap((r) =>
      r.body
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const rec = JSON.parse(l) as ExportRecord;
          return { id: rec.id, seq: rec.seq, batch: String(r.headers['idempotency-key']) };
        }),
    );
  }
}

function sink(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'hindsight.dev/v1alpha1', kind: 'Sink', metadata: { name }, spec };
}

async function getSink(name: string): Promise<Sink> {
  return JSON.parse(await cp.kubectl(['get', 'sink', name, '-o', 'json'])) as Sink;
}

function condition(s: Sink, type: string) {
  return s.status?.conditions?.find((c) => c.type === type);
}

async function secret(name: string, data: Record<string, string>): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: OPERATOR_NS },
    stringData: data,
  });
  cleanup.push(() =>
    cp.kubectl(['delete', 'secret', name, '-n', OPERATOR_NS, '--ignore-not-found']),
  );
}

/** Every record recorded in the namespace, as a Sink exporting it must deliver them. */
function recorded(): ExportRecord[] {
  const head = (db.prepare(HEAD_SEQ_SQL).get() as { seq: number }).seq;
  return new SinkEncoder(db)
    .scan({
      after: 0,
      hi: head,
      filter: { ...EXPORT_ALL, namespaces: [ns] },
      cluster: 'itest',
      maxRecords: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    })
    .lines.map((l) => JSON.parse(l) as ExportRecord);
}

async function s3Records(
  bucket: string,
  prefix: string,
): Promise<{ keys: string[]; records: ExportRecord[] }> {
  const client = s3Client();
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) keys.push(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    keys.sort();
    const records: ExportRecord[] = [];
    for (const key of keys) {
      const obj = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = Buffer.from(await obj.Body!.transformToByteArray());
      for (const l of gunzipSync(body).toString().split('\n').filter(Boolean))
        records.push(JSON.parse(l) as ExportRecord);
    }
    return { keys, records };
  } finally {
    client.destroy();
  }
}

async function duckdbRecords(
  dir: string,
): Promise<{ id: string; seq: number; dt: string; hour: string }[]> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll(
      `SELECT id, seq, CAST(dt AS VARCHAR) AS dt, hour FROM read_json($glob,
         format = 'newline_delimited', hive_partitioning = true) ORDER BY seq`,
      { glob: `${dir}/*/*/*.ndjson.gz` },
    );
    return r.getRowObjectsJson().map((row) => ({
      id: row.id as string,
      seq: Number(row.seq),
      dt: row.dt as string,
      hour: row.hour as string,
    }));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Standard Webhooks verification, as a receiver does it. */
function verifySignature(r: Received): boolean {
  const id = String(r.headers['webhook-id']);
  const ts = String(r.headers['webhook-timestamp']);
  const key = Buffer.from(SIGNING_SECRET.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.`).update(r.body).digest('base64');
  return String(r.headers['webhook-signature'])
    .split(' ')
    .some((s) => s === `v1,${expected}`);
}

async function startOperator(): Promise<OperatorProcess> {
  const p = await OperatorProcess.start({
    kubeconfig: operatorConfig,
    dataDir,
    args: ['--cluster-name', 'itest', '--namespace', OPERATOR_NS],
  });
  return p;
}

/** The scripted workload: a Deployment rolled out, ConfigMaps created and edited, Events counted up. */
async function workload(driver: Driver, tag: string): Promise<void> {
  for (let i = 0; i < 20; i++) await driver.createConfigMap(ns, `${tag}-cm-${i}`, { v: '1' });
  for (let i = 0; i < 20; i++) await driver.updateConfigMap(ns, `${tag}-cm-${i}`, { v: '2' });
  const name = `${tag}-event`;
  const now = new Date();
  await core.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { name },
      involvedObject: { kind: 'ConfigMap', name: `${tag}-cm-0`, namespace: ns },
      reason: 'Tested',
      message: 'first',
      type: 'Normal',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    },
  });
  for (let c = 2; c <= 4; c++) {
    await core.patchNamespacedEvent({
      name,
      namespace: ns,
      body: [
        { op: 'replace', path: '/count', value: c },
        {
          op: 'replace',
          path: '/lastTimestamp',
          value: new Date(Date.now() + c * 1000).toISOString(),
        },
        { op: 'replace', path: '/message', value: `occurrence ${c}` },
      ],
    });
  }
}

beforeAll(async () => {
  cp = await controlPlane();
  operatorConfig = await operatorKubeconfig(cp);
  await cp.kubectl([
    'apply',
    '-f',
    join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
  ]);
  ns = uniqueName('sinks');
  await cp.kubectl(['create', 'namespace', ns]);
  cleanup.push(() => cp.kubectl(['delete', 'namespace', ns, '--wait=false']));
  await apply(
    historyPolicy(ns, {
      resources: [
        { group: '', kinds: ['ConfigMap', 'Pod'] },
        { group: 'apps', kinds: ['Deployment', 'ReplicaSet'] },
      ],
      events: true,
      namespaces: { include: [ns] },
    }),
  );
  cleanup.push(() => cp.kubectl(['delete', 'hp', ns, '--ignore-not-found']));
  dataDir = await mkdtemp(join(tmpdir(), 'hindsight-sinks-'));
  exportDir = join(dataDir, 'export');
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  op = await startOperator();
  cleanup.push(() => op.stop());
  await op.waitForLog('Started watch');
  db = openDatabase(join(dataDir, 'history.db'), { readonly: true });
  cleanup.push(() => db.close());
});

afterAll(async () => {
  for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {});
});

describe('Sinks', () => {
  const receiver = new Receiver();
  let bucket: string;
  const names = { file: '', webhook: '', s3: '' };

  it('delivers every recorded record exactly once per id to a directory, a webhook and S3', async () => {
    await receiver.start();
    cleanup.push(() => receiver.stop());
    bucket = await createBucket();
    const s3 = s3Settings();
    await secret(`${ns}-hook-headers`, { Authorization: 'Bearer hook-token', 'X-Tenant': 'shop' });
    await secret(`${ns}-hook-signing`, { key: SIGNING_SECRET });
    await secret(`${ns}-s3`, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    const driver = new Driver(kc);
    // Some history before the Sinks exist: startFrom beginning exports it too.
    await workload(driver, 'before');
    const common = {
      namespaces: { include: [ns] },
      startFrom: 'beginning',
      batch: { maxRecords: 25, maxDelay: '1s' },
    };
    names.file = `${ns}-file`;
    names.webhook = `${ns}-hook`;
    names.s3 = `${ns}-s3`;
    await apply(
      sink(names.file, { ...common, type: 'file', file: { directory: exportDir } }),
      sink(names.webhook, {
        ...common,
        type: 'webhook',
        webhook: {
          url: receiver.url,
          headersSecretRef: { name: `${ns}-hook-headers` },
          signingSecretRef: { name: `${ns}-hook-signing`, key: 'key' },
          timeout: '5s',
        },
      }),
      sink(names.s3, {
        ...common,
        type: 's3',
        s3: {
          bucket,
          prefix: 'history/itest',
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
          credentialsSecretRef: { name: `${ns}-s3` },
        },
      }),
    );
    for (const n of Object.values(names))
      cleanup.push(() => cp.kubectl(['delete', 'sink', n, '--ignore-not-found']));
    await createDeployment({ namespace: ns, name: 'web', replicas: 2, image: 'nginx:1' });
    await rollOutImage({ namespace: ns, name: 'web', replicas: 2, image: 'nginx:2' });
    await workload(driver, 'after');

    // Quiet for a moment, then everything recorded must be at each destination.
    let expected: ExportRecord[] = [];
    await waitFor('every record at every destination', 90_000, async () => {
      expected = recorded();
      const [files, objects] = [
        await duckdbRecords(exportDir),
        await s3Records(bucket, 'history/itest/'),
      ];
      const ids = (xs: { id: string }[]) => new Set(xs.map((x) => x.id));
      const want = ids(expected);
      const same = (got: Set<string>) =>
        got.size === want.size && [...want].every((i) => got.has(i));
      return same(ids(files)) && same(ids(receiver.records())) && same(ids(objects.records));
    });
    const kinds = new Set(expected.map((r) => (r.type === 'change' ? r.kind : r.type)));
    expect([...kinds].sort()).toEqual(['ConfigMap', 'Deployment', 'Pod', 'ReplicaSet', 'event']);
    expect(expected.filter((r) => r.type === 'event').length).toBeGreaterThanOrEqual(8);

    // Files: exactly the recorded set, once each, in sequence order, partitioned by hour.
    const files = await duckdbRecords(exportDir);
    expect(files.map((f) => f.id)).toEqual(expected.map((r) => r.id));
    expect(files.map((f) => f.seq)).toEqual(expected.map((r) => r.seq));
    for (const f of files) expect(f.dt).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    // Webhook: each batch signed (Standard Webhooks), carrying the Secret's headers and an
    // Idempotency-Key; de-duplicating by id gives exactly the recorded set, in order.
    for (const r of receiver.received) {
      expect(verifySignature(r)).toBe(true);
      expect(r.headers.authorization).toBe('Bearer hook-token');
      expect(r.headers['x-tenant']).toBe('shop');
      expect(r.headers['content-type']).toBe('application/x-ndjson');
      expect(r.headers['idempotency-key']).toMatch(/^hs-itest-[0-9a-f-]+-\d+-\d+$/);
      expect(r.headers['webhook-id']).toBe(r.headers['idempotency-key']);
    }
    const seen = new Map<string, number>();
    for (const r of receiver.records()) if (!seen.has(r.id)) seen.set(r.id, r.seq);
    expect([...seen.keys()]).toEqual(expected.map((r) => r.id));

    // S3: one object per batch under dt=/hour=, ranges that never overlap, ids once each.
    const { keys, records } = await s3Records(bucket, 'history/itest/');
    for (const k of keys)
      expect(k).toMatch(
        /^history\/itest\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/\d{12}-\d{12}\.ndjson\.gz$/,
      );
    expect(records.map((r) => r.id)).toEqual(expected.map((r) => r.id));

    // The status says what was delivered; kubectl prints it.
    await waitFor('the statuses to catch up', 30_000, async () => {
      const all = await Promise.all(Object.values(names).map(getSink));
      return all.every(
        (s) =>
          s.status?.delivered === expected.length &&
          s.status.pending === 0 &&
          condition(s, 'Ready')?.status === 'True',
      );
    });
    const table = await cp.kubectl(['get', 'sinks', names.file, names.webhook, names.s3]);
    expect(table.split('\n')[0]).toMatch(/NAME\s+READY\s+TYPE\s+DELIVERED\s+PENDING\s+AGE/);
    expect(table).toMatch(new RegExp(`${names.s3}\\s+True\\s+s3\\s+${expected.length}\\s+0`));
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `hindsight_sink_records_delivered_total\\{sink="${names.file}"\\} ${expected.length}`,
      ),
    );
  });

  it('keeps the order and loses nothing while the webhook is down, throttling or failing', async () => {
    const driver = new Driver(kc);
    const before = receiver.received.length;
    await receiver.stop();
    await workload(driver, 'down');
    await waitFor('the Sink to say the receiver is unreachable', 30_000, async () => {
      const c = condition(await getSink(names.webhook), 'Ready');
      return c?.status === 'False' && c.reason === 'DestinationUnavailable';
    });
    expect(condition(await getSink(names.webhook), 'Ready')?.message).toMatch(
      /webhook http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/,
    );
    // Recording goes on meanwhile; the file Sink keeps delivering.
    const fileBefore = (await getSink(names.file)).status?.delivered ?? 0;
    await workload(driver, 'down2');
    await waitFor(
      'the file Sink to go on',
      30_000,
      async () => ((await getSink(names.file)).status?.delivered ?? 0) > fileBefore,
    );
    // Back, but throttling, failing, resetting connections: retried, then delivered.
    receiver.mode = '429';
    await receiver.start(receiver.port);
    await new Promise((r) => setTimeout(r, 2500));
    receiver.mode = '500';
    await new Promise((r) => setTimeout(r, 2500));
    receiver.mode = 'reset';
    await new Promise((r) => setTimeout(r, 2500));
    receiver.mode = 'ok';
    await waitFor('the backlog', 120_000, () => {
      const want = recorded().map((r) => r.id);
      const got = new Set(receiver.records().map((r) => r.id));
      return Promise.resolve(want.every((id) => got.has(id)));
    });
    expect(receiver.received.length).toBeGreaterThan(before);
    // De-duplicated by id, the records arrived in sequence order.
    const seqs: number[] = [];
    const ids = new Set<string>();
    for (const r of receiver.records()) {
      if (ids.has(r.id)) continue;
      ids.add(r.id);
      seqs.push(r.seq);
    }
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await waitFor(
      'Ready again',
      30_000,
      async () => condition(await getSink(names.webhook), 'Ready')?.status === 'True',
    );
  });

  it('names a refused batch in the status, retries it, and takes an edit without a restart', async () => {
    // The receiver moved to another path; the old one refuses every batch.
    receiver.path = '/hooks/v2';
    await workload(new Driver(kc), 'refused');
    await waitFor('the refusal in the status', 30_000, async () => {
      const c = condition(await getSink(names.webhook), 'Ready');
      return c?.status === 'False' && c.reason === 'Refused';
    });
    const s = await getSink(names.webhook);
    expect(condition(s, 'Ready')?.message).toMatch(
      /answered 400: schema mismatch; retrying slowly/,
    );
    expect(s.status?.lastError).toMatch(/answered 400/);
    // The receiver wants another path now: editing the Sink reconfigures its runner.
    const from = op.lines.length;
    await cp.kubectl([
      'patch',
      'sink',
      names.webhook,
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          webhook: { url: receiver.url },
        },
      }),
    ]);
    await op.waitForLog('Reconfigured the Sink', 30_000, from);
    await waitFor('the refused batch to be delivered', 60_000, () => {
      const want = recorded().map((r) => r.id);
      const got = new Set(receiver.records().map((r) => r.id));
      return Promise.resolve(want.every((id) => got.has(id)));
    });
    expect(op.lines.slice(from).some((l) => l.msg === 'Starting Hindsight')).toBe(false);
  });

  it('after SIGKILL mid-batch, resends the same batch and S3 gets no second object for it', async () => {
    receiver.mode = 'hang';
    const driver = new Driver(kc);
    await workload(driver, 'kill');
    const planned = db.prepare(
      'SELECT first_seq, last_seq FROM sink_batches b JOIN sink_cursors c USING (sink_uid) WHERE c.name = ?',
    );
    let inFlight: { first_seq: number; last_seq: number } | undefined;
    const from = op.lines.length;
    // Planned, committed, and sent to a receiver that never answers.
    await waitFor('a batch in flight', 30_000, () => {
      inFlight = planned.get(names.webhook) as typeof inFlight;
      return Promise.resolve(
        inFlight !== undefined &&
          op.lines
            .slice(from)
            .some(
              (l) =>
                l.msg === 'Delivery failed; retrying the same batch' && l.sink === names.webhook,
            ),
      );
    });
    expect(inFlight).toBeDefined();
    await op.kill();
    receiver.mode = 'ok';
    const before = receiver.received.length;
    op = await startOperator();
    await waitFor('everything after the restart', 90_000, async () => {
      const want = recorded().map((r) => r.id);
      const got = new Set(receiver.records().map((r) => r.id));
      const objects = new Set((await s3Records(bucket, 'history/itest/')).records.map((r) => r.id));
      const files = new Set((await duckdbRecords(exportDir)).map((r) => r.id));
      return want.every((id) => got.has(id) && objects.has(id) && files.has(id));
    });
    // The batch in flight at the kill came again first, under its identity.
    const first = receiver.received[before]!;
    expect(String(first.headers['idempotency-key'])).toMatch(
      new RegExp(`-${inFlight!.first_seq}-${inFlight!.last_seq}$`),
    );
    // S3 and files: still exactly one copy of each record.
    const { records } = await s3Records(bucket, 'history/itest/');
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(records.map((r) => r.id)).toEqual(recorded().map((r) => r.id));
    const files = await duckdbRecords(exportDir);
    expect(files.map((f) => f.id)).toEqual(recorded().map((r) => r.id));

    // Replaying a delivered batch (same range, so the same key) is acknowledged by the store's
    // refusal to put over it: no second object, the first one unchanged.
    const before2 = await s3Records(bucket, 'history/itest/');
    const key = before2.keys[0]!;
    const [, firstSeq, lastSeq] = /(\d{12})-(\d{12})\.ndjson\.gz$/.exec(key)!;
    const s3 = s3Settings();
    const replay = new S3Destination({
      bucket,
      prefix: 'history/itest',
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      timeoutMs: 10_000,
    });
    const uid = (await getSink(names.s3)).metadata.uid!;
    const replayed = {
      id: `hs-itest-${uid}-${Number(firstSeq)}-${Number(lastSeq)}`,
      firstSeq: Number(firstSeq),
      lastSeq: Number(lastSeq),
      records: 1,
      firstTime: Date.parse(before2.records[0]!.time),
      payload: gzipSync('{"replayed":true}\n'),
    };
    await replay.send(replayed, new AbortController().signal);
    // The same range from another exporter is not taken for delivered.
    await expect(
      replay.send({ ...replayed, id: `hs-other-${uid}-1-2` }, new AbortController().signal),
    ).rejects.toThrow(/exists and holds batch hs-itest-.*a prefix of its own/);
    await replay.close();
    const after2 = await s3Records(bucket, 'history/itest/');
    expect(after2.keys).toEqual(before2.keys);
    expect(after2.records).toEqual(before2.records);
  });

  it('names a missing Secret and a missing bucket, picks up the Secret when created and changed', async () => {
    const s3 = s3Settings();
    const name = `${ns}-late`;
    const missingBucket = uniqueName('later');
    await apply(
      sink(name, {
        type: 's3',
        namespaces: { include: [ns] },
        startFrom: 'beginning',
        batch: { maxDelay: '1s' },
        s3: {
          bucket: missingBucket,
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentialsSecretRef: { name: `${ns}-late-creds` },
        },
      }),
    );
    cleanup.push(() => cp.kubectl(['delete', 'sink', name, '--ignore-not-found']));
    await waitFor(
      'the missing Secret in the status',
      30_000,
      async () =>
        condition(await getSink(name), 'CredentialsResolved')?.reason === 'SecretNotFound',
    );
    const c = condition(await getSink(name), 'Ready');
    expect(c?.status).toBe('False');
    expect(c?.message).toMatch(
      new RegExp(
        `spec\\.s3\\.credentialsSecretRef\\.name: Secret hindsight-system/${ns}-late-creds does not exist`,
      ),
    );
    // Recording is not affected.
    const head = (db.prepare(HEAD_SEQ_SQL).get() as { seq: number }).seq;
    await workload(new Driver(kc), 'nosecret');
    await waitFor('recording to go on', 30_000, async () =>
      Promise.resolve((db.prepare(HEAD_SEQ_SQL).get() as { seq: number }).seq > head),
    );
    // Wrong credentials first, then the right ones: each change is picked up.
    await secret(`${ns}-late-creds`, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'wrong',
    });
    await waitFor(
      'the refused credentials',
      60_000,
      async () =>
        condition(await getSink(name), 'Ready')?.reason === 'AccessDenied' ||
        condition(await getSink(name), 'Ready')?.reason === 'BucketNotFound',
    );
    await secret(`${ns}-late-creds`, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    await waitFor(
      'the missing bucket in the status',
      60_000,
      async () => condition(await getSink(name), 'Ready')?.reason === 'BucketNotFound',
    );
    expect(condition(await getSink(name), 'Ready')?.message).toMatch(
      new RegExp(`bucket ${missingBucket} does not exist`),
    );
    await createBucket(missingBucket);
    await waitFor('the backfill once the bucket exists', 90_000, async () => {
      const want = recorded().map((r) => r.id);
      const got = new Set((await s3Records(missingBucket, '')).records.map((r) => r.id));
      return want.every((id) => got.has(id));
    });
  });

  it('stops the runner and removes the cursor when a Sink is deleted', async () => {
    const uid = (await getSink(names.file)).metadata.uid!;
    const from = op.lines.length;
    await cp.kubectl(['delete', 'sink', names.file]);
    await op.waitForLog('Stopped exporting: the Sink was deleted', 30_000, from);
    const row = db.prepare('SELECT count(*) AS n FROM sink_cursors WHERE sink_uid = ?').get(uid);
    expect(row).toEqual({ n: 0 });
    const files = (await duckdbRecords(exportDir)).length;
    await workload(new Driver(kc), 'deleted');
    await new Promise((r) => setTimeout(r, 3000));
    expect((await duckdbRecords(exportDir)).length).toBe(files);
  });
});
