// The HistoryPolicy CRD, the samples and the RBAC manifests against a real API server: what the
// schema accepts and rejects, what kubectl prints, and what the operator's ServiceAccount may do.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  AuthorizationV1Api,
  CustomObjectsApi,
  PatchStrategy,
  loadAllYaml,
  setHeaderOptions,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../cluster/control-plane.ts';
import {
  GROUP,
  HISTORY_POLICY_PLURAL,
  VERSION,
  type HistoryPolicy,
  type HistoryPolicySpec,
  type HistoryPolicyStatus,
} from '../../src/api/history-policy.ts';
import { toKubeError, type KubeError } from '../../src/kube/errors.ts';
import { controlPlane, kubeConfig, uniqueName, waitFor } from './cluster.ts';

const ROOT = join(import.meta.dirname, '../..');
const CRD_FILE = join(ROOT, 'crds/hindsight.dev_historypolicies.yaml');
// The samples include Sinks: their CRD must be served too (sink-crd.test.ts tests it).
const SINK_CRD_FILE = join(ROOT, 'crds/hindsight.dev_sinks.yaml');
const SAMPLES = join(ROOT, 'config/samples');
const CRD_NAME = `${HISTORY_POLICY_PLURAL}.${GROUP}`;
const SERVICE_ACCOUNT = 'system:serviceaccount:hindsight-system:hindsight';

const kc = kubeConfig();
const ext = kc.makeApiClient(ApiextensionsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const authz = kc.makeApiClient(AuthorizationV1Api);
const policyApi = { group: GROUP, version: VERSION, plural: HISTORY_POLICY_PLURAL };

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

let cp: ControlPlane;
/** kubectl arguments naming each object this file created, oldest first; cleanup deletes them. */
const created: string[][] = [];

/** `kubectl apply -f file`, remembering what it created (not what already existed). */
async function apply(file: string): Promise<void> {
  const docs = (loadAllYaml(readFileSync(file, 'utf8')) as (Manifest | null)[]).filter(
    (d) => d !== null,
  );
  const lines = (await cp.kubectl(['apply', '-f', file])).trim().split('\n');
  // kubectl reports one line per document, in document order: "<type>/<name> created".
  lines.forEach((line, i) => {
    const [ref, outcome] = line.split(' ');
    const namespace = docs[i]?.metadata.namespace;
    if (ref && outcome === 'created') created.push(namespace ? [ref, '-n', namespace] : [ref]);
  });
}

function policy(name: string, spec: unknown): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'HistoryPolicy', metadata: { name }, spec };
}

async function createPolicy(body: Record<string, unknown>): Promise<HistoryPolicy> {
  const got = (await custom.createClusterCustomObject({
    ...policyApi,
    body,
    fieldValidation: 'Strict',
  })) as HistoryPolicy;
  created.push([`${HISTORY_POLICY_PLURAL}.${GROUP}/${got.metadata.name}`]);
  return got;
}

/** The error of a server-side dry-run create of a policy with this spec, or undefined. */
async function dryRunError(spec: unknown): Promise<KubeError | undefined> {
  try {
    await custom.createClusterCustomObject({
      ...policyApi,
      body: policy(uniqueName('invalid'), spec),
      dryRun: 'All',
      fieldValidation: 'Strict',
    });
    return undefined;
  } catch (err) {
    return toKubeError(err, 'creating the policy');
  }
}

beforeAll(async () => {
  cp = await controlPlane();
});

afterAll(async () => {
  for (const ref of created.reverse()) {
    await cp.kubectl(['delete', ...ref, '--ignore-not-found', '--wait=true']);
  }
});

