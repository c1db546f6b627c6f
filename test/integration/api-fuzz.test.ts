// API fuzzing against the real operator: every path and parameter its OpenAPI document declares
// (fetched from the running operator, so a new endpoint or parameter is fuzzed without editing
// this file) gets bad values — empty, 100k characters, NUL and control characters, emoji, NaN,
// huge and negative numbers, bad times, SQL fragments, path traversals, repeated and unknown
// parameters. No answer may be a 5xx; every 400 is a problem naming the parameter; the operator
// stays alive and ready. /stream is fuzzed too: a stream that starts is closed once its headers
// came. /backup declares no parameter, so it gets unknown ones, and each 200 is a real backup
// downloaded. The runs are seeded: HINDSIGHT_FUZZ_SEED replays a failure, and
// HINDSIGHT_FUZZ_RUNS sets the random runs per parameter.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import fc from 'fast-check';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../cluster/control-plane.ts';
import {
  badValue,
  inHeader,
  inUrl,
  NAMED,
  RAW,
  unknownName,
  type BadValue,
} from '../support/bad-values.ts';
import { conforms } from '../support/openapi.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './operator-process.ts';
import {
  clusterRoleBinding,
  createDeployment,
  historyPolicy,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
} from './world.ts';

const SEED = Number(process.env.HINDSIGHT_FUZZ_SEED ?? 20261122);
const RUNS = Number(process.env.HINDSIGHT_FUZZ_RUNS ?? 30);

const core = kubeConfig().makeApiClient(CoreV1Api);

interface Param {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
}
interface Operation {
  path: string;
  params: Param[];
  /** Statuses its OpenAPI responses declare. */
  statuses: Set<number>;
}
interface Problem {
  status: number;
  detail: string;
  param?: string;
}
interface Answer {
  status: number;
  type: string;
  body: string;
  /** Retry-After, when it was set. */
  retryAfter?: string;
  /** Size of the request line and headers sent. */
  headBytes: number;
  /** Set when no answer came at all. */
  error?: string;
}
/** A request: path parameters, query pairs and headers, all already encoded. */
interface Req {
  path: Map<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
}
/** A request that answers 2xx or 404, to which one bad value at a time is added. */
interface Baseline {
  values: Map<string, string>;
  status: number;
  /** A valid value of the fuzzed parameter, for sending it twice. */
  sample?: string;
}

/** One fuzzed request: the baseline it changed, the parameter and the value it was given. */
interface Fuzzed {
  base: Baseline;
  /** null: an unknown parameter. */
  param: string | null;
  value: BadValue;
  /** Names of the parameters the request carried. */
  sent: Set<string>;
}

/** What a fuzzed request broke, or null. */
type Verdict = string | null;

