// Output: kubectl-like tables for people, JSON and YAML for scripts, colour only on a terminal.
import { dump } from 'js-yaml';
import { UsageError } from './errors.ts';

export type Format = 'table' | 'json' | 'yaml';

/** Parses -o; `allowed` lists what the command offers, the first being its default. */
export function parseFormat(value: string | undefined, allowed: readonly Format[]): Format {
  if (value === undefined) return allowed[0]!;
  const v = value === 'text' ? 'table' : value;
  if ((allowed as readonly string[]).includes(v)) return v as Format;
  const names = allowed.map((f) => (f === 'table' && !allowed.includes('yaml') ? 'text' : f));
  throw new UsageError(`-o ${value} is not offered here; use one of ${names.join(', ')}`);
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function toYaml(value: unknown): string {
  return dump(value, { noRefs: true, lineWidth: -1, sortKeys: false });
}

/** What a command writes to; tests and the binary both provide one. */
export interface Out {
  write(text: string): void;
  /** Terminal width when writing to a terminal; undefined when writing to a pipe or file. */
  columns: number | undefined;
  color: boolean;
}

/**
 * Aligns rows under upper-case headers, two spaces apart (as kubectl does). On a terminal the
 * last column is cut to the width so each row stays one line.
 */
export function table(headers: string[], rows: string[][], columns?: number): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const lines = [headers, ...rows].map((r) => {
    const cells = r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)));
    const line = cells.join('   ').trimEnd();
    return columns !== undefined && line.length > columns && columns > 20
      ? `${line.slice(0, columns - 1)}…`
      : line;
  });
  return `${lines.join('\n')}\n`;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

export function paint(out: Pick<Out, 'color'>, style: keyof typeof CODES, text: string): string {
  return out.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
}

/** Writes a value as JSON or YAML; true when the format was one of those. */
export function writeData(out: Out, format: Format, value: unknown): boolean {
  if (format === 'json') out.write(toJson(value));
  else if (format === 'yaml') out.write(toYaml(value));
  else return false;
  return true;
}