describe('the HistoryPolicy CRD', () => {
  beforeAll(async () => {
    await apply(CRD_FILE);
    await apply(SINK_CRD_FILE);
    for (const name of [CRD_NAME, `sinks.${GROUP}`]) {
      await waitFor(`the CRD ${name} to be Established`, 30_000, async () => {
        const crd = await ext.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
          ? true
          : false;
      });
    }
  });

  it('is structural, cluster-scoped, and named historypolicy, hp and hindsight', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toMatchObject({
      kind: 'HistoryPolicy',
      singular: 'historypolicy',
      shortNames: ['hp'],
      categories: ['hindsight'],
    });
    const problems = crd.status?.conditions?.filter(
      (c) => c.type === 'NonStructuralSchema' && c.status === 'True',
    );
    expect(problems).toEqual([]);
  });

  it('accepts every sample and stores it without dropping a field', async () => {
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml'));
    const policies: Manifest[] = [];
    for (const file of files) {
      // What a user does; kubectl validates strictly, so an unknown field would fail here too.
      const out = await cp.kubectl(['apply', '--dry-run=server', '-f', join(SAMPLES, file)]);
      expect(out).toContain('(server dry run)');
      const docs = loadAllYaml(readFileSync(join(SAMPLES, file), 'utf8')) as Manifest[];
      policies.push(...docs.filter((d) => d.kind === 'HistoryPolicy'));
    }
    expect(policies.map((p) => p.metadata.name).sort()).toEqual([
      'secrets',
      'sloop-compatible',
      'workloads',
    ]);
    for (const sample of policies) {
      const stored = await createPolicy(policy(uniqueName(sample.metadata.name), sample.spec));
      // Only the default is added: nothing was pruned, the JsonLogic rules survive as written.
      expect(stored.spec).toEqual({ events: true, ...(sample.spec as HistoryPolicySpec) });
    }
  });

  const resources = [{ group: 'apps', kinds: ['Deployment'] }];
  const rule = { '==': [{ var: 'metadata.name' }, 'x'] };
  it.each([
    { what: 'a missing spec.resources', spec: {}, field: 'spec.resources: Required value' },
    { what: 'an empty resources list', spec: { resources: [] }, field: 'spec.resources' },
    {
      what: 'an empty kinds list',
      spec: { resources: [{ group: 'apps', kinds: [] }] },
      field: 'spec.resources[0].kinds',
    },
    {
      what: 'a lowercase kind',
      spec: { resources: [{ group: 'apps', kinds: ['deployment'] }] },
      field: 'spec.resources[0].kinds[0]',
    },
    {
      what: 'a group/version instead of a group',
      spec: { resources: [{ group: 'apps/v1', kinds: ['Deployment'] }] },
      field: 'spec.resources[0].group',
    },
    {
      what: 'core spelled out as a group',
      spec: { resources: [{ group: 'core', kinds: ['Pod'] }] },
      field: 'spec.resources[0].group',
      says: 'written as "" (empty)',
    },
    {
      what: 'the same group twice',
      spec: { resources: [...resources, { group: 'apps', kinds: ['ReplicaSet'] }] },
      field: 'spec.resources[1]: Duplicate value',
    },
    {
      what: 'both namespaces.include and namespaces.exclude',
      spec: { resources, namespaces: { include: ['shop'], exclude: ['kube-system'] } },
      field: 'spec.namespaces',
      says: 'not both',
    },
    {
      what: 'a namespace name that is not a DNS label',
      spec: { resources, namespaces: { exclude: ['Kube_System'] } },
      field: 'spec.namespaces.exclude[0]',
    },
    ...['2 weeks', '1.5h', '30m1h', '0h'].map((maxAge) => ({
      what: `maxAge ${maxAge}`,
      spec: { resources, retention: { maxAge } },
      field: 'spec.retention.maxAge',
      says: 'e.g. 14d, 336h, 90m or 1h30m',
    })),
    {
      what: 'an unknown label selector operator',
      spec: {
        resources,
        namespaces: {
          selector: { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] },
        },
      },
      field: 'spec.namespaces.selector.matchExpressions[0].operator',
    },
    {
      what: 'operator In without values',
      spec: {
        resources,
        namespaces: { selector: { matchExpressions: [{ key: 'team', operator: 'In' }] } },
      },
      field: 'spec.namespaces.selector.matchExpressions[0]',
      says: 'values must be non-empty',
    },
    {
      what: 'a matchLabels key that is not a label key',
      spec: { resources, namespaces: { selector: { matchLabels: { 'team name': 'a' } } } },
      field: 'spec.namespaces.selector.matchLabels',
    },
    {
      what: 'two exclusion rules with the same name',
      spec: {
        resources,
        exclusionRules: [
          { name: 'skip', rule },
          { name: 'skip', kinds: ['Pod'], rule },
        ],
      },
      field: 'spec.exclusionRules[1]: Duplicate value',
    },
    {
      what: 'an exclusion rule without its rule',
      spec: { resources, exclusionRules: [{ name: 'skip', kinds: ['Pod'] }] },
      field: 'spec.exclusionRules[0].rule: Required value',
    },
    {
      what: "Sloop's _all as a kind",
      spec: { resources, exclusionRules: [{ name: 'skip', kinds: ['_all'], rule }] },
      field: 'spec.exclusionRules[0].kinds[0]',
    },
    {
      what: 'events that is not a boolean',
      spec: { resources, events: 'yes' },
      field: 'spec.events',
    },
  ])('rejects $what with a 422 naming the field', async ({ spec, field, says }) => {
    const err = await dryRunError(spec);
    expect(err?.status, err?.message).toBe(422);
    expect(err?.message).toContain(field);
    if (says) expect(err?.message).toContain(says);
  });

  it('refuses a misspelt field instead of dropping it', async () => {
    const err = await dryRunError({ resources, retension: { maxAge: '14d' } });
    expect(err?.status).toBe(400);
    expect(err?.message).toContain('unknown field "spec.retension"');
  });

  it('shows READY, KINDS, CHANGES and EVENTS in kubectl get, from the status subresource', async () => {
    const name = uniqueName('columns');
    await createPolicy(policy(name, { resources }));
    const table = async (...args: string[]) =>
      (await cp.kubectl(['get', ...args]))
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/));

    const [header, row] = await table('historypolicy', name);
    expect(header).toEqual(['NAME', 'READY', 'KINDS', 'CHANGES', 'EVENTS', 'AGE']);
    // Before the operator has written a status, only the name and age are known.
    expect(row).toHaveLength(2);

    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status: HistoryPolicyStatus = {
      observedGeneration: 1,
      kinds: '5/6',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Recording',
          message: 'Recording 5 of 6 kinds',
          observedGeneration: 1,
          lastTransitionTime: now,
        },
      ],
      resources: [
        {
          group: 'apps',
          kind: 'Deployment',
          version: 'v1',
          resource: 'deployments',
          state: 'Watching',
          objects: 42,
        },
      ],
      recorded: { changes: 10234, events: 877, excluded: 12, ruleErrors: 0, lastRecordedTime: now },
    };
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const patched = (await custom.patchClusterCustomObjectStatus(
      { ...policyApi, name, body: { status } },
      mergePatch,
    )) as HistoryPolicy;
    expect(patched.status).toEqual(status);
    // A status write is not a change of the policy.
    expect(patched.metadata.generation).toBe(1);

    const [, byShortName] = await table('hp', name);
    expect(byShortName?.slice(0, 5)).toEqual([name, 'True', '5/6', '10234', '877']);
    const [wideHeader, wideRow] = await table('hp', name, '-o', 'wide');
    expect(wideHeader?.at(-1)).toBe('REASON');
    expect(wideRow?.at(-1)).toBe('Recording');
    expect(await cp.kubectl(['get', 'hindsight'])).toContain(name);

    // The status schema holds the operator to the vocabulary of the TypeScript types.
    const bad = {
      status: { resources: [{ group: 'apps', kind: 'Deployment', state: 'Running' }] },
    };
    const err = await custom
      .patchClusterCustomObjectStatus({ ...policyApi, name, body: bad }, mergePatch)
      .then(
        () => undefined,
        (e: unknown) => toKubeError(e, 'patching the status'),
      );
    expect(err?.status).toBe(422);
    expect(err?.message).toContain('status.resources[0].state');
  });
});

