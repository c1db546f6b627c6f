// Facts stored beside each object so later questions are cheap: its owner (for the chain
// Deployment → ReplicaSet → Pod), its node, its labels, the Services whose selectors match a Pod,
// and its field managers (to tell who made the next change). Namespace labels are kept for
// policies that select namespaces by label.
import type { KubeObject } from '../kube/reflector.ts';
import type { ObjectFacts } from '../store/writer.ts';
import { managersOf } from './actor.ts';
import { selectorMatches } from './policy.ts';

interface OwnerReference {
  uid: string;
  kind: string;
  name: string;
  controller?: boolean;
}

export class Enricher {
  private readonly nsLabels = new Map<string, Record<string, string>>();
  /** Service selectors by namespace and name. */
  private readonly services = new Map<string, Map<string, Record<string, string>>>();

  /** Takes note of Namespaces and Services as they pass (`obj` null when deleted). */
  observe(kind: string, namespace: string, name: string, obj: KubeObject | null): void {
    if (kind === 'Namespace') {
      if (obj) this.nsLabels.set(name, (obj.metadata?.labels as Record<string, string>) ?? {});
      else this.nsLabels.delete(name);
    } else if (kind === 'Service') {
      const selector = (obj?.spec as { selector?: Record<string, string> } | undefined)?.selector;
      let m = this.services.get(namespace);
      if (!selector || Object.keys(selector).length === 0) {
        m?.delete(name);
        return;
      }
      if (!m) {
        m = new Map<string, Record<string, string>>();
        this.services.set(namespace, m);
      }
      m.set(name, selector);
    }
  }

  namespaceLabels = (namespace: string): Record<string, string> | undefined =>
    this.nsLabels.get(namespace);

  facts(kind: string, namespace: string, obj: KubeObject): ObjectFacts {
    const meta = obj.metadata ?? {};
    const owners = (meta.ownerReferences as OwnerReference[] | undefined) ?? [];
    const owner = owners.find((o) => o.controller) ?? owners[0];
    const labels = meta.labels as Record<string, string> | undefined;
    let services: string | null = null;
    if (kind === 'Pod') {
      const matched = [...(this.services.get(namespace) ?? [])]
        .filter(([, sel]) => selectorMatches({ matchLabels: sel }, labels))
        .map(([name]) => name);
      if (matched.length) services = JSON.stringify(matched.sort());
    }
    const created =
      typeof meta.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : NaN;
    const managers = managersOf(obj);
    return {
      createdAt: Number.isNaN(created) ? null : created,
      ownerUid: owner?.uid ?? null,
      ownerKind: owner?.kind ?? null,
      ownerName: owner?.name ?? null,
      nodeName:
        kind === 'Pod' ? ((obj.spec as { nodeName?: string } | undefined)?.nodeName ?? null) : null,
      labels: labels && Object.keys(labels).length ? JSON.stringify(labels) : null,
      services,
      managers: managers.length ? JSON.stringify(managers) : null,
    };
  }
}
