import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { Batcher } from '../../src/recorder/batcher.ts';

function batcher(delayMs: number) {
  const commits: number[][] = [];
  const b = new Batcher<number[]>({
    commit: (batch) => commits.push(batch.flat()),
    size: (e) => e.length,
    log: createLogger('error'),
    batchSize: 10,
    batchDelayMs: delayMs,
    retryDelayMs: 1000,
  });
  return { b, commits };
}

describe('Batcher', () => {
  it('lets a small entry wait for company, but commits a bulk entry at once', async () => {
    // A delay no test waits out: only an immediate commit settles these promises in time.
    const { b, commits } = batcher(60_000);
    const small = b.add([1, 2]);
    let settled = false;
    void small.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    // Half a batch or more comes from a backlog: it commits, taking the waiting entry along.
    await b.add([3, 4, 5, 6, 7]);
    await small;
    expect(commits).toEqual([[1, 2, 3, 4, 5, 6, 7]]);
    await b.stop();
  });
});
