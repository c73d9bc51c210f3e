import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { createKey, type Client } from './support/http';
import { useServer } from './support/fixture';
import { RunningServer } from './support/server';

/**
 * The live page under a burst (#18, the render loop in render.ts): hundreds of progress events over many
 * workflows while the list and one workflow are open. The page must end on exactly what the server says, keep
 * its rows (values change in place: the same DOM nodes, no child added to or removed from the list), keep the
 * open workflow's step rows, and leave keyboard focus where it was. Nothing here is timed: the bench measures
 * speed; this checks that batching the DOM writes loses nothing and moves nothing.
 */

let server: RunningServer;
let admin: Client;
let browser: Browser;
let ctx: BrowserContext;

useServer((f) => ({ server, admin } = f));

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await browser?.close();
});

const P = 'live-burst';
const N = 25;
const ROUNDS = 20; // N × ROUNDS = 500 progress events
const TOTAL = ROUNDS;
const wfId = (i: number) => `burst-${String(i).padStart(2, '0')}`;
const OPEN = wfId(3);
const FOCUSED = wfId(10);
const COMPLETED = [wfId(0), wfId(7), wfId(20)];

async function ok(res: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const row = (page: Page, id: string) =>
  page.locator(`[data-testid="workflow-item"][data-workflow-id="${id}"]`);

/** What the page shows for every row, and for the open workflow, read in one go. */
function readPage(page: Page) {
  return page.evaluate(() => {
    const rows = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="workflow-item"]')).map(
      (li) => ({
        id: li.dataset.workflowId!,
        progress: li.querySelector('[role="progressbar"]')!.getAttribute('aria-valuenow'),
        status: li.querySelector('.badge')!.textContent,
        sub: li.querySelector('.wf-sub')!.textContent,
      }),
    );
    const steps = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="step"]')).map((li) => ({
      id: li.dataset.stepId!,
      count: li.querySelector('[data-testid="step-count"]')!.textContent,
      status: li.querySelector('[data-testid="step-status"]')!.textContent,
      message: li.querySelector('[data-testid="step-message"]')!.textContent,
      now: li.querySelector('[data-testid="step-bar"]')!.getAttribute('aria-valuenow'),
    }));
    return {
      rows,
      steps,
      detailProgress: document
        .querySelector('[data-testid="detail-progress"]')!
        .getAttribute('aria-valuenow'),
      detailStatus: document.querySelector('[data-testid="detail-status"]')!.textContent,
    };
  });
}

