// Synthetic Pod templates: the spec a Deployment's revision gives all its Pods. A small template
// (one container) makes a Pod of ~4 KB of JSON, a large one (an init container, the app and two
// sidecars) one of ~10 KB, the two sizes of performance.md.
import type { Json, JsonObject } from './k8s-json.ts';
import type { Prng } from './prng.ts';

export type PodSize = 'small' | 'large';

/** What every Pod of one ReplicaSet shares. */
export interface PodTemplate {
  size: PodSize;
  namespace: string;
  app: string;
  /** pod-template-hash */
  hash: string;
  /** Template labels, without pod-template-hash (the ReplicaSet adds it). */
  labels: JsonObject;
  annotations: JsonObject;
  /** The Pod spec without nodeName. */
  spec: JsonObject;
  containers: { name: string; image: string }[];
}

const ENV_NAMES = [
  'LOG_LEVEL',
  'HTTP_PORT',
  'DATABASE_HOST',
  'CACHE_TTL_SECONDS',
  'FEATURE_FLAGS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'REGION',
  'MAX_CONNECTIONS',
  'UPSTREAM_TIMEOUT_MS',
  'TLS_MIN_VERSION',
  'GOMAXPROCS',
];

function env(rng: Prng, count: number): Json[] {
  const out: Json[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
  ];
  for (let i = 0; i < count; i++) {
    const name = ENV_NAMES[i % ENV_NAMES.length] + (i >= ENV_NAMES.length ? `_${i}` : '');
    out.push(
      i % 5 === 4
        ? { name, valueFrom: { secretKeyRef: { key: name.toLowerCase(), name: 'app-secrets' } } }
        : { name, value: `${rng.suffix(4)}-${rng.int(1, 9999)}` },
    );
  }
  return out;
}

function probe(path: string, port: string, period: number): JsonObject {
  return {
    failureThreshold: 3,
    httpGet: { path, port, scheme: 'HTTP' },
    periodSeconds: period,
    successThreshold: 1,
    timeoutSeconds: 1,
  };
}

function container(
  rng: Prng,
  name: string,
  image: string,
  opts: { env: number; port: number; mounts: string[]; probes: boolean },
): JsonObject {
  const c: JsonObject = {
    env: env(rng, opts.env),
    image,
    imagePullPolicy: 'IfNotPresent',
    name,
    ports: [{ containerPort: opts.port, name: 'http', protocol: 'TCP' }],
    resources: {
      limits: { cpu: `${rng.int(2, 20) * 100}m`, memory: `${rng.int(1, 8) * 128}Mi` },
      requests: { cpu: `${rng.int(1, 5) * 50}m`, memory: `${rng.int(1, 4) * 64}Mi` },
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: opts.mounts.map((m, i) => ({
      mountPath: m,
      name: m.split('/').pop() ?? `vol-${i}`,
      readOnly: i === 0,
    })),
  };
  if (opts.probes) {
    c.livenessProbe = probe('/livez', 'http', 20);
    c.readinessProbe = probe('/healthz', 'http', 10);
  }
  return c;
}

function tokenVolume(rng: Prng): JsonObject {
  return {
    name: `kube-api-access-${rng.suffix(5)}`,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } },
        {
          downwardAPI: {
            items: [
              {
                fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                path: 'namespace',
              },
            ],
          },
        },
      ],
    },
  };
}

/** A template for the Pods of revision `revision` of Deployment `app`. */
export function podTemplate(
  rng: Prng,
  o: { size: PodSize; namespace: string; app: string; revision: number; canary: boolean },
): PodTemplate {
  const registry = `registry.example.com/${o.namespace}`;
  const image = `${registry}/${o.app}:1.${o.revision}.${rng.int(0, 20)}`;
  const token = tokenVolume(rng);
  const tokenMount = `/var/run/secrets/kubernetes.io/serviceaccount`;
  const labels: JsonObject = { app: o.app, 'app.kubernetes.io/name': o.app };
  const annotations: JsonObject = {};
  const containers: { name: string; image: string }[] = [{ name: o.app, image }];
  let specContainers: JsonObject[];
  let volumes: JsonObject[];
  const extra: JsonObject = {};
  if (o.size === 'small') {
    specContainers = [
      container(rng, o.app, image, { env: 2, port: 8080, mounts: [tokenMount], probes: false }),
    ];
    volumes = [{ ...token, name: 'serviceaccount' }];
  } else {
    Object.assign(labels, {
      'app.kubernetes.io/part-of': o.namespace,
      'app.kubernetes.io/version': `1.${o.revision}`,
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': o.app,
    });
    Object.assign(annotations, {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '15020',
      'kubectl.kubernetes.io/default-container': o.app,
      'sidecar.istio.io/status': JSON.stringify({
        initContainers: ['istio-init'],
        containers: ['istio-proxy'],
        volumes: ['istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token'],
        revision: 'default',
      }),
    });
    const proxy = `docker.io/istio/proxyv2:1.24.${rng.int(0, 3)}`;
    const shipper = `cr.fluentbit.io/fluent/fluent-bit:3.2.${rng.int(0, 9)}`;
    containers.push({ name: 'istio-proxy', image: proxy }, { name: 'log-shipper', image: shipper });
    const dataMounts = [tokenMount, '/etc/app/config', '/var/cache/app', '/etc/app/tls'];
    specContainers = [
      container(rng, o.app, image, { env: 8, port: 8080, mounts: dataMounts, probes: true }),
      container(rng, 'istio-proxy', proxy, {
        env: 5,
        port: 15090,
        mounts: [tokenMount, '/etc/istio/proxy', '/var/lib/istio/data', '/etc/istio/pod'],
        probes: false,
      }),
      container(rng, 'log-shipper', shipper, {
        env: 3,
        port: 2020,
        mounts: [tokenMount, '/var/log/app', '/fluent-bit/etc'],
        probes: false,
      }),
    ];
    extra.initContainers = [
      container(rng, 'istio-init', proxy, { env: 0, port: 15001, mounts: [], probes: false }),
    ];
    volumes = [
      { ...token, name: 'serviceaccount' },
      { configMap: { defaultMode: 420, name: `${o.app}-config` }, name: 'config' },
      { emptyDir: { sizeLimit: '1Gi' }, name: 'app' },
      { name: 'tls', secret: { defaultMode: 420, secretName: `${o.app}-tls` } },
      { emptyDir: { medium: 'Memory' }, name: 'proxy' },
      { emptyDir: {}, name: 'data' },
      { downwardAPI: { defaultMode: 420, items: [] }, name: 'pod' },
      { configMap: { defaultMode: 420, name: `${o.app}-fluent-bit` }, name: 'etc' },
    ];
    extra.affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            podAffinityTerm: {
              labelSelector: { matchLabels: { app: o.app } },
              topologyKey: 'kubernetes.io/hostname',
            },
            weight: 100,
          },
        ],
      },
    };
  }
  if (o.canary) labels.track = 'canary';
  return {
    size: o.size,
    namespace: o.namespace,
    app: o.app,
    hash: rng.suffix(10),
    labels,
    annotations,
    containers,
    spec: {
      containers: specContainers,
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      ...extra,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: o.size === 'large' ? { fsGroup: 2000, runAsNonRoot: true } : {},
      serviceAccount: o.app,
      serviceAccountName: o.app,
      terminationGracePeriodSeconds: 30,
      tolerations: ['not-ready', 'unreachable'].map((t) => ({
        effect: 'NoExecute',
        key: `node.kubernetes.io/${t}`,
        operator: 'Exists',
        tolerationSeconds: 300,
      })),
      volumes,
    },
  };
}