describe('the RBAC manifests', () => {
  beforeAll(async () => {
    await apply(join(ROOT, 'manifests/namespace.yaml'));
    await apply(join(ROOT, 'manifests/rbac.yaml'));
  });

  /** "patch historypolicies.hindsight.dev/status" as resource attributes. */
  function request(text: string): V1ResourceAttributes {
    const [verb, target = ''] = text.split(' ');
    const [qualified = '', subresource] = target.split('/');
    const dot = qualified.indexOf('.');
    return dot < 0
      ? { verb, resource: qualified, subresource }
      : { verb, resource: qualified.slice(0, dot), group: qualified.slice(dot + 1), subresource };
  }

  async function allowed(attributes: V1ResourceAttributes): Promise<boolean> {
    const review = await authz.createSubjectAccessReview({
      body: {
        spec: {
          user: SERVICE_ACCOUNT,
          groups: [
            'system:serviceaccounts',
            'system:serviceaccounts:hindsight-system',
            'system:authenticated',
          ],
          resourceAttributes: attributes,
        },
      },
    });
    return review.status?.allowed ?? false;
  }

  it('let the operator watch what it records and write only its status', async () => {
    // The authorizer sees new bindings through a cache: wait for the first grant.
    await waitFor('the binding to take effect', 15_000, () => allowed(request('list pods')));
    // Read as `kubectl auth can-i VERB RESOURCE[.GROUP][/SUBRESOURCE]`.
    const expected = {
      'list pods': true,
      'watch pods': true,
      'list deployments.apps': true,
      'watch cronjobs.batch': true,
      'watch nodes': true,
      'watch events': true,
      'watch events.events.k8s.io': true,
      'watch historypolicies.hindsight.dev': true,
      'get sinks.hindsight.dev': true,
      'patch historypolicies.hindsight.dev/status': true,
      'watch customresourcedefinitions.apiextensions.k8s.io': true,
      'get pods': false,
      'delete pods': false,
      'update historypolicies.hindsight.dev': false,
      'get secrets': false,
      'list secrets': false,
      'watch secrets': false,
      // The history API checks callers' tokens and permissions.
      'create tokenreviews.authentication.k8s.io': true,
      'create subjectaccessreviews.authorization.k8s.io': true,
      'update tokenreviews.authentication.k8s.io': false,
      // Backups are for people granted hindsight-backup, not the operator's own account.
      'get backups.hindsight.dev': false,
    };
    const answers: Record<string, boolean> = {};
    for (const r of Object.keys(expected)) answers[r] = await allowed(request(r));
    expect(answers).toEqual(expected);
  });

  it('deploy the operator: its StatefulSet and Service pass server-side validation', async () => {
    const out = await cp.kubectl([
      'apply',
      '--dry-run=server',
      '-f',
      join(ROOT, 'manifests/operator.yaml'),
    ]);
    expect(out).toContain('service/hindsight created (server dry run)');
    expect(out).toContain('statefulset.apps/hindsight created (server dry run)');
  });

  it('grant more kinds through a ClusterRole labelled hindsight.dev/aggregate-to-watch', async () => {
    const ingresses = request('watch ingresses.networking.k8s.io');
    expect(await allowed(ingresses)).toBe(false);
    await apply(join(SAMPLES, 'extra-kinds-clusterrole.yaml'));
    // The controller manager's aggregation controller copies the rules into hindsight-watch.
    await waitFor('the aggregated rules to take effect', 30_000, () => allowed(ingresses));
    expect(await allowed(request('list secrets'))).toBe(false);
  });
});
