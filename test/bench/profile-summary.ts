// Summarizes a V8 CPU profile (`node --cpu-prof`) by self time: the functions, and the source
// files, where the samples landed. Used to find the bottlenecks the README reports:
//   node --cpu-prof --cpu-prof-dir=test-results/prof test/bench/run.ts --quick --only=ingest
//   node test/bench/profile-summary.ts test-results/prof/<file>.cpuprofile [top]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function where(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

function table(title: string, totals: Map<string, number>, all: number, top: number): void {
  console.log(`\n${title}`);
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, us] of rows) {
    const pct = ((100 * us) / all).toFixed(1).padStart(5);
    console.log(`${pct} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}

/** The pipeline stage a sample belongs to, from its frame and, for a native frame, its caller. */
function stage(node: ProfileNode, caller: ProfileNode | undefined): string {
  const url = node.callFrame.url;
  const from = url === '' ? (caller?.callFrame.url ?? '') : url;
  if (node.callFrame.functionName === '(garbage collector)') return 'garbage collection';
  if (/^node:(zlib|internal\/streams|events)/.test(from) || from.endsWith('src/recorder/zstd.ts')) {
    return 'zstd (src/recorder/zstd.ts, node:zlib)';
  }
  if (from.endsWith('src/recorder/codec.ts')) return 'JSON.stringify/parse in the codec';
  if (from.includes('better-sqlite3') || from.endsWith('src/store/writer.ts')) return 'SQLite';
  if (from.endsWith('test/bench/stream.ts')) return 'JSON.parse of the watch stream';
  if (from.endsWith('src/recorder/diff.ts')) return 'diff and changed paths';
  if (from.includes('/src/')) return 'rest of src/';
  return 'other';
}

function label(node: ProfileNode): string {
  const f = node.callFrame;
  return `${f.functionName || '(anonymous)'}  ${where(f.url)}:${f.lineNumber + 1}`;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node test/bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byStage = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let all = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    all += us;
    // A native frame (a SQLite statement, a zlib handle) is named after its JavaScript caller.
    let name = label(node);
    const caller = byId.get(parent.get(id) ?? -1);
    if (node.callFrame.url === '' && caller) name += `  ← ${label(caller)}`;
    add(byFunction, name, us);
    add(byStage, stage(node, caller), us);
    add(byFile, where(node.callFrame.url), us);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const key = label(n);
      if (n.callFrame.url.includes('/src/') && !seen.has(key)) {
        seen.add(key);
        add(inclusive, key, us);
      }
    }
  }
  console.log(
    `${file}: ${(all / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle (self time)`,
  );
  table('By stage (self time)', byStage, all, top);
  table('Top functions by self time', byFunction, all, top);
  table('By file (self time)', byFile, all, top);
  table('Functions of src/ by inclusive time (callees included)', inclusive, all, top);
}

main();
