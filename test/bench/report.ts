// What the benchmark prints and saves: the machine it ran on, aligned tables, and the JSON file.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  sqlite: string;
  memoryBytes: number;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  loadAverage: number;
  commit: string;
  /** Files changed in the working tree: figures then describe uncommitted code. */
  uncommittedFiles: number;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

export function machine(): Machine {
  let cpuModel = 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: the model stays unknown, the rest still describes the machine.
  }
  const mem = new Database(':memory:');
  const sqlite = (mem.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  mem.close();
  return {
    cores: availableParallelism(),
    cpuModel,
    node: process.version,
    sqlite,
    memoryBytes: totalmem(),
    loadAverage: loadavg()[0] ?? 0,
    commit: git(['rev-parse', '--short', 'HEAD']).trim() || 'unknown',
    uncommittedFiles: git(['status', '--porcelain'])
      .split('\n')
      .filter((l) => l.trim()).length,
  };
}

export function describeMachine(m: Machine): string {
  return [
    `Machine: ${m.cores} cores, ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB`,
    `Node ${m.node}, SQLite ${m.sqlite}, commit ${m.commit}` +
      (m.uncommittedFiles ? ` + ${m.uncommittedFiles} uncommitted files` : ''),
    `Load average at start: ${m.loadAverage.toFixed(2)}`,
  ].join('\n');
}

/** Formats a number with thousands separators and `digits` decimals. */
export function num(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export const mb = (bytes: number): string => `${num(bytes / 1e6, 1)} MB`;

/** Prints a table with a title; columns are aligned, columns of numbers to the right. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) =>
    rows.every((r) => /^([-+]?[\d,.]+( ?[%a-zA-Z/]+)?|—|)$/.test(r[i] ?? '')),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}
