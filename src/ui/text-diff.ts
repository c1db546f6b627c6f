// A line diff laid out side by side, with long unchanged stretches folded. Pure: no DOM.

export interface Side {
  /** 1-based line number in its text. */
  n: number;
  text: string;
}

export type DiffRow =
  | { kind: 'same' | 'changed' | 'removed' | 'added'; left: Side | null; right: Side | null }
  | { kind: 'fold'; count: number };

type Op = { op: '=' | '-' | '+'; a: number; b: number };

/** The edit script of a → b by longest common subsequence, after trimming equal ends. */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = [];
  for (let i = 0; i < start; i++) ops.push({ op: '=', a: i, b: i });
  const n = endA - start;
  const m = endB - start;
  if (n * m > 4_000_000) {
    // Too large to align line by line: show the middle as removed, then added.
    for (let i = 0; i < n; i++) ops.push({ op: '-', a: start + i, b: -1 });
    for (let j = 0; j < m; j++) ops.push({ op: '+', a: -1, b: start + j });
  } else {
    // lcs[i][j]: length of the LCS of a[start+i..endA) and b[start+j..endB).
    const lcs = new Uint32Array((n + 1) * (m + 1));
    const at = (i: number, j: number) => i * (m + 1) + j;
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[at(i, j)] =
          a[start + i] === b[start + j]
            ? lcs[at(i + 1, j + 1)]! + 1
            : Math.max(lcs[at(i + 1, j)]!, lcs[at(i, j + 1)]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        ops.push({ op: '=', a: start + i++, b: start + j++ });
      } else if (j < m && (i === n || lcs[at(i, j + 1)]! >= lcs[at(i + 1, j)]!)) {
        ops.push({ op: '+', a: -1, b: start + j++ });
      } else {
        ops.push({ op: '-', a: start + i++, b: -1 });
      }
    }
  }
  for (let k = 0; endA + k < a.length; k++) ops.push({ op: '=', a: endA + k, b: endB + k });
  return ops;
}

/**
 * Side-by-side rows of a → b: a run of removals next to the run of additions that replaced it
 * pairs up as `changed`; unchanged runs longer than 2 × `context` fold to their ends.
 */
export function sideBySide(a: string[], b: string[], context = 3): DiffRow[] {
  const ops = editScript(a, b);
  const rows: DiffRow[] = [];
  let k = 0;
  while (k < ops.length) {
    const op = ops[k]!;
    if (op.op === '=') {
      rows.push({
        kind: 'same',
        left: { n: op.a + 1, text: a[op.a]! },
        right: { n: op.b + 1, text: b[op.b]! },
      });
      k++;
      continue;
    }
    const removed: number[] = [];
    const added: number[] = [];
    while (k < ops.length && ops[k]!.op !== '=') {
      const o = ops[k++]!;
      if (o.op === '-') removed.push(o.a);
      else added.push(o.b);
    }
    for (let r = 0; r < Math.max(removed.length, added.length); r++) {
      const ra = removed[r];
      const rb = added[r];
      rows.push({
        kind:
          ra !== undefined && rb !== undefined ? 'changed' : ra !== undefined ? 'removed' : 'added',
        left: ra === undefined ? null : { n: ra + 1, text: a[ra]! },
        right: rb === undefined ? null : { n: rb + 1, text: b[rb]! },
      });
    }
  }
  return fold(rows, context);
}

function fold(rows: DiffRow[], context: number): DiffRow[] {
  const out: DiffRow[] = [];
  let i = 0;
  while (i < rows.length) {
    if (rows[i]!.kind !== 'same') {
      out.push(rows[i++]!);
      continue;
    }
    let j = i;
    while (j < rows.length && rows[j]!.kind === 'same') j++;
    const keepHead = i === 0 ? 0 : context;
    const keepTail = j === rows.length ? 0 : context;
    if (j - i > keepHead + keepTail + 1) {
      out.push(...rows.slice(i, i + keepHead));
      out.push({ kind: 'fold', count: j - i - keepHead - keepTail });
      out.push(...rows.slice(j - keepTail, j));
    } else {
      out.push(...rows.slice(i, j));
    }
    i = j;
  }
  return out;
}

/** Stable, readable lines of an object: keys sorted, managedFields left out (noise in a diff). */
export function objectLines(obj: unknown): string[] {
  const sort = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => sort(x, path));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) {
        if (path === 'metadata' && key === 'managedFields') continue;
        out[key] = sort((v as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(obj, ''), null, 2).split('\n');
}
