// Secret redaction: the first transform the recorder applies, so that no Secret content reaches
// the store, a diff, a sink, a log or an exclusion rule. Stored values are replaced by their
// digest, which keeps a change visible (the digest changes) without keeping the content. Rules see
// less still: every value is the same constant, so a policy author cannot test a guess against a
// digest through the policy's excluded and rule-error counts.
import { hash } from 'node:crypto';

/** Holds a Secret's data in clear when the Secret was created or updated by `kubectl apply`. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

const PREFIX = 'sha256:';

/** `sha256:<hex>` of a value as given: a string's UTF-8 bytes, anything else its JSON text. */
export function digest(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  return PREFIX + hash('sha256', text, 'hex');
}

/**
 * Redacts a Secret IN PLACE and returns it; any other kind is returned untouched. Every value
 * under `data` and `stringData` and the last-applied annotation become `sha256:<hex>` digests.
 * `kind` is for objects that carry none (items of a List response); it defaults to `obj.kind`.
 * Any group's kind `Secret` is redacted: redacting too much is harmless, too little is not.
 */
export function redactSecret<T>(obj: T, kind?: string): T {
  if (typeof obj !== 'object' || obj === null) return obj;
  const o = obj as Record<string, unknown>;
  if ((kind ?? o.kind) !== 'Secret') return obj;
  redactValues(o, 'data');
  redactValues(o, 'stringData');
  const metadata = o.metadata;
  if (typeof metadata === 'object' && metadata !== null) {
    const annotations = (metadata as Record<string, unknown>).annotations;
    if (typeof annotations === 'object' && annotations !== null) {
      const a = annotations as Record<string, unknown>;
      if (Object.hasOwn(a, LAST_APPLIED_ANNOTATION)) {
        a[LAST_APPLIED_ANNOTATION] = digest(a[LAST_APPLIED_ANNOTATION]);
      }
    }
  }
  return obj;
}

function redactValues(o: Record<string, unknown>, field: 'data' | 'stringData'): void {
  if (!Object.hasOwn(o, field)) return;
  const values = o[field];
  if (values === null || values === undefined) return;
  if (typeof values !== 'object' || Array.isArray(values)) {
    // Not the map the API defines: keep nothing of it but its digest.
    o[field] = digest(values);
    return;
  }
  const map = values as Record<string, unknown>;
  for (const key in map) map[key] = digest(map[key]);
}

/** What an exclusion rule sees of every Secret value: the same text whatever the value. */
export const REDACTED = 'redacted';

/**
 * What exclusion rules see of an object: a Secret (already redacted) as a copy whose `data` and
 * `stringData` values and last-applied annotation are all {@link REDACTED}, keys kept (they are
 * stored and shown anyway); any other object as it is.
 */
export function ruleView<T>(obj: T, kind: string): T {
  if (kind !== 'Secret' || typeof obj !== 'object' || obj === null) return obj;
  const o = { ...(obj as Record<string, unknown>) };
  for (const field of ['data', 'stringData']) {
    const values = o[field];
    if (values === null || values === undefined) continue;
    o[field] =
      typeof values === 'object' && !Array.isArray(values)
        ? Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]))
        : REDACTED;
  }
  const metadata = o.metadata as Record<string, unknown> | undefined;
  const annotations = metadata?.annotations as Record<string, unknown> | undefined;
  if (annotations && Object.hasOwn(annotations, LAST_APPLIED_ANNOTATION)) {
    o.metadata = {
      ...metadata,
      annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: REDACTED },
    };
  }
  return o as T;
}
