import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { client, createKey, type Client } from './support/http';
import { useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * The dashboard's queue panel, "since you last looked" and the list's time, queue and failed filters (#18
 * defect 11 and the feature list), in Chromium against the real server. Workers are driven through the real
 * claim and heartbeat routes; a worker goes stale and offline by the server's own thresholds, set short here
 * (WORKER_STALE_MS / WORKER_OFFLINE_MS), and its expired lease is requeued by the server's sweep.
 * Every expectation is computed from the API's answers, not from what the test meant to create.
 */

const STALE_MS = 2000;
const OFFLINE_MS = 4000;

let server: RunningServer;
let admin: Client;
let browser: Browser;
const contexts: BrowserContext[] = [];
const stops: (() => void)[] = [];

useServer((f) => ({ server, admin } = f), {
  WORKER_STALE_MS: String(STALE_MS),
  WORKER_OFFLINE_MS: String(OFFLINE_MS),
  SWEEP_INTERVAL_MS: '250',
});

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  for (const ctx of contexts.splice(0)) await ctx.close();
});

interface Opened {
  page: Page;
  ctx: BrowserContext;
  problems: string[];
}

async function newContext(): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  contexts.push(ctx);
  return ctx;
}

async function openPage(path: string, ctx?: BrowserContext): Promise<Opened> {
  ctx ??= await newContext();
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  await page.goto(server.url + path);
  return { page, ctx, problems };
}

const connection = (page: Page) => page.getByTestId('connection');

async function signIn(page: Page, key = ADMIN_TOKEN): Promise<void> {
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
}

async function live(page: Page, timeoutMs = 15_000): Promise<void> {
  await eventually(async () => expect(await connection(page).textContent()).toBe('live'), timeoutMs);
}

async function ok(res: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const create = (p: string, body: Record<string, unknown>) =>
  ok(admin.post(`/api/projects/${p}/workflows`, { steps: [{ id: 'a' }], type: 'job', ...body }), 201);

const listedIds = (page: Page) =>
  page
    .getByTestId('workflow-item')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.workflowId ?? '').sort());

const apiIds = async (p: string, q: string) =>
  ((await ok(admin.get(`/api/projects/${p}/workflows?limit=500&${q}`))).items as { id: string }[])
    .map((w) => w.id)
    .sort();

const hashParams = async (page: Page) =>
  new URLSearchParams((await page.evaluate(() => window.location.hash)).split('?')[1] ?? '');

/** Claims one workflow of `queue` for `workerId` and returns the claim. */
async function claim(queue: string, workerId: string, leaseMs: number): Promise<any> {
  return ok(admin.post(`/api/queues/${queue}/claim`, { workerId, leaseMs }));
}

