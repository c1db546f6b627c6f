// The web UI in real headless Chromium (Debian's chromium driven by playwright-core) against the
// real operator recording a Deployment rollout: the timeline draws it as swimlanes grouped by
// owner, the kind filter and the URL state work, the object page diffs two versions, and the
// rollouts the operator derived (web's, and a Deployment whose Pods cannot be created) are drawn
// as bands and listed on the workloads' pages.
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

interface RolloutJson {
  id: number;
  uid: string;
  name: string;
  generation: number;
  started: number;
  ended: number | null;
  outcome: string;
  reason: string | null;
}

/** The red, green and blue of a computed CSS colour such as `rgb(212, 42, 48)`. */
function rgb(colour: string): [number, number, number] {
  const m = /^rgba?\((\d+), (\d+), (\d+)/.exec(colour);
  if (!m) throw new Error(`not an rgb() colour: ${colour}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
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

  it('draws rollouts as bands on their workloads, red with the reason when failed, and lists them on the workload page', async () => {
    // Its Pods cannot be created: the ServiceAccount it names does not exist. Made here, after
    // the tests above counted the lanes of web's rollout alone.
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'orphan', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'orphan' } },
        template: {
          metadata: { labels: { app: 'orphan' } },
          spec: { serviceAccountName: 'missing', containers: [{ name: 'app', image: 'orphan:1' }] },
        },
      },
    });
    let derived: RolloutJson[] = [];
    await waitFor('the rollouts of web and orphan to be derived', 60_000, async () => {
      derived = (await api<{ items: RolloutJson[] }>(`/api/v1/rollouts?namespace=${ns}&limit=500`))
        .items;
      const web = derived.filter((r) => r.name === 'web');
      return (
        web.length === 2 &&
        web.every((r) => r.outcome === 'complete') &&
        derived.some((r) => r.name === 'orphan' && r.outcome === 'failed')
      );
    }).catch((err: Error) => {
      throw new Error(`${err.message}; derived: ${JSON.stringify(derived)}`, { cause: err });
    });
    const web = derived.filter((r) => r.name === 'web').sort((a, b) => a.generation - b.generation);
    const failed = derived.find((r) => r.name === 'orphan')!;
    expect(failed.reason).toMatch(/FailedCreate/);

    // A window around the three rollouts (fixed, so the positions can be checked).
    // A rollout that ended with an Event may end "before" it started: Events have whole seconds.
    const end = (r: RolloutJson) => Math.max(r.started, r.ended!);
    const first = Math.min(...derived.map((r) => r.started));
    const last = Math.max(...derived.map(end));
    const margin = Math.max(2000, (last - first) / 10);
    const from = Math.round(first - margin);
    const to = Math.round(last + margin);
    const iso = (t: number) => new Date(t).toISOString();
    await page.goto(`${op.url}/?namespace=${ns}&from=${iso(from)}&to=${iso(to)}`);
    await page.locator('.lane[data-name=orphan] .rollout').waitFor();
    const bands = await page.$$eval('.lane .rollout', (els) =>
      els.map((e) => ({
        lane: e.closest('.lane')!.getAttribute('data-name'),
        id: Number(e.getAttribute('data-rollout-id')),
        outcome: e.getAttribute('data-outcome'),
        cls: e.getAttribute('class'),
        x: Number(e.getAttribute('x')),
        width: Number(e.getAttribute('width')),
        fill: getComputedStyle(e).fill,
        fillOpacity: Number(getComputedStyle(e).fillOpacity),
        title: e.querySelector('title')?.textContent ?? '',
      })),
    );
    // One band per rollout, each on its own workload's lane (none on ReplicaSets or Pods).
    expect(bands).toHaveLength(derived.length);
    expect(
      bands
        .filter((b) => b.lane === 'web')
        .map((b) => [b.id, b.outcome, b.cls])
        .sort(),
    ).toEqual(web.map((r) => [r.id, 'complete', 'rollout rollout-complete']).sort());
    expect(bands.filter((b) => b.lane === 'orphan').map((b) => [b.id, b.outcome, b.cls])).toEqual([
      [failed.id, 'failed', 'rollout rollout-failed'],
    ]);
    // Each spans its rollout's start to its end on the time axis.
    const track = (await page.locator('.lane svg.track').first().boundingBox())!;
    const at = (t: number) => ((t - from) / (to - from)) * track.width;
    for (const r of [...web, failed]) {
      const b = bands.find((x) => x.id === r.id)!;
      expect(b.x).toBeCloseTo(at(r.started), 0);
      expect(b.width).toBeCloseTo(Math.max(10, at(end(r)) - at(r.started)), 0);
    }
    // The failed band is red; a complete one is not (it is green).
    const red = bands.find((b) => b.outcome === 'failed')!;
    const [r, g, b] = rgb(red.fill);
    expect(r - Math.max(g, b)).toBeGreaterThan(100);
    expect(red.fillOpacity).toBeGreaterThan(0.1);
    const [cr, cg] = rgb(bands.find((x) => x.lane === 'web')!.fill);
    expect(cg).toBeGreaterThan(cr);
    // The texts: outcome, duration and images; the reason when failed.
    const newest = bands.find((x) => x.id === web[1]!.id)!;
    expect(newest.title).toMatch(/^Deployment web: rollout complete in \S+\n/);
    expect(newest.title).toContain('images: web:1 → web:2');
    expect(red.title).toMatch(/^Deployment orphan: rollout failed after \S+\n/);
    expect(red.title).toContain('FailedCreate');

    // Drawn behind the lifespan and the change ticks, which are all still there.
    const layers = await page.$$eval('.lane[data-kind=Deployment] svg.track .pan', (gs) =>
      gs.map((g) => [...g.children].map((c) => c.getAttribute('class') ?? '')),
    );
    expect(layers).toHaveLength(2);
    for (const classes of layers) {
      const lastBand = classes.findLastIndex((c) => c.startsWith('rollout'));
      const firstMark = classes.findIndex((c) => c === 'life' || c.startsWith('change'));
      expect(lastBand).toBeGreaterThanOrEqual(0);
      expect(classes.some((c) => c.startsWith('change'))).toBe(true);
      expect(lastBand).toBeLessThan(firstMark);
    }
    // The lane and the summary say a rollout failed.
    expect(await page.locator('.lane[data-name=orphan] .tag.rollout-failed').count()).toBe(1);
    expect(await page.locator('.lane[data-name=web] .tag.rollout-failed').count()).toBe(0);
    expect(await page.locator('.summary').textContent()).toContain(
      `${derived.length} rollouts (1 failed)`,
    );

    // Hovering the failed band where no tick or heat cell is over it shows its text.
    const box = (await page.locator('.lane[data-name=orphan] .rollout').boundingBox())!;
    const spot = await page.evaluate(
      ({ x, y, w, h }) => {
        for (let dy = 2; dy < h - 1; dy += 2) {
          for (let dx = 1; dx < w; dx += 1) {
            if (document.elementFromPoint(x + dx, y + dy)?.classList.contains('rollout')) {
              return { x: x + dx, y: y + dy };
            }
          }
        }
        return null;
      },
      { x: box.x, y: box.y, w: box.width, h: box.height },
    );
    expect(spot).not.toBeNull();
    await page.mouse.move(spot!.x, spot!.y);
    const hovered = await page.$$eval('.rollout:hover', (els) =>
      els.map((e) => ({
        outcome: e.getAttribute('data-outcome'),
        title: e.querySelector('title')?.textContent ?? '',
      })),
    );
    expect(hovered.map((x) => x.outcome)).toEqual(['failed']);
    expect(hovered[0]!.title).toContain('FailedCreate');
    await shot('07-rollouts');

    // Clicking the band opens the workload's page, which lists the failed rollout and why.
    await page.mouse.click(spot!.x, spot!.y);
    await page.waitForURL(new RegExp(`/objects/${failed.uid}$`));
    const failedRows = page.locator('table.rollout-list tbody tr');
    await failedRows.first().waitFor();
    expect(await failedRows.count()).toBe(1);
    expect(await failedRows.first().getAttribute('data-outcome')).toBe('failed');
    const tag = failedRows.first().locator('.tag.outcome');
    expect(await tag.textContent()).toBe('failed');
    const [tr, tg, tb] = rgb(await tag.evaluate((e) => getComputedStyle(e).color));
    expect(tr - Math.max(tg, tb)).toBeGreaterThan(80);
    expect(await failedRows.first().locator('td.message').textContent()).toContain('FailedCreate');
    await shot('08-rollout-failed-object');

    // web's page: both rollouts, newest first, with revision, images and who started it.
    await page.goto(`${op.url}/objects/${web[0]!.uid}`);
    const webRows = page.locator('table.rollout-list tbody tr');
    await webRows.first().waitFor();
    expect(await page.locator('section.rollouts h2').textContent()).toBe('Rollouts (2)');
    const cells = await webRows.evaluateAll((trs) =>
      trs.map((tr) => [
        tr.getAttribute('data-outcome'),
        ...[...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      ]),
    );
    expect(cells.map((c) => [c[0], c[3], c[4], c[5]])).toEqual([
      ['complete', 'complete', '2', 'web:1 → web:2'],
      ['complete', 'complete', '1', 'web:1'],
    ]);
    expect(cells[0]![6]).toMatch(/\((Update|Apply)\)/);
    await shot('09-rollouts-object');

    // None recorded: said in a line.
    const rolloutsApi = /\/api\/v1\/rollouts\?/;
    await page.route(rolloutsApi, (route) => route.fulfill({ json: { items: [], next: null } }));
    await page.reload();
    await page.locator('section.rollouts .no-rollouts').waitFor();
    expect(await page.locator('section.rollouts').textContent()).toContain('No rollouts recorded');
    expect(await page.locator('table.rollout-list').count()).toBe(0);
    await page.unroute(rolloutsApi);

    // Not a workload: no Rollouts section.
    const rs = (
      await api<{ items: Obj[] }>(`/api/v1/resources?namespace=${ns}&kind=ReplicaSet`)
    ).items.find((o) => o.name.startsWith('web-'))!;
    await page.goto(`${op.url}/objects/${rs.uid}`);
    await page.locator('table.versions tbody tr').first().waitFor();
    expect(await page.locator('h1').textContent()).toContain(rs.name);
    expect(await page.locator('section.rollouts').count()).toBe(0);

    // When rollouts cannot be loaded, the timeline still draws its lanes and says why.
    await page.route(rolloutsApi, (route) =>
      route.fulfill({
        status: 503,
        json: { title: 'Service unavailable', status: 503, detail: 'the query threads are busy' },
      }),
    );
    await page.goto(`${op.url}/?namespace=${ns}&from=${iso(from)}&to=${iso(to)}`);
    await page.locator('.lane').first().waitFor();
    expect(await page.locator('.summary').textContent()).toContain(
      'rollouts not shown: the query threads are busy',
    );
    expect(await page.locator('.lane .rollout').count()).toBe(0);
    expect(await page.locator('.lane .change').count()).toBeGreaterThan(0);
    await page.unroute(rolloutsApi);
    expect(pageErrors).toEqual([]);
  });
});
