// A JSON Patch as readable lines, one per operation, paths in the dotted syntax of changed paths:
//   ~ spec.replicas: 3 → 5
//   + metadata.labels.tier: "front"
//   - spec.paused
// Values are compact JSON, cut to a readable length.
import { dottedPath, type PatchOp } from '../recorder/diff.ts';

/** Longest value shown; longer ones end in `…`. */
export const MAX_VALUE_CHARS = 120;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function unescapeToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** The value at a JSON Pointer in `doc`, or undefined. */
export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    const token = unescapeToken(raw);
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else {
      if (!Object.hasOwn(cur, token)) return undefined;
      cur = (cur as Record<string, unknown>)[token];
    }
  }
  return cur;
}

/**
 * One line per op of `ops`, a patch made by recorder/diff from `before`: its replace and remove
 * paths name places in `before`, so old values are read there.
 */
export function describePatch(before: unknown, ops: readonly PatchOp[]): string[] {
  return ops.map((op) => {
    const path = dottedPath(op.path);
    switch (op.op) {
      case 'add':
        return `+ ${path}: ${show(op.value)}`;
      case 'remove':
        return `- ${path}`;
      case 'replace':
        return `~ ${path}: ${show(valueAt(before, op.path))} → ${show(op.value)}`;
    }
  });
}
