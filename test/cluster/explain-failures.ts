// Setup file of the integration project: when a test fails, print what the control plane was
// doing (recent component logs and every Event), and the S3 server's recent requests, so a red
// test explains itself.
import { readFileSync } from 'node:fs';
import { beforeEach, inject } from 'vitest';
import { ControlPlane } from './control-plane.ts';

beforeEach(({ onTestFailed }) => {
  onTestFailed(async () => {
    const cp = await ControlPlane.attach(inject('clusterDir'));
    let events: string;
    try {
      events = await cp.kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
    } catch (err) {
      events = `(kubectl get events failed: ${(err as Error).message})`;
    }
    console.error(
      `\n=== control plane logs ===\n${cp.recentLogs(25)}\n=== kubectl get events -A ===\n${events}${s3Requests(20)}`,
    );
  });
});

/** The S3 server's last requests, or nothing when no test used it (the readiness probe aside). */
function s3Requests(lines: number): string {
  const log = inject('s3Log');
  let requests: string[];
  try {
    requests = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes(' | vgw | ') && !l.includes('x-id=ListBuckets'));
  } catch {
    return '';
  }
  if (requests.length === 0) return '';
  return `\n=== S3 server requests (${log}) ===\n${requests.slice(-lines).join('\n')}`;
}
