// Every way the REST API reads one namespace's history, and what a caller gets from each: the
// tests of access (a caller allowed one namespace, a binding revoked mid-session) ask them all
// and compare, so an endpoint added here is checked by all of them.
import { conforms } from '../support/openapi.ts';
import { waitFor } from './cluster.ts';

/** What of one namespace's recorded history the reads ask about. */
export interface NamespaceSample {
  namespace: string;
  /** An object changed at least once, and two of its versions (sequence numbers, older first). */
  object: { uid: string; from: number; to: number };
  /** A Deployment: what its Events are about, and one of its rollouts. */
  deployment: { uid: string; rollout: number };
}

export interface Read {
  path: string;
  /** The OpenAPI schema of its 200 answer. */
  schema: string;
  /**
   * What of the namespace a 200 answer shows: the list for a list (empty when hidden); absent for
   * one object or rollout, which is answered 404 when hidden.
   */
  shown?: (body: Record<string, unknown>) => unknown[];
}

const items = (body: Record<string, unknown>) => body.items as unknown[];

/** Every read of the sample's namespace: per object, per rollout, and each list filtered to it. */
export function namespaceReads(s: NamespaceSample): Read[] {
  const o = `/api/v1/objects/${s.object.uid}`;
  const ns = s.namespace;
  return [
    { path: o, schema: 'ObjectSummary' },
    { path: `${o}/versions`, schema: 'VersionPage' },
    { path: `${o}/versions/${s.object.to}`, schema: 'VersionWithObject' },
    { path: `${o}/at?time=now`, schema: 'VersionWithObject' },
    { path: `${o}/diff?fromSeq=${s.object.from}&toSeq=${s.object.to}`, schema: 'Diff' },
    { path: `/api/v1/rollouts/${s.deployment.rollout}`, schema: 'Rollout' },
    {
      path: `/api/v1/resources?namespace=${ns}&includeDeleted=true`,
      schema: 'ObjectPage',
      shown: items,
    },
    { path: `/api/v1/events?namespace=${ns}&from=-1h`, schema: 'EventPage', shown: items },
    {
      path: `/api/v1/events?involvedUid=${s.deployment.uid}&from=-1h`,
      schema: 'EventPage',
      shown: items,
    },
    {
      path: `/api/v1/timeline?namespace=${ns}&from=-1h`,
      schema: 'Timeline',
      shown: (b) => b.rows as unknown[],
    },
    { path: `/api/v1/namespaces/${ns}/state`, schema: 'NamespaceState', shown: items },
    { path: `/api/v1/changes?namespace=${ns}&from=-1h`, schema: 'ChangePage', shown: items },
    { path: `/api/v1/rollouts?namespace=${ns}`, schema: 'RolloutPage', shown: items },
  ];
}

/** GET `path` with a bearer token: the status and the JSON body. */
export async function getJson(
  base: string,
  path: string,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * What the caller gets from a read: `shown` (200 with something of the namespace), `hidden`
 * (404 for one object or rollout, 200 with an empty list for a list), or the status and answer
 * when it is neither. Every answer is checked against the OpenAPI document.
 */
export async function outcome(base: string, read: Read, token: string): Promise<string> {
  const { status, body } = await getJson(base, read.path, token);
  if (status === 200) {
    conforms(read.schema, body);
    if (!read.shown) return 'shown';
    return read.shown(body).length > 0 ? 'shown' : 'hidden';
  }
  if (status === 404 && !read.shown) {
    conforms('Problem', body);
    return 'hidden';
  }
  return `${status} ${JSON.stringify(body)}`;
}

/** The outcome of every read, by path: one comparison names each endpoint that answers otherwise. */
export async function outcomes(
  base: string,
  reads: readonly Read[],
  token: string,
): Promise<Record<string, string>> {
  const got: Record<string, string> = {};
  for (const r of reads) got[r.path] = await outcome(base, r, token);
  return got;
}

/** `value` for every read, by path: what `outcomes` is compared with. */
export function every(reads: readonly Read[], value: 'shown' | 'hidden'): Record<string, string> {
  return Object.fromEntries(reads.map((r) => [r.path, value]));
}

/**
 * The sample of a namespace, read with a token allowed everywhere: the ConfigMap `object` (with
 * at least two versions) and the Deployment `deployment`, once its rollout and Events are recorded.
 */
export async function sampleNamespace(
  base: string,
  token: string,
  namespace: string,
  names: { object: string; deployment: string },
): Promise<NamespaceSample> {
  const json = async (path: string) => {
    const r = await getJson(base, path, token);
    if (r.status !== 200)
      throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const uidOf = async (kind: string, name: string) => {
    const page = await json(
      `/api/v1/resources?namespace=${namespace}&kind=${kind}&name=${name}&includeDeleted=true`,
    );
    const found = (page.items as { uid: string }[])[0];
    if (!found) throw new Error(`no ${kind} ${namespace}/${name} is recorded`);
    return found.uid;
  };
  const object = await uidOf('ConfigMap', names.object);
  const deployment = await uidOf('Deployment', names.deployment);
  let versions: { seq: number }[] = [];
  let rollout: number | undefined;
  await waitFor(`the history of ${namespace} to be recorded`, 30_000, async () => {
    versions = (await json(`/api/v1/objects/${object}/versions`)).items as { seq: number }[];
    const rollouts = (
      await json(`/api/v1/rollouts?namespace=${namespace}&kind=Deployment&name=${names.deployment}`)
    ).items as { id: number }[];
    rollout = rollouts[0]?.id;
    const events = (await json(`/api/v1/events?involvedUid=${deployment}&from=-1h`))
      .items as unknown[];
    return versions.length >= 2 && rollout !== undefined && events.length > 0;
  });
  // Newest first: the older is `from`.
  return {
    namespace,
    object: { uid: object, from: versions[1]!.seq, to: versions[0]!.seq },
    deployment: { uid: deployment, rollout: rollout! },
  };
}
