// Kinds as people type them to kubectl (`deploy`, `deployments`, `Deployment`, `po`), resolved to
// the Kind the history API knows, and `KIND/NAME` references.
import { UsageError } from './errors.ts';
import { closest } from './suggest.ts';

export interface KindInfo {
  kind: string;
  /** Cluster-scoped kinds are looked up without a namespace. */
  clusterScoped: boolean;
}

/** Kind, then its plural and short names (kubectl's), all matched case-insensitively. */
const KINDS: [kind: string, clusterScoped: boolean, ...aliases: string[]][] = [
  ['Pod', false, 'pods', 'po'],
  ['Deployment', false, 'deployments', 'deploy'],
  ['ReplicaSet', false, 'replicasets', 'rs'],
  ['StatefulSet', false, 'statefulsets', 'sts'],
  ['DaemonSet', false, 'daemonsets', 'ds'],
  ['Job', false, 'jobs'],
  ['CronJob', false, 'cronjobs', 'cj'],
  ['Service', false, 'services', 'svc'],
  ['ConfigMap', false, 'configmaps', 'cm'],
  ['Secret', false, 'secrets'],
  ['ServiceAccount', false, 'serviceaccounts', 'sa'],
  ['Ingress', false, 'ingresses', 'ing'],
  ['NetworkPolicy', false, 'networkpolicies', 'netpol'],
  ['PersistentVolumeClaim', false, 'persistentvolumeclaims', 'pvc'],
  ['HorizontalPodAutoscaler', false, 'horizontalpodautoscalers', 'hpa'],
  ['PodDisruptionBudget', false, 'poddisruptionbudgets', 'pdb'],
  ['Endpoints', false, 'ep'],
  ['EndpointSlice', false, 'endpointslices'],
  ['Role', false, 'roles'],
  ['RoleBinding', false, 'rolebindings'],
  ['LimitRange', false, 'limitranges', 'limits'],
  ['ResourceQuota', false, 'resourcequotas', 'quota'],
  ['Lease', false, 'leases'],
  ['Event', false, 'events', 'ev'],
  ['Node', true, 'nodes', 'no'],
  ['Namespace', true, 'namespaces', 'ns'],
  ['PersistentVolume', true, 'persistentvolumes', 'pv'],
  ['StorageClass', true, 'storageclasses', 'sc'],
  ['ClusterRole', true, 'clusterroles'],
  ['ClusterRoleBinding', true, 'clusterrolebindings'],
  ['CustomResourceDefinition', true, 'customresourcedefinitions', 'crd', 'crds'],
  ['PriorityClass', true, 'priorityclasses', 'pc'],
  ['IngressClass', true, 'ingressclasses'],
  ['HistoryPolicy', true, 'historypolicies', 'hp'],
  ['Sink', true, 'sinks'],
];

const BY_NAME = new Map<string, KindInfo>();
for (const [kind, clusterScoped, ...aliases] of KINDS) {
  for (const name of [kind, ...aliases]) BY_NAME.set(name.toLowerCase(), { kind, clusterScoped });
}

/** A Kind as written in a manifest; kinds not in the table (custom resources) must be given so. */
const KIND_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

/** Resolves what a user typed to a kind; throws a UsageError suggesting the closest known one. */
export function resolveKind(text: string): KindInfo {
  const known = BY_NAME.get(text.toLowerCase());
  if (known) return known;
  if (KIND_PATTERN.test(text)) return { kind: text, clusterScoped: false };
  const guess = closest(text.toLowerCase(), [...BY_NAME.keys()]);
  throw new UsageError(
    `unknown kind '${text}'${guess ? `; did you mean '${guess}'?` : ''} (give a kind such as deploy, pod or cm, or a custom resource's Kind such as MyResource)`,
  );
}

export interface ObjectRef extends KindInfo {
  name: string;
}

/** Parses `KIND/NAME` (also `KIND.GROUP/NAME`, the group being ignored). */
export function parseObjectRef(text: string): ObjectRef {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1 || text.indexOf('/', slash + 1) !== -1) {
    throw new UsageError(`'${text}' is not KIND/NAME (for example deploy/web or pod/web-1)`);
  }
  const kindText = text.slice(0, slash).split('.')[0]!;
  const name = text.slice(slash + 1);
  if (!/^[a-zA-Z0-9][-a-zA-Z0-9._:]*$/.test(name) || name.length > 253) {
    throw new UsageError(`'${name}' is not an object name`);
  }
  return { ...resolveKind(kindText), name };
}