const SQL = /(' OR|DROP TABLE|SELECT |UNION )/i;

/**
 * Node's HTTP parser refuses, before any handler runs, a request line and headers over its
 * limit (16 KiB, --max-http-header-size): the answer is a 431 problem that cannot name a
 * parameter. Requests this far below the limit must reach the API.
 */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_MARGIN = 2 * 1024;

/** A problem's detail quotes what is wrong, not all of it: it stays short and printable. */
const MAX_DETAIL = 1000;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/;

describe('API fuzzing', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let client: Client;
  let dataDir: string;
  let token: string;
  let sent = 0;
  let busy = 0;
  const ns = uniqueName('fuzz');
  const policy = uniqueName('fuzz');
  const binding = (role: string) => `${ns}-${role}`;
  const samples: Record<string, string[]> = {};

  const send = async (opn: Operation, req: Req): Promise<Answer> => {
    sent++;
    let path = opn.path;
    for (const [name, value] of req.path) path = path.replace(`{${name}}`, value);
    path = path.replace(/\{[^}]+\}/g, '0');
    if (req.query.length > 0) path += `?${req.query.map(([k, v]) => `${k}=${v}`).join('&')}`;
    const headers = { authorization: `Bearer ${token}`, ...req.headers };
    const headBytes =
      `GET ${path} HTTP/1.1\r\nhost: ${op.host}:${op.port}\r\n`.length +
      Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    try {
      const res = await client.request({
        method: 'GET',
        path,
        headers,
        headersTimeout: 20_000,
        bodyTimeout: 20_000,
      });
      const type = String(res.headers['content-type'] ?? '');
      const retryAfter = res.headers['retry-after'];
      const answer = {
        status: res.statusCode,
        type,
        headBytes,
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      };
      // A live stream that started is all this test needs of it.
      if (type.startsWith('text/event-stream')) {
        res.body.destroy();
        return { ...answer, body: '' };
      }
      const body = Buffer.from(await res.body.arrayBuffer());
      return {
        ...answer,
        body: type.includes('json') ? body.toString('utf8') : `(${body.length} bytes)`,
      };
    } catch (err) {
      return { status: 0, type: '', body: '', headBytes, error: (err as Error).message };
    }
  };

  /** A 503 with Retry-After that the operation declares (another backup, too many streams). */
  const tryAgain = (opn: Operation, a: Answer) =>
    a.status === 503 && opn.statuses.has(503) && a.retryAfter !== undefined;

  /** Sends `req`, again after a pause while the answer is a declared "try again". */
  const answer = async (opn: Operation, req: Req): Promise<Answer> => {
    for (let i = 1; ; i++) {
      const a = await send(opn, req);
      if (!tryAgain(opn, a) || i === 4) return a;
      busy++;
      await new Promise((r) => setTimeout(r, 100 * i));
    }
  };

  const encode = (opn: Operation, values: Map<string, string>): Req => {
    const req: Req = { path: new Map(), query: [], headers: {} };
    for (const [name, value] of values) {
      const where = opn.params.find((p) => p.name === name)?.in ?? 'query';
      if (where === 'path') req.path.set(name, encodeURIComponent(value));
      else if (where === 'header') req.headers[name] = value;
      else req.query.push([encodeURIComponent(name), encodeURIComponent(value)]);
    }
    return req;
  };

  const show = (opn: Operation, req: Req, a: Answer): string => {
    let path = opn.path;
    for (const [name, value] of req.path) path = path.replace(`{${name}}`, value);
    const query = req.query.map(([k, v]) => `${k}=${v}`).join('&');
    const target = `${path}${query ? `?${query}` : ''}`;
    const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);
    const headers = Object.keys(req.headers).length ? ` ${JSON.stringify(req.headers)}` : '';
    return `GET ${cut(target, 200)}${cut(headers, 200)} answered ${a.error ?? `${a.status} ${a.type} ${cut(a.body, 300)}`}`;
  };

  /**
   * Valid values of the required parameters (of all that have samples, when `full`), changed
   * until the operator accepts them: a parameter the operator names is given its next sample, or
   * left out.
   */
  const findBaseline = async (opn: Operation, x?: Param, full = false): Promise<Baseline> => {
    const values = new Map<string, string>();
    const tried = new Map<string, number>();
    const next = (name: string): string | undefined => {
      const i = tried.get(name) ?? 0;
      tried.set(name, i + 1);
      return samples[name]?.[i];
    };
    for (const p of opn.params) {
      if (p.name === x?.name || !(p.required || full)) continue;
      const sample = next(p.name);
      if (sample !== undefined || p.required) values.set(p.name, sample ?? '0');
    }
    let sample = x && next(x.name);
    const steps: string[] = [];
    const fail = () =>
      new Error(`no valid request of ${opn.path} to fuzz ${x?.name ?? ''}:\n${steps.join('\n')}`);
    for (let i = 0; i < 12; i++) {
      const withX = new Map(values);
      if (x && sample !== undefined) withX.set(x.name, sample);
      const req = encode(opn, withX);
      const a = await answer(opn, req);
      steps.push(show(opn, req, a));
      if ((a.status >= 200 && a.status < 300) || a.status === 404) {
        return { values, status: a.status, ...(sample !== undefined ? { sample } : {}) };
      }
      const named = a.status === 400 ? (JSON.parse(a.body) as Problem).param : undefined;
      if (named === undefined || !opn.params.some((p) => p.name === named)) throw fail();
      if (named === x?.name) {
        sample = next(named);
        continue;
      }
      const other = next(named);
      if (other !== undefined) values.set(named, other);
      else if (values.has(named) && !opn.params.find((p) => p.name === named)?.required)
        values.delete(named);
      else throw fail();
    }
    throw fail();
  };

  /**
   * Checks one answer: never a 5xx but a "try again" its operation declares; a 4xx is a problem,
   * a 400 one naming the fuzzed parameter (null: an unknown one, which must change nothing).
   */
  const judge = (opn: Operation, a: Answer, fuzzed: Fuzzed): Verdict => {
    const { base, param, value } = fuzzed;
    if (a.error) return 'no answer';
    if (a.status === 431) {
      if (a.headBytes <= MAX_HEAD_BYTES - HEAD_MARGIN) {
        return `a 431 for a request head of ${a.headBytes} bytes`;
      }
      if (!a.type.startsWith('application/problem+json')) return 'a 431 that is not a problem';
      return null;
    }
    if (tryAgain(opn, a)) return null;
    if (a.status >= 500) return 'a server error';
    if (a.status >= 400) {
      if (!a.type.startsWith('application/problem+json')) return 'a 4xx that is not a problem';
      let problem: Problem;
      try {
        problem = JSON.parse(a.body) as Problem;
        conforms('Problem', problem);
      } catch (err) {
        return `a malformed problem (${(err as Error).message})`;
      }
      if (problem.status !== a.status) return 'a problem whose status is not the answer’s';
      if (problem.detail.length > MAX_DETAIL) return 'a problem detail too long to read';
      if (INVISIBLE.test(problem.detail)) return 'a problem detail with invisible characters';
      if (param === null) return a.status === base.status ? null : 'an unknown parameter refused';
      if (a.status === 404) return null;
      if (a.status !== 400) return `an unexpected ${a.status}`;
      if (problem.param === param)
        return problem.detail.startsWith(`${param}: `)
          ? null
          : 'a 400 whose detail does not name it';
      // A rule over two parameters (from before to) names one, and the other in its detail.
      const mentioned = new RegExp(`\\b${param.replace(/[-.]/g, '\\$&')}\\b`).test(problem.detail);
      if (problem.param !== undefined && fuzzed.sent.has(problem.param) && mentioned) return null;
      return `a 400 naming ${problem.param ?? 'no parameter'}`;
    }
    if (param === null && a.status !== base.status)
      return 'an unknown parameter changed the answer';
    if (param !== null && SQL.test(value.text) && a.body.startsWith('{')) {
      const items = (JSON.parse(a.body) as { items?: unknown }).items;
      if (Array.isArray(items) && items.length > 0) return 'a SQL fragment that matched something';
    }
    return null;
  };

  beforeAll(async () => {
    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    await cp.kubectl([
      'apply',
      '-f',
      join(import.meta.dirname, 'fixtures/configmaps-clusterrole.yaml'),
    ]);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    // One caller who may read everything and take backups, so answers carry data.
    const caller = { name: 'fuzzer', namespace: ns };
    await apply(
      serviceAccount(caller),
      clusterRoleBinding(binding('view'), 'view', caller),
      clusterRoleBinding(binding('backup'), 'hindsight-backup', caller),
    );
    token = await serviceAccountToken(cp, caller);
    await apply(
      historyPolicy(policy, {
        resources: [
          { group: '', kinds: ['ConfigMap', 'Pod'] },
          { group: 'apps', kinds: ['Deployment', 'ReplicaSet'] },
        ],
        events: true,
        namespaces: { include: [ns] },
      }),
    );
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-fuzz-'));
    op = await OperatorProcess.start({ kubeconfig, dataDir });
    client = new Client(op.url, { keepAliveTimeout: 10_000 });
    await waitForPolicyReady(cp, policy);

    // The recorded world: a ConfigMap changed once, and a Deployment's first rollout.
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'settings', labels: { app: 'web' } }, data: { level: 'info' } },
    });
    await core.patchNamespacedConfigMap({
      namespace: ns,
      name: 'settings',
      body: [{ op: 'replace', path: '/data/level', value: 'debug' }],
    });
    await createDeployment({ namespace: ns, name: 'web', replicas: 1, image: 'web:1' });
    const read = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${op.url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      return (await res.json()) as T;
    };
    let uid = '';
    let seqs: number[] = [];
    let rollout = 0;
    await waitFor('the history to be recorded', 60_000, async () => {
      const found = await read<{ items: { uid: string }[] }>(
        `/api/v1/resources?namespace=${ns}&kind=ConfigMap&name=settings`,
      );
      uid = found.items[0]?.uid ?? '';
      if (!uid) return false;
      const versions = await read<{ items: { seq: number }[] }>(`/api/v1/objects/${uid}/versions`);
      seqs = versions.items.map((v) => v.seq).sort((a, b) => a - b);
      const rollouts = await read<{ items: { id: number }[] }>(`/api/v1/rollouts?namespace=${ns}`);
      rollout = rollouts.items[0]?.id ?? 0;
      return seqs.length === 2 && rollout > 0;
    });
    const recorded = Date.now();
    // Valid values by parameter name, tried in order; a parameter without any is fuzzed all the
    // same, from a request without it.
    Object.assign(samples, {
      uid: [uid],
      seq: [String(seqs[0])],
      id: [String(rollout)],
      namespace: [ns],
      kind: ['ConfigMap', 'Deployment'],
      kinds: ['ConfigMap'],
      group: [''],
      name: ['settings', 'web'],
      namePrefix: ['sett'],
      labelSelector: ['app=web'],
      includeDeleted: ['true'],
      from: ['-10m', String(recorded)],
      to: ['now'],
      fromSeq: [String(seqs[0])],
      toSeq: [String(seqs[1])],
      time: ['now'],
      at: ['now'],
      limit: ['10'],
      involvedUid: [uid],
      reason: ['Scheduled'],
      type: ['Normal'],
      outcome: ['complete', 'in-progress'],
      buckets: ['30'],
      since: ['now'],
      'Last-Event-ID': [String(seqs[0])],
    });
  });

  afterAll(async () => {
    await client?.close();
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    for (const role of ['view', 'backup']) {
      await cp?.kubectl(['delete', 'clusterrolebinding', binding(role), '--ignore-not-found']);
    }
    await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers every bad value of every declared parameter without a 5xx, naming the parameter', async () => {
    const started = Date.now();
    const spec = (await (await fetch(`${op.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, { get?: { parameters?: Param[]; responses?: object } }>;
    };
    const operations: Operation[] = Object.entries(spec.paths).flatMap(([path, item]) =>
      item.get
        ? [
            {
              path,
              params: item.get.parameters ?? [],
              statuses: new Set(Object.keys(item.get.responses ?? {}).map(Number)),
            },
          ]
        : [],
    );
    expect(operations.length).toBeGreaterThan(10);
    const failures: string[] = [];
    const fuzz = async <T>(
      what: string,
      arb: fc.Arbitrary<T>,
      examples: T[],
      check: (c: T) => Promise<string | null>,
    ) => {
      const result = await fc.check(
        fc.asyncProperty(arb, async (c) => {
          const broke = await check(c);
          if (broke) throw new Error(broke);
        }),
        { seed: SEED, numRuns: RUNS + examples.length, examples: examples.map((e) => [e]) },
      );
      if (result.failed) {
        failures.push(
          `${what}: ${(result.errorInstance as Error).message}\n  (seed ${SEED}, path ${result.counterexamplePath}; replay with HINDSIGHT_FUZZ_SEED=${SEED})`,
        );
      }
    };
    let params = 0;

    for (const opn of operations) {
      const declared = new Set(opn.params.map((p) => p.name));
      for (const x of opn.params) {
        params++;
        // Alone (the others defaulted) and beside valid values of every other parameter.
        const bases = [await findBaseline(opn, x), await findBaseline(opn, x, true)] as const;
        type Case = { full: boolean; twice: boolean; value: BadValue };
        const examples: Case[] = [
          ...NAMED.flatMap((value) => [false, true].map((full) => ({ full, twice: false, value }))),
          ...RAW.map((value) => ({ full: false, twice: false, value })),
          ...(x.in === 'path' ? [] : [{ full: false, twice: true, value: { text: '1' } }]),
        ];
        const arb = fc.record({
          full: fc.boolean(),
          twice: x.in === 'path' ? fc.constant(false) : fc.boolean(),
          value: badValue,
        });
        await fuzz(`${opn.path} ${x.in} parameter ${x.name}`, arb, examples, async (c) => {
          const base = bases[c.full ? 1 : 0];
          const req = encode(opn, base.values);
          if (x.in === 'path') req.path.set(x.name, inUrl(c.value));
          else if (x.in === 'header')
            req.headers[x.name] = c.twice
              ? `${inHeader(c.value)}, ${base.sample ?? '1'}`
              : inHeader(c.value);
          else {
            req.query.push([encodeURIComponent(x.name), inUrl(c.value)]);
            if (c.twice)
              req.query.push([encodeURIComponent(x.name), encodeURIComponent(base.sample ?? '1')]);
          }
          const a = await answer(opn, req);
          const sent = new Set([...base.values.keys(), x.name]);
          const broke = judge(opn, a, { base, param: x.name, value: c.value, sent });
          return broke && `${broke}: ${show(opn, req, a)}`;
        });
      }

      // Unknown parameters are ignored: the answer is the one without them.
      const base = await findBaseline(opn);
      const arb = fc.record({
        name: unknownName.filter((n) => !declared.has(n)),
        value: badValue,
        twice: fc.boolean(),
      });
      const examples = NAMED.slice(0, 4).map((value) => ({
        name: '__proto__',
        value,
        twice: true,
      }));
      await fuzz(`${opn.path} unknown parameters`, arb, examples, async (c) => {
        const req = encode(opn, base.values);
        const pair: [string, string] = [encodeURIComponent(c.name.toWellFormed()), inUrl(c.value)];
        req.query.push(pair, ...(c.twice ? [pair] : []));
        const a = await answer(opn, req);
        const sent = new Set(base.values.keys());
        const broke = judge(opn, a, { base, param: null, value: c.value, sent });
        return broke && `${broke}: ${show(opn, req, a)}`;
      });
    }

    console.log(
      `Fuzzed ${params} parameters of ${operations.length} paths with ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${SEED}); ${busy} were sent again after a declared 503 with Retry-After`,
    );
    expect(failures, `seed ${SEED}:\n${failures.join('\n\n')}`).toEqual([]);
  });

  it('is alive and ready after the fuzzing, and logged no failed request', async () => {
    expect(op.child.exitCode).toBeNull();
    const res = await fetch(`${op.url}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ready: boolean }).ready).toBe(true);
    expect(op.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
