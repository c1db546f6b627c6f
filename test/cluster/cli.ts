// npm run cluster:up / cluster:down: a local control plane for manual use, kept running until
// `down`. Its directory defaults to $TMPDIR/hindsight-cluster (HINDSIGHT_CLUSTER_DIR overrides).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, startControlPlane } from './control-plane.ts';

const dir = process.env.HINDSIGHT_CLUSTER_DIR ?? join(tmpdir(), 'hindsight-cluster');
const command = process.argv[2];

async function main(): Promise<number> {
  switch (command) {
    case 'up': {
      if (existsSync(join(dir, 'state.json'))) {
        console.error(`A control plane already exists in ${dir}; run npm run cluster:down first.`);
        return 1;
      }
      const cp = await startControlPlane({ dir, owner: null, log: (m) => console.error(m) });
      console.log(
        `Local control plane is up at ${cp.state.server}.\nUse it with:\n  export KUBECONFIG=${cp.kubeconfig}`,
      );
      return 0;
    }
    case 'down': {
      if (!existsSync(join(dir, 'state.json'))) {
        console.error(`No control plane found in ${dir}; nothing to stop.`);
        await rm(dir, { recursive: true, force: true });
        return 0;
      }
      await (await ControlPlane.attach(dir)).destroy();
      console.log(`Local control plane in ${dir} stopped and removed.`);
      return 0;
    }
    default:
      console.error(`Unknown command '${command ?? ''}'; use 'up' or 'down'.`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
