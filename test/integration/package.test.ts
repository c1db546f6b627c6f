// The package `npm pack` makes, installed as a user would (`npm install hindsight-X.tgz`, runtime
// dependencies only, from the registry): the CLI runs from it and reports the version of
// package.json, and the tarball carries what it is for (the built code, CRDs, chart, manifests,
// samples, changelog) and none of the sources or tests. Not a cluster test, but slow (an install
// from the registry), so it runs with the integration tests, on the dist/ of `npm run build`.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

describe('the npm package', () => {
  let dir: string;
  let tarball: string;
  let files: string[];
  const app = () => join(dir, 'app');
  const hindsight = (...args: string[]) =>
    exec(join(app(), 'node_modules/.bin/hindsight'), args, { cwd: app() });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-pack-'));
    // Without prepack's build: `npm run build` (which .ci/run runs before the tests) rewrites
    // dist/, which the demo and browser tests read at the same time.
    const args = ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'];
    const { stdout } = await exec('npm', args, {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    tarball = join(dir, stdout.trim().split('\n').at(-1)!);
    files = (await exec('tar', ['-tzf', tarball])).stdout.trim().split('\n');
    await exec('mkdir', [app()]);
    await writeFile(join(app(), 'package.json'), '{"name":"a-user","private":true}\n');
    await exec('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], {
      cwd: app(),
    });
  }, 600_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds the built code, CRDs, chart, manifests, samples and changelog, and no sources', () => {
    expect(tarball.endsWith(`hindsight-${pkg.version}.tgz`)).toBe(true);
    for (const f of [
      'package/dist/cli/main.js',
      'package/dist/main.js',
      'package/dist/ui/index.html',
      'package/crds/hindsight.dev_historypolicies.yaml',
      'package/charts/hindsight/Chart.yaml',
      'package/manifests/kustomization.yaml',
      'package/config/samples/historypolicy-workloads.yaml',
      'package/CHANGELOG.md',
      'package/README.md',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^package\/(src|test|e2e|\.ci)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts'))).toEqual([]);
  });

  it('installs with runtime dependencies only, and its CLI runs and knows its version', async () => {
    const installed = readdirSync(join(app(), 'node_modules'));
    expect(installed).toContain('@kubernetes');
    expect(installed.filter((name) => name in pkg.devDependencies)).toEqual([]);
    expect((await hindsight('--version')).stdout).toBe(`hindsight ${pkg.version}\n`);
    expect((await hindsight('--help')).stdout).toMatch(/^hindsight reads the history/);
    // restore opens SQLite: the native module was installed for this Node.
    expect((await hindsight('restore', '--help')).stdout).toMatch(/restore/);
  });
});
