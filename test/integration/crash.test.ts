// A crash (SIGKILL) during heavy recording leaves a database that opens, passes integrity_check,
// and resumes without losing or duplicating anything.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.ts';
import { HistoryReader } from '../../src/store/reader.ts';
import { controlPlane, kubeConfig, waitFor } from './cluster.ts';
import { checkHistory, Driver, missing } from './ground-truth.ts';
import { configMapRecording, OperatorProcess } from './operator-process.ts';

const kc = kubeConfig();
const cleanup: (() => unknown)[] = [];

afterAll(async () => {
  for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {});
});

it('survives SIGKILL during heavy recording and resumes without duplicates', async () => {
  const cp = await controlPlane();
  const { namespace: ns, kubeconfig } = await configMapRecording(cp, 'crash', cleanup);
  const dataDir = await mkdtemp(join(tmpdir(), 'hindsight-crash-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  let op = await OperatorProcess.start({ kubeconfig, dataDir });
  cleanup.push(() => op.stop());
  await waitFor('the watch', 30_000, () =>
    Promise.resolve(op.lines.some((l) => l.msg === 'Started watch')),
  );

  const driver = new Driver(kc);
  const total = 400;
  let next = 0;
  const writers = Array.from({ length: 8 }, async () => {
    while (next < total) {
      const i = next++;
      await driver.createConfigMap(ns, `cm-${i}`, { i: String(i) });
      if (i % 3 === 0) await driver.updateConfigMap(ns, `cm-${i}`, { i: `${i}-updated` });
    }
  });
  await waitFor('some history to be recorded', 30_000, () =>
    Promise.resolve(driver.log.length > 150),
  );
  await op.kill();
  await Promise.all(writers);

  const path = join(dataDir, 'history.db');
  const check = openDatabase(path);
  expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
  const before = new HistoryReader(check).counts().versions;
  check.close();
  expect(before).toBeGreaterThan(0);

  op = await OperatorProcess.start({ kubeconfig, dataDir });
  const db = openDatabase(path, { readonly: true });
  cleanup.push(() => Promise.resolve(db.close()));
  const reader = new HistoryReader(db);
  await waitFor('every write to be recorded', 60_000, () =>
    Promise.resolve(missing(reader, driver.log).length === 0),
  );
  checkHistory(reader, driver.log);
  // One version per write, nothing twice (the namespace's root-CA ConfigMap is not the driver's).
  const ours = reader.objects({ namespace: ns }).filter((o) => o.name !== 'kube-root-ca.crt');
  expect(ours.reduce((n, o) => n + reader.versions(o.id).length, 0)).toBe(driver.log.length);

  const metrics = await (await fetch(`${op.url}/metrics`)).text();
  const added = /^hindsight_recorder_changes_total\{kind="ConfigMap",type="added"\} (\d+)$/m.exec(
    metrics,
  );
  expect(Number(added?.[1])).toBeGreaterThan(0);
  expect(metrics).toMatch(/^hindsight_store_writable 1$/m);
});
