import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { client, createKey, type Client } from './support/http';
import { ServerFixture, useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * The dashboard's #18 defects, each in a real browser (Debian's Chromium, playwright-core) against the real
 * server: the TypeScript page on @stepline/client. One server for the file (restarted on the same port and
 * database by the outage test), a fresh browser context per test.
 */

let fx: ServerFixture;
let server: RunningServer;
let admin: Client;
let browser: Browser;
const contexts: BrowserContext[] = [];

useServer((f) => ({ server, admin } = fx = f));

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.close();
});

interface Opened {
  page: Page;
  ctx: BrowserContext;
  problems: string[];
}

async function openPage(path = '/', before?: (ctx: BrowserContext) => Promise<void>): Promise<Opened> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  contexts.push(ctx);
  if (before) await before(ctx);
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
const text = async (page: Page, testid: string) => (await page.getByTestId(testid).textContent())?.trim();

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
}

async function live(page: Page, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => expect(await connection(page).textContent()).toBe('live'), timeoutMs);
}

const workflowItem = (page: Page, id: string) =>
  page.locator(`[data-testid="workflow-item"][data-workflow-id="${id}"]`);

async function openWorkflow(page: Page, id: string): Promise<void> {
  await workflowItem(page, id).getByRole('button').click();
  await eventually(async () => expect(await text(page, 'detail-meta')).toContain(`id ${id}`));
}

