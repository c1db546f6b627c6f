// The web UI in real headless Chromium (Debian's chromium driven by playwright-core) against the
// real operator recording a Deployment rollout: the timeline draws it as swimlanes grouped by
// owner, the kind filter and the URL state work, and the object page diffs two versions.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../cluster/control-plane.ts';
import { apply, controlPlane, kubeConfig, uniqueName, waitFor } from '../cluster.ts';
import { OperatorProcess, operatorKubeconfig } from '../operator-process.ts';
import {
  clusterRoleBinding,
  createDeployment,
  historyPolicy,
  ROLLOUT_RESOURCES,
  rollOutImage,
  serviceAccount,
  serviceAccountToken,
  waitForPolicyReady,
} from '../world.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SCREENSHOTS = join(ROOT, 'test-results/screenshots');
const CHROMIUM = process.env.HINDSIGHT_CHROMIUM ?? '/usr/bin/chromium';

const core = kubeConfig().makeApiClient(CoreV1Api);

interface Obj {
  uid: string;
  kind: string;
  name: string;
}

describe('web UI in Chromium', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dataDir: string;
  let token: string;
  const pageErrors: string[] = [];
  const ns = uniqueName('ui');
  const policy = uniqueName('ui');

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${op.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const shot = (name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  /** What the swimlanes show, top to bottom. */
  const lanes = () =>
    page.$$eval('.lane', (els) =>
      els.map((e) => ({
        kind: e.getAttribute('data-kind')!,
        name: e.getAttribute('data-name')!,
        depth: Number(e.getAttribute('data-depth')),
        deleted: e.querySelector('.tag.deleted') !== null,
        changes: e.querySelectorAll('.change').length,
        modified: e.querySelectorAll('.change.modified').length,
        heat: e.querySelectorAll('.heat').length,
      })),
    );

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set HINDSIGHT_CHROMIUM`,
      );
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    // Test the UI as it is in the sources now, not whatever an earlier build left in dist/ui.
    await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error' });

    cp = await controlPlane();
    const kubeconfig = await operatorKubeconfig(cp);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const viewer = { name: 'ui-viewer', namespace: ns };
    await apply(
      serviceAccount(viewer),
      clusterRoleBinding(`${ns}-viewer`, 'view', viewer),
      historyPolicy(policy, {
        resources: ROLLOUT_RESOURCES,
        events: true,
        namespaces: { include: [ns] },
      }),
    );
    token = await serviceAccountToken(cp, viewer);
    dataDir = await mkdtemp(join(tmpdir(), 'hindsight-ui-'));
    op = await OperatorProcess.start({ kubeconfig, dataDir });
    await waitForPolicyReady(cp, policy);

    // The recorded world: a Deployment rolled out from web:1 to web:2.
    const web = { namespace: ns, name: 'web', replicas: 2 };
    await createDeployment({ ...web, image: 'web:1', labels: { app: 'web' } });
    await rollOutImage({ ...web, image: 'web:2' });
    // Everything the assertions read, recorded: both ReplicaSets, the old Pods' deletions and
    // the deployment controller's Events.
    await waitFor('the rollout to be recorded', 30_000, async () => {
      const rs = await api<{ items: Obj[] }>(`/api/v1/resources?namespace=${ns}&kind=ReplicaSet`);
      const pods = await api<{ items: (Obj & { deletedAt: number | null })[] }>(
        `/api/v1/resources?namespace=${ns}&kind=Pod&includeDeleted=true`,
      );
      const events = await api<{ items: unknown[] }>(
        `/api/v1/events?namespace=${ns}&reason=ScalingReplicaSet`,
      );
      return (
        rs.items.length === 2 &&
        pods.items.filter((p) => p.deletedAt !== null).length >= 2 &&
        pods.items.length >= 4 &&
        events.items.length > 0
      );
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    // A normal laptop window.
    context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    await op?.stop();
    await cp?.kubectl(['delete', 'hp', policy, '--ignore-not-found']);
    await cp?.kubectl(['delete', 'clusterrolebinding', `${ns}-viewer`, '--ignore-not-found']);
    await core.deleteNamespace({ name: ns }).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('asks for a token, then draws the rollout as swimlanes grouped by owner', async () => {
    await page.goto(`${op.url}/?namespace=${ns}`);
    const prompt = page.locator('form.state.auth');
    await prompt.waitFor();
    expect(await prompt.textContent()).toContain('The API needs a bearer token');
    await shot('01-token-prompt');
    await page.fill('input[name=token]', token);
    await page.click('form.state.auth button[type=submit]');
    await page.locator('.lane[data-kind=Pod]').first().waitFor();
    await shot('02-timeline');

    const drawn = await lanes();
    const rs = await api<{ items: Obj[] }>(`/api/v1/resources?namespace=${ns}&kind=ReplicaSet`);
    const rsNames = rs.items.map((r) => r.name).sort();
    expect(drawn.filter((l) => l.kind === 'Deployment').map((l) => [l.name, l.depth])).toEqual([
      ['web', 0],
    ]);
    expect(
      drawn
        .filter((l) => l.kind === 'ReplicaSet')
        .map((l) => [l.name, l.depth])
        .sort(),
    ).toEqual(rsNames.map((n) => [n, 1]));
    const pods = drawn.filter((l) => l.kind === 'Pod');
    expect(pods.length).toBeGreaterThanOrEqual(4);
    // Each Pod sits under its ReplicaSet: the nearest lane above it one level up is its owner.
    drawn.forEach((l, i) => {
      if (l.kind !== 'Pod') return;
      expect(l.depth).toBe(2);
      const owner = drawn.slice(0, i).findLast((o) => o.depth === 1)!;
      expect(l.name.startsWith(`${owner.name}-`)).toBe(true);
    });
    // The old ReplicaSet's Pods were deleted in the rollout: their lifespans end visibly.
    expect(pods.filter((p) => p.deleted).length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('.lane[data-kind=Pod].ended .end-cap').count()).toBeGreaterThan(0);
    // Change ticks: the Deployment was created and then modified (the image, its status).
    const deployment = drawn.find((l) => l.kind === 'Deployment')!;
    expect(deployment.modified).toBeGreaterThan(0);
    // The deployment controller's ScalingReplicaSet Events make the heatmap.
    expect(deployment.heat).toBeGreaterThan(0);

    // Zoom to the rollout: the window goes into the URL and the rollout fills the chart.
    await page.click('button[data-action=Fit]');
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).not.toBeNull();
    await page.locator('.chart-area:not(.busy) .lane').first().waitFor();
    const from = Date.parse(new URL(page.url()).searchParams.get('from')!);
    const to = Date.parse(new URL(page.url()).searchParams.get('to')!);
    expect(to - from).toBeLessThan(10 * 60_000);
    // Each change tick of the Deployment sits where its recorded time falls in the window.
    const track = (await page.locator('.lane svg.track').first().boundingBox())!;
    const ticks = await page.$$eval('.lane[data-kind=Deployment] .change', (els) =>
      els.map((e) => ({
        seq: Number(e.getAttribute('data-seq')),
        x: Number(e.querySelector('.mark')!.getAttribute('x1')),
      })),
    );
    const web = (await api<{ items: Obj[] }>(`/api/v1/resources?namespace=${ns}&name=web`))
      .items[0]!;
    const versions = (
      await api<{ items: { seq: number; time: number }[] }>(
        `/api/v1/objects/${web.uid}/versions?limit=500`,
      )
    ).items;
    expect(ticks.map((t) => t.seq).sort()).toEqual(versions.map((v) => v.seq).sort());
    for (const t of ticks) {
      const time = versions.find((v) => v.seq === t.seq)!.time;
      expect(t.x).toBeCloseTo(((time - from) / (to - from)) * track.width, 0);
    }
    await shot('02-timeline-fit');
    expect(pageErrors).toEqual([]);
  });

  it('filters by kind, and the URL alone restores the view', async () => {
    await page.locator('.kinds label[data-kind=ReplicaSet] input').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('kinds')).toBe('ReplicaSet');
    await expect
      .poll(async () => (await lanes()).map((l) => l.kind))
      .toEqual(['ReplicaSet', 'ReplicaSet']);
    const shared = page.url();
    await shot('03-kind-filter');

    // The shared link opened in another tab (which must be given a token of its own).
    const other = await context.newPage();
    await other.goto(shared);
    await other.locator('form.state.auth').waitFor();
    await other.fill('input[name=token]', token);
    await other.click('form.state.auth button[type=submit]');
    await other.locator('.lane').first().waitFor();
    expect(
      await other.$$eval('.lane', (els) => els.map((e) => e.getAttribute('data-kind'))),
    ).toEqual(['ReplicaSet', 'ReplicaSet']);
    expect(await other.isChecked('.kinds label[data-kind=ReplicaSet] input')).toBe(true);
    expect(await other.inputValue('input[name=namespace]')).toBe(ns);
    await other.close();

    // A name that matches nothing says so instead of drawing an empty chart.
    await page.fill('input[name=name]', 'no-such-object');
    await page.getByText('No object matches the filters').waitFor();
    await page.click('text=Clear filters');
    await expect.poll(async () => (await lanes()).length).toBeGreaterThanOrEqual(7);
    expect(new URL(page.url()).searchParams.get('kinds')).toBeNull();
  });

  it('opens an object and diffs two of its versions side by side', async () => {
    await page.click('.lane[data-kind=Deployment] a.name');
    await page.waitForURL(/\/objects\//);
    await page.locator('table.versions tbody tr').first().waitFor();
    expect(await page.locator('h1').textContent()).toContain('web');

    const rows = page.locator('table.versions tbody tr');
    const count = await rows.count();
    expect(count).toBeGreaterThanOrEqual(3);
    // Who changed what: the oldest is the creation; later ones name their field manager.
    expect(
      await rows
        .nth(count - 1)
        .locator('.tag')
        .textContent(),
    ).toBe('added');
    const actors = await page.$$eval('table.versions td.actor', (els) =>
      els.map((e) => e.textContent ?? ''),
    );
    expect(actors.some((a) => a.length > 0 && a !== 'unknown')).toBe(true);
    const paths = await page.$$eval('table.versions td.paths', (els) =>
      els.map((e) => e.getAttribute('title') ?? e.textContent ?? ''),
    );
    expect(paths.some((p) => p.includes('spec.template.spec.containers'))).toBe(true);

    // From the creation to the newest version.
    await rows
      .nth(count - 1)
      .locator('input[name=from]')
      .check();
    await rows.nth(0).locator('input[name=to]').check();
    const table = page.locator('table.side-by-side');
    await table.waitFor();
    await shot('04-object-diff');
    const removed = await table.locator('td.left.del').allTextContents();
    const added = await table.locator('td.right.add').allTextContents();
    expect(removed.some((t) => t.includes('"image": "web:1"'))).toBe(true);
    expect(added.some((t) => t.includes('"image": "web:2"'))).toBe(true);
    // The two sides line up: the old image is on the same row as the new one.
    const imageRow = table.locator('tr.changed', { hasText: '"image": "web:1"' });
    expect(await imageRow.locator('td.code.right').textContent()).toContain('"image": "web:2"');
    expect(await page.locator('ul.diff-summary').textContent()).toContain('web:2');
    const url = new URL(page.url());
    expect(url.searchParams.get('from')).not.toBeNull();
    expect(url.searchParams.get('to')).not.toBeNull();

    // The object's Events.
    await page.locator('table.event-list').waitFor();
    expect(await page.locator('table.event-list').textContent()).toContain('ScalingReplicaSet');
    expect(pageErrors).toEqual([]);
  });

  it('pans, zooms, filters by label, shades recording gaps and says when nothing was recorded', async () => {
    const p = await context.newPage();
    p.on('pageerror', (err) => pageErrors.push(err.message));
    // A recording gap in the middle of every answer: the API's gaps are tested with the API;
    // here, that the UI draws what it is given.
    await p.route('**/api/v1/timeline*', async (route) => {
      const res = await route.fetch();
      if (!res.ok()) return route.fulfill({ response: res });
      const body = (await res.json()) as { window: { from: number; to: number }; gaps: unknown[] };
      const { from, to } = body.window;
      body.gaps.push({
        watch: 'pods',
        group: '',
        resource: 'pods',
        namespace: ns,
        start: Math.round((from + to) / 2),
        end: Math.round((from + to) / 2 + (to - from) / 10),
        reason: 'WatchExpired',
      });
      await route.fulfill({ response: res, json: body });
    });
    const to0 = Date.now() + 60_000;
    const from0 = to0 - 20 * 60_000;
    const iso = (t: number) => new Date(t).toISOString();
    await p.goto(`${op.url}/?namespace=${ns}&from=${iso(from0)}&to=${iso(to0)}`);
    await p.fill('input[name=token]', token);
    await p.click('form.state.auth button[type=submit]');
    await p.locator('.lane').first().waitFor();
    const laneCount = await p.locator('.lane').count();
    expect(await p.locator('.lane rect.gap').count()).toBe(laneCount);
    expect(await p.locator('.summary').textContent()).toContain('1 recording gaps');
    await p.screenshot({ path: join(SCREENSHOTS, '06-gap.png') });

    const windowOf = () => {
      const q = new URL(p.url()).searchParams;
      return { from: Date.parse(q.get('from')!), to: Date.parse(q.get('to')!) };
    };
    // Dragging a quarter of the track to the right shows a quarter of the window earlier.
    const track = (await p.locator('.lane svg.track').first().boundingBox())!;
    const y = track.y + track.height / 2;
    await p.mouse.move(track.x + track.width / 2, y);
    await p.mouse.down();
    await p.mouse.move(track.x + (track.width * 3) / 4, y, { steps: 5 });
    await p.mouse.up();
    await expect.poll(() => windowOf().from).toBeLessThan(from0);
    const panned = windowOf();
    expect(panned.to - panned.from).toBe(to0 - from0);
    expect(Math.abs(from0 - panned.from - (to0 - from0) / 4)).toBeLessThan((to0 - from0) / 50);

    // Ctrl + wheel up over the chart zooms in.
    await p.keyboard.down('Control');
    await p.mouse.wheel(0, -120);
    await p.keyboard.up('Control');
    await expect.poll(() => windowOf().to - windowOf().from).toBeLessThan(to0 - from0);

    // Labels: a selector that matches the rollout keeps it, one that matches nothing says so.
    await p.goto(`${op.url}/?namespace=${ns}&label=app%3Dweb`);
    await p.locator('.lane').first().waitFor();
    expect(await p.locator('.lane').count()).toBe(laneCount);
    await p.fill('input[name=label]', 'app=nothing');
    await p.press('input[name=label]', 'Enter');
    await p.getByText('No object matches the filters').waitFor();

    // A window before anything was recorded.
    await p.goto(`${op.url}/?namespace=${ns}&from=2020-01-01T00:00:00Z&to=2020-01-01T01:00:00Z`);
    await p.getByText('No history in this window').waitFor();
    await p.close();
    expect(pageErrors).toEqual([]);
  });

  it('says what went wrong when the API is unreachable or the token is refused', async () => {
    const p = await context.newPage();
    // Without a namespace the page asks for a token too, then offers the recorded namespaces.
    await p.goto(`${op.url}/`);
    await p.fill('input[name=token]', token);
    await p.click('form.state.auth button[type=submit]');
    await p.locator('.ns-list').getByText(ns, { exact: true }).click();
    await p.locator('.lane').first().waitFor();
    expect(new URL(p.url()).searchParams.get('namespace')).toBe(ns);
    expect(await p.isVisible('#forget-token')).toBe(true);
    // The network fails under the page: the next load says so, and offers to try again.
    await p.route('**/api/v1/timeline*', (route) => route.abort('connectionrefused'));
    await p.click('button[data-action=Refresh]');
    const alert = p.locator('.state.error');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('The API cannot be reached');
    await p.screenshot({ path: join(SCREENSHOTS, '05-network-error.png') });
    await p.unroute('**/api/v1/timeline*');
    await p.click('text=Try again');
    await p.locator('.lane').first().waitFor();

    await p.evaluate(() => sessionStorage.setItem('hindsight.token', 'not-a-valid-token'));
    await p.reload();
    await p.getByText('The token was not accepted').waitFor();
    await p.close();

    // A UI route that does not exist, and the API next to the UI, unchanged.
    const missing = await fetch(`${op.url}/no-such-page`);
    expect(missing.status).toBe(404);
    const asset = await fetch(`${op.url}/objects/anything`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${op.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${op.url}/api/v1/timeline?namespace=${ns}`)).status).toBe(401);
  });
});