describe('dashboard live burst (#18, browser)', () => {
  it('a burst of 500 progress events over 25 workflows: the page ends on the server’s values, rows and step rows are updated in place (same nodes, no list child added or removed), and focus stays on the focused row', async () => {
    const producer = await createKey(admin, 'producer', [P]);
    const viewer = await createKey(admin, 'viewer', [P]);
    const prod = admin.withToken(producer);
    for (let i = 0; i < N; i++)
      await ok(
        prod.post(`/api/projects/${P}/workflows`, {
          id: wfId(i),
          type: 'burst',
          name: `Burst ${i}`,
          steps: [
            { id: 'a', weight: 1 },
            { id: 'b', weight: 3 },
          ],
        }),
        201,
      );

    ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    await ctx.addInitScript((k) => localStorage.setItem('stepline.key', k), viewer);
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}/#/p/${P}/w/${OPEN}`);
    await eventually(async () => expect(await page.getByTestId('connection').textContent()).toBe('live'));
    await eventually(async () => expect(await page.getByTestId('workflow-item').count()).toBe(N));
    await eventually(async () => expect(await page.getByTestId('step').count()).toBe(2));

    // sentinels: every row and step row carries a mark on its node, and observers count list children
    // added or removed (a rebuilt list or row would lose the marks or show up in the counts)
    await page.evaluate(() => {
      const w = window as any;
      w.__listChanges = 0;
      w.__stepChanges = 0;
      document.querySelectorAll<HTMLElement>('[data-testid="workflow-item"]').forEach((li) => {
        (li as any).__sentinel = li.dataset.workflowId;
        (li.firstElementChild as any).__sentinel = li.dataset.workflowId;
      });
      document.querySelectorAll<HTMLElement>('[data-testid="step"]').forEach((li) => {
        (li as any).__sentinel = li.dataset.stepId;
      });
      const count = (key: string) => (records: MutationRecord[]) => {
        for (const r of records) w[key] += r.addedNodes.length + r.removedNodes.length;
      };
      new MutationObserver(count('__listChanges')).observe(document.getElementById('workflow-list')!, {
        childList: true,
      });
      new MutationObserver(count('__stepChanges')).observe(document.getElementById('step-list')!, {
        childList: true,
      });
    });
    // the keyboard user sits on one row
    await row(page, FOCUSED).getByRole('button').focus();
    expect(await page.evaluate(() => (document.activeElement as any)?.__sentinel)).toBe(FOCUSED);

    // the burst: ROUNDS batches of one progress update per workflow, as fast as the server answers
    for (let r = 1; r <= ROUNDS; r++) {
      const body = await ok(
        prod.post('/api/progress', {
          updates: Array.from({ length: N }, (_, i) => ({
            workflowId: wfId(i),
            stepId: 'a',
            current: r,
            total: TOTAL,
            message: `round ${r}`,
          })),
        }),
      );
      expect(body.results.every((x: { ok: boolean }) => x.ok)).toBe(true);
    }
    // and a few finish: status changes are values too (the rows stay where they are, nothing is filtered)
    for (const id of COMPLETED) {
      await ok(prod.post(`/api/workflows/${id}/steps/a/complete`, {}));
      await ok(prod.post(`/api/workflows/${id}/steps/b/complete`, {}));
    }
    await ok(prod.post(`/api/workflows/${OPEN}/steps/b/progress`, { progress: 40, message: 'halfway' }));

    // the server's final values, over REST
    const listed = (await ok(admin.get(`/api/projects/${P}/workflows?limit=50`))).items as {
      id: string;
      progress: number;
      status: string;
    }[];
    expect(listed).toHaveLength(N);
    const open = await ok(admin.get(`/api/workflows/${OPEN}`));
    // the burst did move things (so the checks below compare against values the page had to follow)
    expect(listed.find((w) => w.id === wfId(1))!.progress).toBe(25);
    expect(
      listed
        .filter((w) => w.status === 'completed')
        .map((w) => w.id)
        .sort(),
    ).toEqual(COMPLETED);

    const want = {
      rows: Object.fromEntries(listed.map((w) => [w.id, { progress: String(w.progress), status: w.status }])),
      steps: open.steps.map((s: any) => ({
        id: s.id,
        count: s.current !== null && s.total !== null ? `${s.current} / ${s.total}` : `${s.progress} %`,
        status: s.status,
        message: s.message ?? '',
        now: String(s.current !== null && s.total !== null ? s.current : s.progress),
      })),
      detailProgress: String(open.progress),
      detailStatus: open.status,
    };
    await eventually(async () => {
      const seen = await readPage(page);
      expect(
        Object.fromEntries(seen.rows.map((r) => [r.id, { progress: r.progress, status: r.status }])),
      ).toEqual(want.rows);
      for (const r of seen.rows) expect(r.sub).toContain(`\u00b7 ${want.rows[r.id].progress} % \u00b7`);
      expect(seen.steps).toEqual(want.steps);
      expect(seen.detailProgress).toBe(want.detailProgress);
      expect(seen.detailStatus).toBe(want.detailStatus);
    }, 20_000);

    const after = await page.evaluate(() => {
      const w = window as any;
      const rows = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="workflow-item"]'));
      return {
        listChanges: w.__listChanges as number,
        stepChanges: w.__stepChanges as number,
        rowsKept: rows.filter(
          (li) =>
            (li as any).__sentinel === li.dataset.workflowId &&
            (li.firstElementChild as any).__sentinel === li.dataset.workflowId,
        ).length,
        stepsKept: Array.from(document.querySelectorAll<HTMLElement>('[data-testid="step"]')).filter(
          (li) => (li as any).__sentinel === li.dataset.stepId,
        ).length,
        focused: (document.activeElement as any)?.__sentinel ?? document.activeElement?.tagName,
      };
    });
    expect(after).toEqual({ listChanges: 0, stepChanges: 0, rowsKept: N, stepsKept: 2, focused: FOCUSED });
    expect(problems).toEqual([]);
  }, 120_000);
});
