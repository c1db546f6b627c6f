// A Sink's spec compiled into what its runner needs: the record filter, the batch limits, and the
// destination's settings with their secrets resolved. Pure: the controller fetches the Secrets,
// the HistoryPolicies and the namespaces' labels, this turns them into settings or into problems
// that name the field.
import type { HistoryPolicySpec, LabelSelector } from '../api/history-policy.ts';
import { RECORD_TYPES, type SinkSpec } from '../api/sink.ts';
import { parseBytes, parseDuration } from '../duration.ts';
import { compilePolicy, selectorMatches } from '../recorder/policy.ts';
import type { FileOptions } from './destinations/file.ts';
import type { S3Options } from './destinations/s3.ts';
import type { WebhookOptions } from './destinations/webhook.ts';
import type { PolicyScope, RecordFilter } from './record.ts';

export const DEFAULT_BATCH = { maxRecords: 5000, maxBytes: 8 * 2 ** 20, maxDelayMs: 60_000 };
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_FILES = 1000;

/** A destination's settings, tagged with the Sink type that takes them. */
export type DestinationSettings =
  | ({ type: 'file' } & FileOptions)
  | ({ type: 'webhook' } & WebhookOptions)
  | ({ type: 's3' } & S3Options);

export interface SinkSettings {
  filter: RecordFilter;
  maxRecords: number;
  maxBytes: number;
  maxDelayMs: number;
  delivery: 'atLeastOnce' | 'atMostOnce';
  startFrom: string;
  destination: DestinationSettings;
}

/** A spec problem, naming the field. */
export interface Problem {
  field: string;
  message: string;
}

/** A Secret as the controller read it: decoded data, or why it could not be. */
export type SecretLookup =
  | { found: true; data: Record<string, string>; resourceVersion: string }
  | { found: false; message: string };

export interface Resolved {
  /** Secrets by name, in the operator's namespace. */
  secrets: ReadonlyMap<string, SecretLookup>;
  /** HistoryPolicy specs by name; absent when not found. */
  policies: ReadonlyMap<string, HistoryPolicySpec>;
  /** Labels of every namespace, when a selector needs them. */
  namespaceLabels: ReadonlyMap<string, Record<string, string>> | null;
  /** The operator's namespace, where Secrets are looked up. */
  namespace: string;
}

/** The Secret names a spec refers to. */
export function secretNames(spec: SinkSpec): string[] {
  const names = [
    spec.webhook?.headersSecretRef?.name,
    spec.webhook?.signingSecretRef?.name,
    spec.type === 's3' ? spec.s3?.credentialsSecretRef?.name : undefined,
  ];
  return [...new Set(names.filter((n): n is string => typeof n === 'string'))];
}

/** Whether the spec needs the namespaces' labels (a selector of its own or of its policies). */
export function needsNamespaceLabels(
  spec: SinkSpec,
  policies: ReadonlyMap<string, HistoryPolicySpec>,
): boolean {
  if (spec.namespaces?.selector) return true;
  return (spec.policies ?? []).some((p) => policies.get(p)?.namespaces?.selector !== undefined);
}

function matching(
  selector: LabelSelector,
  labels: ReadonlyMap<string, Record<string, string>> | null,
): string[] {
  return [...(labels ?? new Map<string, Record<string, string>>())]
    .filter(([, l]) => selectorMatches(selector, l))
    .map(([ns]) => ns)
    .sort();
}

function intersect(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  const set = new Set(b);
  return a.filter((x) => set.has(x));
}

