// Setup file of the integration project: when a test fails, print what the control plane was
// doing (recent component logs and every Event), so a red test explains itself.
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
      `\n=== control plane logs ===\n${cp.recentLogs(25)}\n=== kubectl get events -A ===\n${events}`,
    );
  });
});
