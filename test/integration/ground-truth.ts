// A driver that writes to the cluster while logging every write, and a checker that compares the
// history Hindsight recorded with that log.
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'vitest';
import type { GapRow, HistoryReader } from '../../src/store/reader.ts';

export interface Write {
  kind: 'ConfigMap' | 'Deployment';
  namespace: string;
  name: string;
  uid: string;
  /** resourceVersion the API server answered with; null for deletes. */
  rv: string | null;
  op: 'create' | 'update' | 'delete';
  time: number;
  /** ConfigMap data after the write. */
  data?: Record<string, string>;
}

/** Retries a write while the API server is restarting. */
async function retrying<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' || i > 40) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export class Driver {
  readonly log: Write[] = [];
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  private record(w: Omit<Write, 'time'>): void {
    this.log.push({ ...w, time: Date.now() });
  }

  async createConfigMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
  ): Promise<void> {
    const cm = await retrying(() =>
      this.core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data } }),
    );
    this.record({
      kind: 'ConfigMap',
      namespace,
      name,
      uid: cm.metadata!.uid!,
      rv: cm.metadata!.resourceVersion!,
      op: 'create',
      data,
    });
  }

  async updateConfigMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
  ): Promise<void> {
    const cm = await retrying(() =>
      this.core.patchNamespacedConfigMap({
        namespace,
        name,
        body: [{ op: 'replace', path: '/data', value: data }],
      }),
    );
    this.record({
      kind: 'ConfigMap',
      namespace,
      name,
      uid: cm.metadata!.uid!,
      rv: cm.metadata!.resourceVersion!,
      op: 'update',
      data,
    });
  }

  async deleteConfigMap(namespace: string, name: string): Promise<void> {
    const uid = this.uidOf('ConfigMap', namespace, name);
    await retrying(() => this.core.deleteNamespacedConfigMap({ namespace, name }));
    this.record({ kind: 'ConfigMap', namespace, name, uid, rv: null, op: 'delete' });
  }

  async createDeployment(namespace: string, name: string, replicas: number): Promise<void> {
    const d = await retrying(() =>
      this.apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name },
          spec: {
            replicas,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: 'app', image: 'app:1' }] },
            },
          },
        },
      }),
    );
    this.record({
      kind: 'Deployment',
      namespace,
      name,
      uid: d.metadata!.uid!,
      rv: d.metadata!.resourceVersion!,
      op: 'create',
    });
  }

  async patchDeployment(
    namespace: string,
    name: string,
    path: string,
    value: unknown,
  ): Promise<void> {
    const d = await retrying(() =>
      this.apps.patchNamespacedDeployment({
        namespace,
        name,
        body: [{ op: 'replace', path, value }],
      }),
    );
    this.record({
      kind: 'Deployment',
      namespace,
      name,
      uid: d.metadata!.uid!,
      rv: d.metadata!.resourceVersion!,
      op: 'update',
    });
  }

  async deleteDeployment(namespace: string, name: string): Promise<void> {
    const uid = this.uidOf('Deployment', namespace, name);
    await retrying(() => this.apps.deleteNamespacedDeployment({ namespace, name }));
    this.record({ kind: 'Deployment', namespace, name, uid, rv: null, op: 'delete' });
  }

  private uidOf(kind: Write['kind'], namespace: string, name: string): string {
    const w = this.log.findLast(
      (x) => x.kind === kind && x.namespace === namespace && x.name === name,
    );
    if (!w) throw new Error(`no ${kind} ${namespace}/${name} was written`);
    return w.uid;
  }
}

const RESOURCE: Record<Write['kind'], string> = {
  ConfigMap: 'configmaps',
  Deployment: 'deployments',
};

function inGap(gaps: GapRow[], w: Write): boolean {
  return gaps.some(
    (g) =>
      g.resource === RESOURCE[w.kind] &&
      (g.namespace === '' || g.namespace === w.namespace) &&
      // The logged time is when the API server answered, at or after the change itself.
      w.time >= g.start &&
      w.time <= g.end,
  );
}

/** Writes whose version is not recorded (yet), ignoring those a recorded gap covers. */
export function missing(reader: HistoryReader, log: Write[]): Write[] {
  const gaps = reader.gaps();
  const out: Write[] = [];
  for (const w of log) {
    const obj = reader.object(w.uid);
    const versions = obj ? reader.versions(obj.id) : [];
    const recorded =
      w.op === 'delete'
        ? versions.some((v) => v.type === 'deleted')
        : versions.some((v) => v.rv === w.rv);
    if (!recorded && !(w.op !== 'delete' && inGap(gaps, w))) out.push(w);
  }
  return out;
}

/**
 * Checks the recorded history against the log: every write is recorded (or falls in a gap),
 * a deletion is recorded as inferred only inside a gap, ConfigMaps (written only by the driver)
 * have no version the driver did not cause, bodies match, and no version repeats its predecessor.
 */
export function checkHistory(reader: HistoryReader, log: Write[]): void {
  expect(missing(reader, log)).toEqual([]);
  const gaps = reader.gaps();
  const byUid = Map.groupBy(log, (w) => w.uid);
  for (const [uid, writes] of byUid) {
    const obj = reader.object(uid);
    expect(obj, `object ${uid}`).toBeDefined();
    const versions = reader.versions(obj!.id);
    // (uid, resourceVersion) is never recorded twice.
    expect(new Set(versions.map((v) => v.rv)).size).toBe(versions.length);
    // Every version changed something: no-op updates and replays make none.
    for (let i = 1; i < versions.length; i++) {
      if (versions[i]!.type === 'deleted') continue;
      expect(reader.bodyAt(obj!.id, versions[i]!.seq)).not.toEqual(
        reader.bodyAt(obj!.id, versions[i - 1]!.seq),
      );
    }
    const deletion = writes.find((w) => w.op === 'delete');
    const deletedVersion = versions.find((v) => v.type === 'deleted');
    if (deletion) {
      expect(deletedVersion, `deletion of ${obj!.kind} ${obj!.name}`).toBeDefined();
      expect(obj!.deleted_at).not.toBeNull();
      if (deletedVersion!.inferred)
        expect(inGap(gaps, deletion), `inferred deletion of ${obj!.name} is inside a gap`).toBe(
          true,
        );
    } else {
      expect(deletedVersion).toBeUndefined();
    }
    if (writes[0]!.kind !== 'ConfigMap') continue;
    // The driver is the only writer of its ConfigMaps: versions are exactly its writes.
    const logged = new Set(writes.filter((w) => w.rv).map((w) => w.rv));
    for (const v of versions) {
      if (v.type === 'deleted') continue;
      expect(
        logged.has(v.rv),
        `version ${v.rv} of ConfigMap ${obj!.name} was written by the driver`,
      ).toBe(true);
      const w = writes.find((x) => x.rv === v.rv)!;
      expect((reader.bodyAt(obj!.id, v.seq) as { data?: unknown }).data).toEqual(w.data);
    }
  }
}
