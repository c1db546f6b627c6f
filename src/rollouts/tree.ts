// The tree of a tracked workload — its ReplicaSets and Pods — and which Pods belong to the
// revision being rolled out ("new" Pods, whose problems and logs count). Per kind, as kubedog
// decides it, but by owner references rather than by label selector, so another workload's
// Pods with matching labels are never taken in. Pure.
import { controllerUid, type KubeObject, type Pod } from './objects.ts';

export interface Tree {
  /** The workload's uid and those of its ReplicaSets and Pods: whose Events are the rollout's. */
  uids: Set<string>;
  replicaSets: KubeObject[];
  /** Every Pod of the workload, old and new. */
  pods: Pod[];
  /** The Pods of the revision being rolled out. */
  newPods: Pod[];
}

const REVISION = 'deployment.kubernetes.io/revision';

export function treeOf(
  kind: string,
  workload: KubeObject,
  replicaSets: Iterable<KubeObject>,
  pods: Iterable<Pod>,
): Tree {
  const uid = workload.metadata.uid ?? '';
  const uids = new Set([uid]);
  const owned: KubeObject[] = [];
  const mine: Pod[] = [];
  let isNew: (p: Pod) => boolean = () => true;
  if (kind === 'Pod') {
    return { uids, replicaSets: [], pods: [workload], newPods: [workload] };
  }
  if (kind === 'Deployment') {
    for (const rs of replicaSets) if (controllerUid(rs.metadata) === uid) owned.push(rs);
    const revision = workload.metadata.annotations?.[REVISION];
    const current = owned.find(
      (rs) => revision !== undefined && rs.metadata.annotations?.[REVISION] === revision,
    );
    const byRs = new Set(owned.map((rs) => rs.metadata.uid));
    for (const p of pods) if (byRs.has(controllerUid(p.metadata))) mine.push(p);
    isNew = (p) => current !== undefined && controllerUid(p.metadata) === current.metadata.uid;
  } else if (kind === 'StatefulSet' || kind === 'DaemonSet' || kind === 'Job') {
    for (const p of pods) if (controllerUid(p.metadata) === uid) mine.push(p);
    if (kind === 'StatefulSet') {
      const revision = workload.status?.updateRevision as string | undefined;
      isNew = (p) =>
        revision === undefined || p.metadata.labels?.['controller-revision-hash'] === revision;
    } else if (kind === 'DaemonSet') {
      const generation = String(workload.metadata.generation ?? '');
      isNew = (p) => {
        const g = p.metadata.labels?.['pod-template-generation'];
        return g === undefined || g === generation;
      };
    }
  }
  for (const rs of owned) uids.add(rs.metadata.uid ?? '');
  for (const p of mine) uids.add(p.metadata.uid ?? '');
  return { uids, replicaSets: owned, pods: mine, newPods: mine.filter(isNew) };
}
