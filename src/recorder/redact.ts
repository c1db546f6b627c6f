// Secret redaction: the first transform the recorder applies, so that no Secret content reaches
// the store, a diff, a sink or a log. Values are replaced by their digest, which keeps a change
// visible (the digest changes) without keeping the content.
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
