// The workloads of a manifest (what `kubectl apply -f` or `helm get manifest` gives): every
// Deployment, StatefulSet, DaemonSet, Job and Pod, including the items of a List; everything
// else (ConfigMaps, Services, …) has nothing to wait for and is left out.
import { loadAll } from 'js-yaml';
import { WORKLOAD_KINDS } from './readiness.ts';
import type { Target } from './tracker.ts';

export class ManifestError extends Error {
  override name = 'ManifestError';
}

interface Doc {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  items?: unknown;
}

/** The workloads in `text`; objects without a namespace get `namespace`. */
export function workloadsOf(text: string, namespace: string, source: string): Target[] {
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch (err) {
    throw new ManifestError(
      `${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      {
        cause: err,
      },
    );
  }
  const out: Target[] = [];
  const seen = new Set<string>();
  const visit = (doc: unknown, where: string) => {
    if (doc === null || doc === undefined) return;
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw new ManifestError(`${where} is not a Kubernetes object`);
    }
    const d = doc as Doc;
    if (typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items)) {
      d.items.forEach((item, i) => visit(item, `${where} item ${i + 1}`));
      return;
    }
    if (typeof d.kind !== 'string' || typeof d.apiVersion !== 'string') {
      throw new ManifestError(`${where} has no kind or apiVersion`);
    }
    if (!(WORKLOAD_KINDS as readonly string[]).includes(d.kind)) return;
    const name = d.metadata?.name;
    if (typeof name !== 'string' || name === '') {
      throw new ManifestError(`${where} (${d.kind}) has no metadata.name`);
    }
    const ns = typeof d.metadata?.namespace === 'string' ? d.metadata.namespace : namespace;
    const key = `${d.kind}/${ns}/${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ kind: d.kind, name, namespace: ns });
  };
  docs.forEach((doc, i) => visit(doc, `${source} document ${i + 1}`));
  return out;
}
