import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { createKey, expectStatus, type Client } from './support/http';
import { useServer } from './support/fixture';
import type { RunningServer } from './support/server';

/**
 * The dashboard's views of v2: child workflows under their parent step, openable (§14), and each webhook's
 * delivery state (§15). Real Chromium against the real server; a real local receiver for the webhook.
 */

let server: RunningServer;
let admin: Client;
let browser: Browser;
const contexts: BrowserContext[] = [];

useServer(
  (f) => {
    server = f.server;
    admin = f.admin;
  },
  { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
);

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.close();
});

async function open(key: string, project: string): Promise<{ page: Page; problems: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/#/p/${project}`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await eventually(async () => expect(await page.getByTestId('connection').textContent()).toBe('live'));
  return { page, problems };
}

const step = (page: Page, stepId: string) => page.locator(`[data-testid="step"][data-step-id="${stepId}"]`);

it('lists the children under their parent step, live, and opens a child from there (§14)', async () => {
  const p = 'dash-family';
  const parent = await admin.post(`/api/projects/${p}/workflows`, {
    id: 'big-job',
    type: 'split',
    name: 'Big job',
    steps: [{ id: 'split' }, { id: 'merge' }],
  });
  expectStatus(parent, 201);
  const first = await admin.post(`/api/projects/${p}/workflows`, {
    id: 'part-1',
    type: 'part',
    name: 'Part one',
    steps: [{ id: 'work' }],
    parent: { workflowId: 'big-job', stepId: 'split' },
  });
  expectStatus(first, 201);

  const { page, problems } = await open(await createKey(admin, 'viewer', [p]), p);
  await page.locator('[data-testid="workflow-item"][data-workflow-id="big-job"]').getByRole('button').click();
  const links = step(page, 'split').getByTestId('child-link');
  await eventually(async () => expect(await links.count()).toBe(1));
  expect(await step(page, 'merge').getByTestId('child-link').count()).toBe(0);

  // a child created while the page is open shows under the step at once, in creation order
  expectStatus(
    await admin.post(`/api/projects/${p}/workflows`, {
      id: 'part-2',
      type: 'part',
      steps: [{ id: 'work' }],
      parent: { workflowId: 'big-job', stepId: 'split' },
    }),
    201,
  );
  await eventually(async () =>
    expect(await links.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.childId))).toEqual([
      'part-1',
      'part-2',
    ]),
  );
  // the roll-up reaches the page: the parent step follows its children
  expectStatus(await admin.post('/api/workflows/part-1/steps/work/progress', { progress: 60 }), 200);
  await eventually(async () =>
    expect((await step(page, 'split').getByTestId('step-count').textContent())?.trim()).toBe('30 %'),
  );

  await links.first().click();
  await eventually(async () =>
    expect(await page.getByTestId('detail-meta').textContent()).toContain('id part-1'),
  );
  expect(page.url()).toContain('/w/part-1');
  const back = page.getByTestId('detail-parent');
  expect(await back.isVisible()).toBe(true);
  expect(await back.textContent()).toContain('big-job');
  await back.click();
  await eventually(async () =>
    expect(await page.getByTestId('detail-meta').textContent()).toContain('id big-job'),
  );
  expect(problems).toEqual([]);
});

it("shows each webhook's delivery state, failing and then delivering (§15)", async () => {
  const p = 'dash-hooks';
  let healthy = false;
  const receiver: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = healthy ? 200 : 500;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const hook = await admin.post(`/api/projects/${p}/webhooks`, { url });
    expectStatus(hook, 201);
    expectStatus(await admin.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 's' }] }), 201);

    const producer = await createKey(admin, 'producer', [p]);
    const { page, problems } = await open(producer, p);
    const item = page.locator(`[data-testid="webhook"][data-webhook-id="${hook.body.id}"]`);
    await eventually(async () => {
      // the page refreshes the panel with the queues: nudge it with writes until the failure shows
      await admin.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 's' }] });
      expect(await item.getAttribute('data-state')).toBe('failing');
    }, 20_000);
    expect(await item.getByTestId('webhook-state').textContent()).toMatch(/failing since .*500/);
    expect(await item.textContent()).toContain(url);

    healthy = true;
    await eventually(async () => {
      await admin.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 's' }] });
      expect(await item.getAttribute('data-state')).toBe('ok');
    }, 30_000);
    expect(await item.getByTestId('webhook-state').textContent()).toMatch(/^delivering, last /);

    // a viewer sees the same state (the list is readable by any key of the project)
    const viewer = await open(await createKey(admin, 'viewer', [p]), p);
    const seen = viewer.page.locator(`[data-testid="webhook"][data-webhook-id="${hook.body.id}"]`);
    await eventually(async () => expect(await seen.getAttribute('data-state')).toBe('ok'));
    expect([...problems, ...viewer.problems]).toEqual([]);
  } finally {
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});