async function ok(res: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function pickerValues(page: Page): Promise<string[]> {
  return page
    .getByLabel('Project', { exact: true })
    .locator('option')
    .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
}

describe('dashboard v2 (#18, browser)', () => {
  it('#7: before sign-in the indicator says "signed out", not a red "offline", while the server is up', async () => {
    const { page, problems } = await openPage();
    await eventually(async () =>
      expect(await page.getByLabel('API key', { exact: true }).isVisible()).toBe(true),
    );
    expect(await connection(page).textContent()).toBe('signed out');
    expect(await connection(page).getAttribute('data-state')).toBe('signed-out');
    await signIn(page, ADMIN_TOKEN);
    await ok(
      admin.post('/api/projects/v2-signin/workflows', { id: 'v2-s', type: 't', steps: [{ id: 'a' }] }),
      201,
    );
    await page.evaluate(() => (window.location.hash = '#/p/v2-signin'));
    await live(page);
    await page.getByRole('button', { name: 'Change key' }).click();
    await eventually(async () => expect(await connection(page).textContent()).toBe('signed out'));
    expect(problems).toEqual([]);
  });

  it('#2: a project the key cannot read (with workflows and a queue), set in the address, says so, is not added to the picker, and never hangs on "reconnecting…"/"Loading…"', async () => {
    const p = 'v2-secret';
    for (const id of ['sec-1', 'sec-2', 'sec-3'])
      await ok(
        admin.post(`/api/projects/${p}/workflows`, {
          id,
          type: 'job',
          queue: 'v2-secret-q',
          steps: [{ id: 'x' }],
        }),
        201,
      );
    await ok(admin.post('/api/queues/v2-secret-q/claim', { workerId: 'sec-worker', leaseMs: 600_000 }));
    await ok(
      admin.post('/api/projects/v2-open/workflows', { id: 'open-1', type: 'job', steps: [{ id: 'x' }] }),
      201,
    );
    const viewer = await createKey(admin, 'viewer', ['v2-open']);

    const expectRefused = async (page: Page) => {
      await eventually(async () =>
        expect(await text(page, 'banner')).toContain(`This key cannot read project "${p}"`),
      );
      expect(await pickerValues(page)).not.toContain(p);
      expect(await connection(page).textContent()).not.toBe('reconnecting…');
      expect(await page.getByTestId('workflow-item').count()).toBe(0);
      const empty = (await page.locator('#workflow-empty').textContent())?.trim();
      expect(empty).not.toMatch(/Loading/);
      expect(await page.locator('#detail-body').isVisible()).toBe(false);
      expect(await page.content()).not.toMatch(/sec-1|sec-2|sec-3|sec-worker/);
    };

    // signed in and live on its own project, then the address is changed
    const { page, problems } = await openPage('/#/p/v2-open');
    await signIn(page, viewer);
    await live(page);
    await page.evaluate((pr) => (window.location.hash = `#/p/${pr}/w/sec-2`), p);
    await expectRefused(page);

    // a fresh load of that address with the key already stored
    await page.goto(`${server.url}/?fresh#/p/${p}`);
    await expectRefused(page);
    // back to its project: live again
    await page.evaluate(() => (window.location.hash = '#/p/v2-open'));
    await live(page);
    expect(await pickerValues(page)).toEqual(['v2-open']);
    expect(problems).toEqual([]);
  });

  it('#3: a workflow opened while the server is down shows its logs once the server is back', async () => {
    const p = 'v2-outage';
    await ok(
      admin.post(`/api/projects/${p}/workflows`, { id: 'out-wf', type: 'batch', steps: [{ id: 'w' }] }),
      201,
    );
    await ok(
      admin.post(`/api/projects/${p}/workflows`, { id: 'out-other', type: 'batch', steps: [{ id: 'w' }] }),
      201,
    );
    for (let i = 0; i < 5; i++)
      await ok(admin.post('/api/workflows/out-wf/logs', { level: 'info', message: `line ${i}` }), 201);
    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page, ADMIN_TOKEN);
    await live(page);
    await eventually(async () => expect(await workflowItem(page, 'out-wf').count()).toBe(1));

    await server.stop();
    await eventually(async () => expect(await connection(page).textContent()).toBe('offline'), 15_000);
    await workflowItem(page, 'out-wf').getByRole('button').click();
    await eventually(async () => expect(await text(page, 'detail-meta')).toContain('id out-wf'));
    server = await fx.restart();
    const more = await ok(
      admin.post('/api/workflows/out-wf/logs', { level: 'info', message: 'after restart' }),
      201,
    );
    await live(page, 20_000);
    const serverIds = (
      (await ok(admin.get('/api/workflows/out-wf/logs?after=0&limit=1000'))).items as { id: number }[]
    ).map((l) => l.id);
    expect(serverIds).toContain(more.id);
    await eventually(async () =>
      expect(
        await page
          .getByTestId('log-line')
          .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.logId))),
      ).toEqual(serverIds),
    );
    expect(await page.locator('#log-empty').isVisible()).toBe(false);
    expect(problems).toEqual([]);
  }, 90_000);

  it('#9, #12, #14, #8: attempt reads "1 of 3" live and from REST; the open workflow stays listed under "active" when it completes; clean names, focus and a polite status region; cancel asks and sends a reason', async () => {
    const p = 'v2-detail';
    const key = await createKey(admin, 'producer', [p]);
    const api = client(server.url, key);
    await ok(
      api.post(`/api/projects/${p}/workflows`, {
        id: 'rest-wf',
        type: 'report',
        name: 'A report with a very long name that the list will certainly have to truncate somewhere',
        maxAttempts: 3,
        steps: [{ id: 'a' }],
      }),
      201,
    );
    const { page, problems } = await openPage(`/#/p/${p}`);
    await signIn(page, key);
    await live(page);

    // #9 from REST
    await openWorkflow(page, 'rest-wf');
    await eventually(async () => expect(await page.locator('#detail-attempt').textContent()).toBe('1 of 3'));
    // #14: the heading names the workflow and has the focus; the row's name is clean, with a title
    expect(await text(page, 'detail-title')).toBe(
      'A report with a very long name that the list will certainly have to truncate somewhere',
    );
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('detail-title');
    const restButton = workflowItem(page, 'rest-wf').getByRole('button');
    expect(await restButton.textContent()).toContain(
      'A report with a very long name that the list will certainly have to truncate somewhere',
    );
    expect(await restButton.getAttribute('aria-label')).toBeNull();
    expect(await workflowItem(page, 'rest-wf').locator('.wf-name').getAttribute('title')).toContain(
      'rest-wf',
    );
    expect(await page.getByTestId('log-list').getAttribute('aria-live')).toBeNull();
    expect(await page.getByTestId('announcer').getAttribute('aria-live')).toBe('polite');

    // #9 live: created while the page watches, opened, same wording
    await ok(
      api.post(`/api/projects/${p}/workflows`, {
        id: 'live-wf',
        type: 'report',
        name: 'Live one',
        maxAttempts: 3,
        steps: [{ id: 'a' }, { id: 'b' }],
      }),
      201,
    );
    await eventually(async () => expect(await workflowItem(page, 'live-wf').count()).toBe(1));
    await openWorkflow(page, 'live-wf');
    await ok(api.post('/api/workflows/live-wf/steps/a/start', {}));
    await eventually(async () => expect(await page.locator('#detail-attempt').textContent()).toBe('1 of 3'));

    // #12: under "active" the open workflow stays listed when it completes; #14: its status is announced
    await page.getByLabel('Status', { exact: true }).selectOption('queued,running');
    await eventually(async () => expect(await workflowItem(page, 'live-wf').count()).toBe(1));
    await ok(api.post('/api/workflows/live-wf/steps/a/complete', {}));
    await ok(api.post('/api/workflows/live-wf/steps/b/complete', {}));
    await eventually(async () => expect(await text(page, 'detail-status')).toBe('completed'));
    expect(await workflowItem(page, 'live-wf').count()).toBe(1);
    expect(await workflowItem(page, 'live-wf').getByRole('button').textContent()).toContain('Live one');
    await eventually(async () => expect(await text(page, 'announcer')).toBe('Live one: completed'));
    // the filter is in the address (#18.5) and survives a reload
    expect(new URL(page.url()).hash).toBe(`#/p/${p}/w/live-wf?status=queued%2Crunning`);
    await page.reload();
    await live(page);
    expect(await page.getByLabel('Status', { exact: true }).inputValue()).toBe('queued,running');
    await eventually(async () => expect(await workflowItem(page, 'rest-wf').count()).toBe(1));

    // #8: cancel asks first; "Keep running" leaves it; confirming sends the reason
    await openWorkflow(page, 'rest-wf');
    await page.getByRole('button', { name: 'Cancel workflow' }).click();
    const dialog = page.getByTestId('cancel-dialog');
    await eventually(async () => expect(await dialog.isVisible()).toBe(true));
    await page.getByRole('button', { name: 'Keep running' }).click();
    await eventually(async () => expect(await dialog.isVisible()).toBe(false));
    expect((await ok(api.get('/api/workflows/rest-wf'))).status).toBe('queued');
    await page.getByRole('button', { name: 'Cancel workflow' }).click();
    await page.getByLabel('Reason (optional)').fill('wrong input file');
    await page.getByRole('button', { name: 'Confirm cancel' }).click();
    await eventually(async () => expect(await text(page, 'detail-status')).toBe('cancelled'));
    const events = (await ok(api.get(`/api/projects/${p}/events?after=0&limit=1000`))).items as any[];
    const cancelled = events.find((e) => e.type === 'workflow:cancelled' && e.workflowId === 'rest-wf');
    expect(cancelled.data.reason).toBe('wrong input file');
    expect(problems).toEqual([]);
  }, 60_000);

  it('#4: the ETA is honest: the queue place and wait of queued work, "overdue" past the estimate, "no update for 6 min" when quiet', async () => {
    const p = 'v2-eta';
    const api = client(server.url, ADMIN_TOKEN);
    for (const id of ['eta-q1', 'eta-q2', 'eta-q3'])
      await ok(
        api.post(`/api/projects/${p}/workflows`, {
          id,
          type: 'job',
          queue: 'v2-eta-q',
          steps: [{ id: 'x' }],
        }),
        201,
      );
    await ok(
      api.post(`/api/projects/${p}/workflows`, { id: 'eta-run', type: 'solo', steps: [{ id: 'a' }] }),
      201,
    );
    await ok(api.post('/api/workflows/eta-run/steps/a/start', {}));

    const { page, problems } = await openPage(`/#/p/${p}`, (ctx) => ctx.clock.install());
    await signIn(page, ADMIN_TOKEN);
    await live(page);
    // the last of three waiting, nobody working the queue: its place, and no invented time
    await openWorkflow(page, 'eta-q3');
    await eventually(async () =>
      expect(await text(page, 'detail-eta')).toMatch(/^queued #3, (waiting for a worker|~.+ wait)/),
    );
    expect(await text(page, 'detail-eta')).not.toMatch(/0 s left/);

    // a run whose rate says it is nearly done, then goes quiet: "overdue", never "~0 s left"
    await ok(api.post('/api/workflows/eta-run/steps/a/progress', { progress: 90 }));
    await openWorkflow(page, 'eta-run');
    await eventually(async () => expect(await text(page, 'detail-eta')).toMatch(/^overdue/), 20_000);
    // six quiet minutes later (the page's clock): it says how long it has been quiet
    await page.clock.fastForward('06:05');
    await eventually(async () => expect(await text(page, 'detail-eta')).toBe('no update for 6 min'));
    expect(problems).toEqual([]);
  }, 60_000);
});