/** Heartbeats a claim every 300 ms until the test ends. */
function keepBeating(c: any): void {
  let on = true;
  const beat = async () => {
    while (on) {
      await admin.post(`/api/workflows/${c.workflow.id}/heartbeat`, {
        leaseToken: c.leaseToken,
        leaseMs: 60_000,
      });
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  void beat();
  stops.push(() => (on = false));
}

async function queuesOf(p: string): Promise<any[]> {
  return (await ok(admin.get(`/api/queues?projectId=${p}`))).items;
}

describe('dashboard queue panel, since you last looked, list filters (#18, browser)', () => {
  it("#18.11: the panel lists only the open project's queues, and its counts agree with the picker and the API", async () => {
    const p = 'qp-scope';
    for (let i = 0; i < 4; i++) await create(p, { id: `sc-q-${i}`, queue: 'scope-q' });
    for (let i = 0; i < 3; i++) await create(p, { id: `sc-free-${i}` });
    await create('qp-other', { id: 'other-1', queue: 'other-q' });
    await create('qp-free', { id: 'free-1' });
    await create('qp-free', { id: 'free-2' });

    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page);
    await live(page);
    const apiQueues = await queuesOf(p);
    const counts = (await ok(admin.get('/api/projects'))).items.find((x: any) => x.id === p).counts;
    const waiting = (await ok(admin.get(`/api/projects/${p}/queue`))).items as any[];
    await eventually(async () => {
      const names = await page
        .getByTestId('queue')
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.queue));
      expect(names).toEqual(apiQueues.map((q) => q.name));
    });
    expect(apiQueues.map((q) => q.name)).not.toContain('other-q');
    const row = page.locator('[data-testid="queue"][data-queue="scope-q"]');
    expect(await row.getByTestId('queue-counts').textContent()).toContain(
      `${apiQueues[0].queued} queued \u00b7 ${apiQueues[0].running} running`,
    );
    // the panel's "queued" is the picker's, and it says how many of those wait on queues
    const scope = page.getByTestId('queue-scope');
    await eventually(async () => expect(await scope.getAttribute('data-queued')).toBe(String(counts.queued)));
    expect(await scope.getAttribute('data-on-queues')).toBe(
      String(waiting.filter((w) => w.status === 'queued').length),
    );
    expect(await scope.textContent()).toContain(
      `${counts.queued - waiting.length} queued workflows on no queue`,
    );
    const label = await page
      .getByLabel('Project', { exact: true })
      .locator(`option[value="${p}"]`)
      .textContent();
    expect(label).toContain(`${counts.queued} queued`);
    expect(await page.getByTestId('waiting').count()).toBe(waiting.length);

    // a project whose queued work is on no queue: never "Nothing queued" beside the picker's count
    await page.evaluate(() => (window.location.hash = '#/p/qp-free'));
    await live(page);
    const free = (await ok(admin.get('/api/projects'))).items.find((x: any) => x.id === 'qp-free').counts;
    await eventually(async () =>
      expect((await page.locator('#project-queue-empty').textContent())?.trim()).toBe(
        `None of the ${free.queued} queued workflows waits on a queue.`,
      ),
    );
    expect(await page.getByTestId('queue').count()).toBe((await queuesOf('qp-free')).length);
    expect(await page.getByTestId('queue-panel').textContent()).not.toContain('other-q');
    expect(problems).toEqual([]);
  });

  it("#18.11: workers show online / offline by the server's thresholds; a dead worker is offline and holds nothing; a held job is a link that opens it", async () => {
    const p = 'qp-workers';
    await create(p, { id: 'wk-1', name: 'held by alive', queue: 'wk-q' });
    await create(p, { id: 'wk-2', name: 'held by dead', queue: 'wk-q' });
    const alive = await claim('wk-q', 'alive-worker', 60_000);
    keepBeating(alive);
    // the "dead process": claims with a short lease and never writes again
    const dead = await claim('wk-q', 'dead-worker', 1000);

    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page);
    await live(page);
    const worker = (id: string) => page.locator(`[data-testid="worker"][data-worker-id="${id}"]`);
    // the server's sweep requeues the dead worker's job, and past OFFLINE_MS it says "offline"
    await eventually(async () => {
      const w = (await queuesOf(p))[0].workers.find((x: any) => x.workerId === 'dead-worker');
      expect(w.health).toBe('offline');
      expect(w.workflowIds).toEqual([]);
    }, 20_000);
    await eventually(
      async () => expect(await worker('dead-worker').getAttribute('data-health')).toBe('offline'),
      20_000,
    );
    expect(await worker('dead-worker').getByTestId('worker-job').count()).toBe(0);
    expect(await worker('dead-worker').textContent()).toContain('not seen for');
    const apiAlive = (await queuesOf(p))[0].workers.find((x: any) => x.workerId === 'alive-worker');
    expect(apiAlive.health).toBe('online');
    expect(await worker('alive-worker').getAttribute('data-health')).toBe('online');
    // offline workers are listed after the healthy ones
    const order = await page
      .getByTestId('worker')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.workerId));
    expect(order.indexOf('alive-worker')).toBeLessThan(order.indexOf('dead-worker'));

    const link = worker('alive-worker').getByTestId('worker-job');
    expect(await link.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.workflowId))).toEqual(
      apiAlive.workflowIds,
    );
    expect(apiAlive.workflowIds).toEqual([alive.workflow.id]);
    await link.click();
    await eventually(async () =>
      expect(await page.getByTestId('detail-meta').textContent()).toContain(`id ${alive.workflow.id}`),
    );
    expect((await page.evaluate(() => window.location.hash)).split('?')[0]).toBe(
      `#/p/${p}/w/${alive.workflow.id}`,
    );
    expect(dead.workflow.id).not.toBe(alive.workflow.id);
    expect(problems).toEqual([]);
  }, 60_000);

  it('#18.11: a queue row filters the list to that queue, kept in the address across a reload; clicked again, it clears', async () => {
    const p = 'qp-rows';
    for (let i = 0; i < 3; i++) await create(p, { id: `rows-a-${i}`, queue: 'rows-a' });
    for (let i = 0; i < 2; i++) await create(p, { id: `rows-b-${i}`, queue: 'rows-b' });
    await create(p, { id: 'rows-free' });

    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page);
    await live(page);
    const all = await apiIds(p, '');
    await eventually(async () => expect(await listedIds(page)).toEqual(all));
    const onA = await apiIds(p, 'queue=rows-a');
    const rowA = page.locator('[data-testid="queue"][data-queue="rows-a"]').getByTestId('queue-filter');
    await rowA.click();
    await eventually(async () => expect(await listedIds(page)).toEqual(onA));
    expect((await hashParams(page)).get('queue')).toBe('rows-a');
    await eventually(async () => expect(await rowA.getAttribute('aria-pressed')).toBe('true'));

    await page.reload();
    await live(page);
    await eventually(async () => expect(await listedIds(page)).toEqual(onA));
    expect(await page.getByTestId('filter-queue').inputValue()).toBe('rows-a');

    await page.locator('[data-testid="queue"][data-queue="rows-a"]').getByTestId('queue-filter').click();
    await eventually(async () => expect(await listedIds(page)).toEqual(all));
    expect((await hashParams(page)).get('queue')).toBeNull();
    expect(problems).toEqual([]);
  });

  it("#18: per-queue throughput and failure-rate sparklines, inline SVG with a text alternative, match the API's history", async () => {
    const p = 'qp-spark';
    for (let i = 0; i < 6; i++) await create(p, { id: `sp-${i}`, queue: 'spark-q' });
    for (let i = 0; i < 6; i++) {
      const c = await claim('spark-q', 'spark-worker', 30_000);
      const h = { 'x-lease-token': c.leaseToken };
      if (i % 3 === 2)
        await ok(
          admin.post(`/api/workflows/${c.workflow.id}/steps/a/fail`, { error: { message: 'boom' } }, h),
        );
      else await ok(admin.post(`/api/workflows/${c.workflow.id}/steps/a/complete`, {}, h));
    }
    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page);
    await live(page);
    const q = (await queuesOf(p))[0];
    const done = q.history.completed.reduce((a: number, b: number) => a + b, 0);
    const failed = q.history.failed.reduce((a: number, b: number) => a + b, 0);
    expect(done + failed).toBe(6);
    const row = page.locator('[data-testid="queue"][data-queue="spark-q"]');
    const through = row.getByTestId('spark-throughput');
    await eventually(async () => expect(await through.count()).toBe(1));
    const values = (await through.getAttribute('data-values'))!.split(',').map(Number);
    expect(values).toHaveLength(q.history.completed.length);
    expect(values.reduce((a, b) => a + b, 0)).toBe(done + failed);
    expect(await through.getAttribute('role')).toBe('img');
    const throughLabel = await through.getAttribute('aria-label');
    expect(throughLabel).toContain(`${done} completed, ${failed} failed`);
    expect(await through.locator('title').textContent()).toBe(throughLabel);
    expect(await through.locator('rect.spark-bar').count()).toBe(values.filter((v) => v > 0).length);
    const rate = row.getByTestId('spark-failure');
    const pct = Math.round((100 * failed) / (done + failed));
    expect(await rate.getAttribute('aria-label')).toContain(
      `${pct} % (${failed} of ${done + failed} finished)`,
    );
    // the same figures as visible text
    expect(await row.textContent()).toContain(`${pct} %`);
    expect(problems).toEqual([]);
  });

  it('#18: "since you last looked" counts what ended after the stored position, links to the list by status, and can be dismissed', async () => {
    const p = 'qp-since';
    await create(p, { id: 'since-0' });
    const ctx = await newContext();
    const first = await openPage(`/#/p/${p}`, ctx);
    await signIn(first.page);
    await live(first.page);
    const head = (await ok(admin.get('/api/projects'))).items.find((x: any) => x.id === p).lastSeq;
    await eventually(async () =>
      expect(await first.page.evaluate((k) => localStorage.getItem(k), `stepline.since.${p}`)).toBe(
        String(head),
      ),
    );
    await first.page.close();

    for (let i = 0; i < 3; i++) {
      await create(p, { id: `since-f-${i}` });
      await ok(
        admin.post(`/api/workflows/since-f-${i}/steps/a/fail`, { error: { message: `failure ${i}` } }),
      );
    }
    for (let i = 0; i < 12; i++) {
      await create(p, { id: `since-c-${i}` });
      await ok(admin.post(`/api/workflows/since-c-${i}/steps/a/complete`, {}));
    }
    const events = (await ok(admin.get(`/api/projects/${p}/events?after=${head}&limit=1000`))).items as any[];
    const ended = new Map<string, string>();
    for (const e of events)
      if (['workflow:failed', 'workflow:completed', 'workflow:cancelled'].includes(e.type))
        ended.set(e.workflowId, e.type.slice('workflow:'.length));
    const count = (s: string) => [...ended.values()].filter((v) => v === s).length;

    const { page, problems } = await openPage(`/#/p/${p}`, ctx);
    await live(page);
    const banner = page.getByTestId('since-banner');
    await eventually(async () => expect(await banner.isVisible()).toBe(true));
    expect(await banner.getAttribute('data-after')).toBe(String(head));
    expect(await page.getByTestId('since-failed').getAttribute('data-count')).toBe(String(count('failed')));
    expect(await page.getByTestId('since-completed').getAttribute('data-count')).toBe(
      String(count('completed')),
    );
    expect(await banner.textContent()).toMatch(
      new RegExp(`^${count('failed')} failed, ${count('completed')} completed, \\d+ new since \\d`),
    );
    expect(await page.getByTestId('since-failed-workflow').allTextContents()).toEqual(
      [...ended].filter(([, s]) => s === 'failed').map(([id]) => id),
    );
    await page.getByTestId('since-failed').click();
    const failedIds = await apiIds(p, 'status=failed');
    await eventually(async () => expect(await listedIds(page)).toEqual(failedIds));
    expect((await hashParams(page)).get('status')).toBe('failed');
    await page.getByTestId('since-dismiss').click();
    expect(await banner.isVisible()).toBe(false);
    expect(problems).toEqual([]);
  });

  it('#18: "since you last looked" reads a bounded number of events and says "more than" past it', async () => {
    const p = 'qp-since-many';
    await create(p, { id: 'many-0' });
    const ctx = await newContext();
    const first = await openPage(`/#/p/${p}`, ctx);
    await signIn(first.page);
    await live(first.page);
    const head = (await ok(admin.get('/api/projects'))).items.find((x: any) => x.id === p).lastSeq;
    await eventually(async () =>
      expect(await first.page.evaluate((k) => localStorage.getItem(k), `stepline.since.${p}`)).toBe(
        String(head),
      ),
    );
    await first.page.close();

    await create(p, { id: 'many-1' });
    const updates = Array.from({ length: 1000 }, (_, i) => ({
      workflowId: 'many-1',
      stepId: 'a',
      current: i + 1,
      total: 2000,
    }));
    const res = await ok(admin.post('/api/progress', { updates }));
    expect(res.results.every((r: any) => r.ok)).toBe(true);
    await ok(admin.post('/api/workflows/many-1/steps/a/fail', { error: { message: 'late' } }));
    const after = await ok(admin.get(`/api/projects/${p}/events?after=${head}&limit=1000`));
    expect(after.items).toHaveLength(1000);
    expect(after.lastSeq).toBeGreaterThan(after.items[999].seq);

    const { page, problems } = await openPage(`/#/p/${p}`, ctx);
    await live(page);
    const banner = page.getByTestId('since-banner');
    await eventually(async () => expect(await banner.isVisible()).toBe(true));
    expect(await banner.getAttribute('data-more')).toBe('true');
    expect(await banner.textContent()).toMatch(/^More than 1000 events since \d/);
    expect(problems).toEqual([]);
  });

  it('#18.5: a created-time range (from / before) filters the list like the API and is kept in the address', async () => {
    const p = 'qp-range';
    const a = await create(p, { id: 'range-a' });
    while (Date.now() <= Date.parse(a.createdAt)) await new Promise((r) => setImmediate(r));
    const b = await create(p, { id: 'range-b' });
    while (Date.now() <= Date.parse(b.createdAt)) await new Promise((r) => setImmediate(r));
    const c = await create(p, { id: 'range-c' });
    const range = `createdFrom=${encodeURIComponent(b.createdAt)}&createdTo=${encodeURIComponent(c.createdAt)}`;
    const expected = await apiIds(p, range);
    expect(expected).toEqual(['range-b']);

    const { page, problems } = await openPage(`/#/p/${p}?${range}`);
    await signIn(page);
    await live(page);
    await eventually(async () => expect(await listedIds(page)).toEqual(expected));
    expect(await page.getByTestId('filter-from').inputValue()).not.toBe('');

    // typed in the inputs (local time, minute precision): "before" a day ago leaves nothing
    await page.goto(`${server.url}/?typed#/p/${p}`);
    await live(page);
    await eventually(async () => expect(await listedIds(page)).toEqual(await apiIds(p, '')));
    const dayAgo = new Date(Date.now() - 86_400_000);
    const local = await page.evaluate((t) => {
      const d = new Date(t);
      const z = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())}T${z(d.getHours())}:${z(d.getMinutes())}`;
    }, dayAgo.getTime());
    await page.getByTestId('filter-to').fill(local);
    await eventually(async () => expect((await hashParams(page)).get('createdTo')).not.toBeNull());
    const to = (await hashParams(page)).get('createdTo')!;
    const none = await apiIds(p, `createdTo=${encodeURIComponent(to)}`);
    await eventually(async () => expect(await listedIds(page)).toEqual(none));
    expect(none).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('#18: the failed count is shown (and filters to the failed), and a failed row carries its error text', async () => {
    const p = 'qp-failed';
    const key = await createKey(admin, 'viewer', [p]);
    await create(p, { id: 'fl-ok' });
    await ok(admin.post('/api/workflows/fl-ok/steps/a/complete', {}));
    for (const [id, msg] of [
      ['fl-1', 'disk full on worker 3'],
      ['fl-2', 'upstream answered 502'],
    ]) {
      await create(p, { id });
      await ok(admin.post(`/api/workflows/${id}/steps/a/fail`, { error: { message: msg, code: 'E' } }));
    }
    await create(p, { id: 'fl-open' });

    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page, key);
    await live(page);
    const counts = (await ok(client(server.url, key).get('/api/projects'))).items[0].counts;
    const failedCount = page.getByTestId('failed-count');
    await eventually(async () =>
      expect(await failedCount.getAttribute('data-count')).toBe(String(counts.failed)),
    );
    expect(await failedCount.textContent()).toBe(`${counts.failed} failed`);
    for (const id of ['fl-1', 'fl-2', 'fl-ok']) {
      const wf = await ok(admin.get(`/api/workflows/${id}`));
      const err = page
        .locator(`[data-testid="workflow-item"][data-workflow-id="${id}"]`)
        .getByTestId('workflow-error');
      if (wf.status === 'failed') {
        await eventually(async () => expect(await err.textContent()).toBe(wf.error.message));
        expect(await err.isVisible()).toBe(true);
      } else expect(await err.isVisible()).toBe(false);
    }
    await failedCount.click();
    const failedIds = await apiIds(p, 'status=failed');
    await eventually(async () => expect(await listedIds(page)).toEqual(failedIds));
    expect((await hashParams(page)).get('status')).toBe('failed');
    expect(await page.getByTestId('filter-status').inputValue()).toBe('failed');
    expect(problems).toEqual([]);
  });
});
