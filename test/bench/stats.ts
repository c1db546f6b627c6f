// Small helpers for repeated measurements on a shared machine.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

// `npm run bench` starts Node without --expose-gc; a fresh context exposes gc after the flag is
// set, so figures start from a collected heap either way.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A full collection, so garbage from generating a workload is not charged to the next figure. */
export function collectGarbage(): void {
  gc();
  gc();
}