/** Compiles a spec; the problems say what stops it from running, each naming its field. */
export function compileSink(
  spec: SinkSpec,
  r: Resolved,
): { settings: SinkSettings; problems: [] } | { settings: null; problems: Problem[] } {
  const problems: Problem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });

  const records = new Set(spec.records?.length ? spec.records : RECORD_TYPES);
  const ns = spec.namespaces ?? {};
  let namespaces: string[] | null = ns.include?.length ? [...ns.include] : null;
  if (ns.selector) namespaces = intersect(namespaces, matching(ns.selector, r.namespaceLabels));

  let policies: PolicyScope[] | null = null;
  if (spec.policies?.length) {
    policies = [];
    for (const [i, name] of spec.policies.entries()) {
      const p = r.policies.get(name);
      if (!p) {
        problem(`spec.policies[${i}]`, `HistoryPolicy ${name} does not exist`);
        continue;
      }
      const { policy } = compilePolicy(name, 0, p);
      let scope = policy.include ? [...policy.include] : null;
      if (policy.namespaceSelector)
        scope = intersect(scope, matching(policy.namespaceSelector, r.namespaceLabels));
      policies.push({
        kinds: [...policy.kinds],
        events: policy.events,
        namespaces: scope,
        exclude: [...(policy.exclude ?? [])],
      });
    }
  }

  const maxRecords = spec.batch?.maxRecords ?? DEFAULT_BATCH.maxRecords;
  let maxBytes = DEFAULT_BATCH.maxBytes;
  if (spec.batch?.maxBytes !== undefined) {
    const b = parseBytes(spec.batch.maxBytes);
    if (b === null)
      problem('spec.batch.maxBytes', `'${spec.batch.maxBytes}' is not a size such as 8Mi`);
    else maxBytes = b;
  }
  const duration = (field: string, text: string | undefined, fallback: number | null) => {
    if (text === undefined) return fallback;
    const d = parseDuration(text);
    if (d === null) problem(field, `'${text}' is not a duration such as 30s, 5m or 1h`);
    return d ?? fallback;
  };
  const maxDelayMs =
    duration('spec.batch.maxDelay', spec.batch?.maxDelay, DEFAULT_BATCH.maxDelayMs) ?? 0;

  const startFrom = spec.startFrom ?? 'now';
  if (startFrom !== 'now' && startFrom !== 'beginning' && Number.isNaN(Date.parse(startFrom)))
    problem('spec.startFrom', `'${startFrom}' is not now, beginning or an RFC 3339 time`);

  const secret = (field: string, name: string): Record<string, string> | null => {
    const s = r.secrets.get(name);
    if (!s) {
      problem(field, `Secret ${r.namespace}/${name} was not looked up`);
      return null;
    }
    if (!s.found) {
      problem(field, s.message);
      return null;
    }
    return s.data;
  };
  const key = (field: string, ref: { name: string; key: string }): string | null => {
    const data = secret(`${field}.name`, ref.name);
    if (!data) return null;
    const v = data[ref.key];
    if (v === undefined) {
      problem(`${field}.key`, `Secret ${r.namespace}/${ref.name} has no key ${ref.key}`);
      return null;
    }
    return v;
  };

  let destination: DestinationSettings | null = null;
  const block = spec[spec.type];
  if (!block) {
    problem(`spec.${spec.type}`, `is required when spec.type is ${spec.type}`);
  } else if (spec.type === 'file' && spec.file) {
    const f = spec.file;
    if (!f.directory.startsWith('/'))
      problem('spec.file.directory', `'${f.directory}' is not an absolute path`);
    destination = {
      type: 'file',
      directory: f.directory,
      maxFiles: f.maxFiles ?? DEFAULT_MAX_FILES,
      maxAgeMs: duration('spec.file.maxAge', f.maxAge, null),
    };
  } else if (spec.type === 'webhook' && spec.webhook) {
    const w = spec.webhook;
    let url: URL | null = null;
    try {
      url = new URL(w.url);
    } catch {
      problem('spec.webhook.url', `'${w.url}' is not a URL`);
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
      problem('spec.webhook.url', `'${w.url}' is not an http or https URL`);
    const headers = w.headersSecretRef
      ? (secret('spec.webhook.headersSecretRef.name', w.headersSecretRef.name) ?? {})
      : {};
    for (const name of Object.keys(headers))
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
        problem(
          'spec.webhook.headersSecretRef.name',
          `key '${name}' of Secret ${r.namespace}/${w.headersSecretRef?.name} is not a header name`,
        );
    destination = {
      type: 'webhook',
      url: w.url,
      format: w.format ?? 'ndjson',
      headers,
      signingSecret: w.signingSecretRef
        ? key('spec.webhook.signingSecretRef', w.signingSecretRef)
        : null,
      caBundle: w.caBundle ?? null,
      timeoutMs: duration('spec.webhook.timeout', w.timeout, DEFAULT_TIMEOUT_MS) ?? 0,
    };
  } else if (spec.type === 's3' && spec.s3) {
    const s = spec.s3;
    let credentials: {
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
    } | null = null;
    if (s.credentialsSecretRef) {
      const data = secret('spec.s3.credentialsSecretRef.name', s.credentialsSecretRef.name);
      if (data) {
        const id = data.AWS_ACCESS_KEY_ID;
        const secretKey = data.AWS_SECRET_ACCESS_KEY;
        if (id === undefined || secretKey === undefined) {
          problem(
            'spec.s3.credentialsSecretRef.name',
            `Secret ${r.namespace}/${s.credentialsSecretRef.name} needs the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
          );
        } else {
          credentials = {
            accessKeyId: id,
            secretAccessKey: secretKey,
            ...(data.AWS_SESSION_TOKEN ? { sessionToken: data.AWS_SESSION_TOKEN } : {}),
          };
        }
      }
    }
    destination = {
      type: 's3',
      bucket: s.bucket,
      prefix: (s.prefix ?? '').replace(/^\/+|\/+$/g, ''),
      endpoint: s.endpoint ?? null,
      region: s.region ?? 'us-east-1',
      forcePathStyle: s.forcePathStyle ?? false,
      credentials,
      timeoutMs: DEFAULT_TIMEOUT_MS,
    };
  }

  if (problems.length > 0 || destination === null) return { settings: null, problems };
  return {
    settings: {
      filter: {
        changes: records.has('changes'),
        events: records.has('events'),
        gaps: records.has('gaps'),
        namespaces,
        exclude: [...(ns.exclude ?? [])],
        kinds: spec.kinds?.length ? [...spec.kinds] : null,
        policies,
      },
      maxRecords,
      maxBytes,
      maxDelayMs,
      delivery: spec.delivery ?? 'atLeastOnce',
      startFrom,
      destination,
    },
    problems: [],
  };
}

/** Whether a problem is about credentials (Secrets) rather than the spec itself. */
export function isCredentialProblem(p: Problem): boolean {
  return /SecretRef/.test(p.field);
}
