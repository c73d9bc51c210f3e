import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { createKey, type Client } from './support/http';
import { useServer } from './support/fixture';
import { RunningServer } from './support/server';

/**
 * #18: keyboard-only use of sign-in → pick → open → cancel, in Chromium against the real server. Nothing is
 * clicked or filled: every step is Tab, arrow keys, typing and Enter, and each control must be reachable by Tab
 * (at most 40 presses) before it is used. The outcome is read back from the API.
 */

let server: RunningServer;
let admin: Client;
let browser: Browser;
let ctx: BrowserContext | undefined;

useServer((f) => ({ server, admin } = f));

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

/** What has the focus: its id, else its test id, else its workflow row's id. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    if (!a) return '';
    const row = a.closest<HTMLElement>('[data-workflow-id]');
    return a.id || a.dataset.testid || (row ? `row:${row.dataset.workflowId}` : a.tagName);
  });

/** Presses Tab until `want` has the focus; fails when it is not reached within 40 presses. */
async function tabTo(page: Page, want: (f: string) => boolean, what: string): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 40; i++) {
    const f = await focused(page);
    if (want(f)) return;
    seen.push(f);
    await page.keyboard.press('Tab');
  }
  throw new Error(`${what} was not reached by Tab; the focus went through: ${seen.join(' → ')}`);
}

describe('dashboard keyboard only (#18)', () => {
  it('signs in, picks a project, opens a workflow and cancels it with a reason, by keyboard alone', async () => {
    const p = 'kbd-proj';
    for (const id of ['kbd-a', 'kbd-b', 'kbd-c']) {
      const res = await admin.post(`/api/projects/${p}/workflows`, { id, type: 'kbd', steps: [{ id: 's' }] });
      expect(res.status).toBe(201);
    }
    // another project first in the picker, so that picking is a real choice
    expect(
      (
        await admin.post('/api/projects/aaa-other/workflows', {
          id: 'other-1',
          type: 'x',
          steps: [{ id: 's' }],
        })
      ).status,
    ).toBe(201);
    const producer = await createKey(admin, 'producer', ['aaa-other', p]);

    ctx = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await ctx.newPage();
    await page.goto(server.url + '/');

    // sign in: Tab to the key field, type, Enter submits
    await eventually(async () => expect(await page.locator('#key-input').isVisible()).toBe(true));
    await tabTo(page, (f) => f === 'key-input', 'the API key field');
    await page.keyboard.type(producer);
    await page.keyboard.press('Enter');
    await eventually(async () => expect(await page.locator('#project-field').isVisible()).toBe(true));

    // pick: Tab to the picker, arrow keys until the project is chosen
    await tabTo(page, (f) => f === 'project-select', 'the project picker');
    for (let i = 0; i < 5 && (await page.locator('#project-select').inputValue()) !== p; i++)
      await page.keyboard.press('ArrowDown');
    expect(await page.locator('#project-select').inputValue()).toBe(p);
    await eventually(async () => expect(await page.getByTestId('connection').textContent()).toBe('live'));
    await eventually(async () => expect(await page.locator('[data-testid="workflow-item"]').count()).toBe(3));

    // open: Tab into the list, End goes to the last row (the oldest: kbd-a), Enter opens it
    await tabTo(page, (f) => f.startsWith('row:'), 'the workflow list');
    await page.keyboard.press('End');
    expect(await focused(page)).toBe('row:kbd-a');
    await page.keyboard.press('Enter');
    await eventually(async () =>
      expect(await page.getByTestId('detail-meta').textContent()).toContain('id kbd-a'),
    );

    // cancel: Tab to the button, Enter asks, type a reason, Enter confirms
    await tabTo(page, (f) => f === 'cancel-button', 'the cancel button');
    await page.keyboard.press('Enter');
    await eventually(async () => expect(await page.locator('#cancel-dialog').isVisible()).toBe(true));
    await tabTo(page, (f) => f === 'cancel-reason', 'the reason field');
    await page.keyboard.type('stopped from the keyboard');
    await page.keyboard.press('Enter');

    await eventually(async () => {
      const wf = await admin.get('/api/workflows/kbd-a');
      expect(wf.body.status).toBe('cancelled');
    });
    const events = await admin.get(`/api/projects/${p}/events?after=0&limit=1000`);
    const cancelled = (events.body.items as { type: string; workflowId?: string; data?: any }[]).filter(
      (e) => e.type === 'workflow:cancelled',
    );
    expect(cancelled).toHaveLength(1);
    expect(JSON.stringify(cancelled[0])).toContain('stopped from the keyboard');
    // the others untouched
    for (const id of ['kbd-b', 'kbd-c'])
      expect((await admin.get(`/api/workflows/${id}`)).body.status).not.toBe('cancelled');
    await eventually(async () =>
      expect(
        await page.locator('[data-testid="workflow-item"][data-workflow-id="kbd-a"] .badge').textContent(),
      ).toBe('cancelled'),
    );
  }, 90_000);
});
