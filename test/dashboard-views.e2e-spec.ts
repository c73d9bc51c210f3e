import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { client, createKey, type Client } from './support/http';
import { sleep } from './support/live-clients';
import { ServerFixture, useServer } from './support/fixture';

/**
 * The dashboard's #18 views in a real Chromium against the real server: JSON viewers (metadata, step results
 * of a real §7 analysis, step metrics, log details), the step timeline with the type's median and p90 behind
 * each bar and the §13 slow mark, dates and step times in the detail, and keyboard use of the workflow list.
 * Every expected value is computed from the API's own answers.
 */

// a small tree for the built-in analyses (§7): a TODO to find, a manifest, two modules
const ROOT = mkdtempSync(join(tmpdir(), 'stepline-views-'));
mkdirSync(join(ROOT, 'app', 'src'), { recursive: true });
mkdirSync(join(ROOT, 'app', 'lib'), { recursive: true });
writeFileSync(
  join(ROOT, 'app', 'package.json'),
  JSON.stringify({ name: 'app', dependencies: { lodash: '4.17.21' } }),
);
writeFileSync(
  join(ROOT, 'app', 'src', 'main.ts'),
  "import { x } from '../lib/x';\n// TODO: handle the empty case\nexport const y = x;\n",
);
writeFileSync(join(ROOT, 'app', 'lib', 'x.ts'), '// FIXME: slow path\nexport const x = 1;\n');

let fx: ServerFixture;
let browser: Browser;
let key: string;
let api: Client;
const contexts: BrowserContext[] = [];

useServer((f) => (fx = f), { ANALYSIS_ROOT: ROOT });

const P = 'views';

beforeAll(async () => {
  browser = await launchChromium();
  key = await createKey(fx.admin, 'producer', [P]);
  api = client(fx.server.url, key);
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.close();
});

async function ok(res: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

interface Opened {
  page: Page;
  problems: string[];
}

/**
 * A signed-in page at `hash`, live. Clipboard access granted, CSP enforced (unless `bypassCSP`, to inject
 * axe-core); page errors collected.
 */
async function openPage(
  hash: string,
  opts: { scheme?: 'light' | 'dark'; bypassCSP?: boolean } = {},
): Promise<Opened> {
  const ctx = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    colorScheme: opts.scheme ?? 'light',
    bypassCSP: opts.bypassCSP ?? false,
  });
  contexts.push(ctx);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fx.server.url });
  await ctx.addInitScript((k) => localStorage.setItem('stepline.key', k), key);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  await page.goto(`${fx.server.url}/${hash}`);
  await eventually(async () => expect(await page.getByTestId('connection').textContent()).toBe('live'));
  return { page, problems };
}

async function openWorkflow(id: string, opts: Parameters<typeof openPage>[1] = {}): Promise<Opened> {
  const o = await openPage(`#/p/${P}/w/${id}`, opts);
  await eventually(async () =>
    expect(await o.page.getByTestId('detail-meta').textContent()).toContain(`id ${id}`),
  );
  return o;
}

const stepItem = (page: Page, id: string) => page.locator(`[data-testid="step"][data-step-id="${id}"]`);
const tlRow = (page: Page, id: string) => page.locator(`[data-testid="timeline-step"][data-step-id="${id}"]`);
const rootToggle = (viewer: Locator) => viewer.locator('.json-bar > [data-testid="json-toggle"]');
/** The keys of a viewer node's shown entries, in order. */
const entryKeys = (list: Locator) =>
  list.evaluate((ul) =>
    Array.from(ul.children)
      .map((li) => (li as HTMLElement).dataset.key)
      .filter((k): k is string => k !== undefined),
  );
const text = async (l: Locator) => ((await l.textContent()) ?? '').trim();

/** What the page writes for a duration (timeline.ts fmtMs), for expectations built from API numbers. */
function fmtMs(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v} ms`;
  if (v < 10_000) return `${(v / 1000).toFixed(1)} s`;
  const s = Math.round(v / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

async function create(id: string, body: Record<string, unknown> = {}): Promise<any> {
  return ok(
    api.post(`/api/projects/${P}/workflows`, {
      id,
      type: 'views-job',
      steps: [{ id: 'a' }, { id: 'b' }],
      ...body,
    }),
    201,
  );
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is. */
async function axeSeriousOrCritical(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const found: Array<{ id: string; impact: string; targets: unknown[] }> = await page.evaluate(async () => {
    const r = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 5).map((n: any) => n.target),
    }));
  });
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${JSON.stringify(v.targets)}`);
}

describe('dashboard views (#18, browser)', () => {
  it('JSON viewer: metadata opens and closes by its disclosure buttons (aria-expanded), node by node, and copies as JSON', async () => {
    const long = 'x'.repeat(420);
    await create('views-meta', {
      metadata: {
        customer: { id: 'c-42', tier: 'gold', limits: { daily: 10 } },
        tags: ['a', 'b'],
        count: 3,
        note: long,
      },
    });
    const wf = await ok(api.get('/api/workflows/views-meta'));
    const { page, problems } = await openWorkflow('views-meta');
    const viewer = page.getByTestId('detail-metadata');
    const root = rootToggle(viewer);
    await eventually(async () => expect(await root.getAttribute('aria-expanded')).toBe('false'));
    expect(await text(root)).toBe(`Metadata {…} ${Object.keys(wf.metadata).length} keys`);
    expect(await viewer.locator('.json-children').count()).toBe(0);
    // open with the keyboard: the toggle is a button
    await root.focus();
    await page.keyboard.press('Enter');
    await eventually(async () => expect(await root.getAttribute('aria-expanded')).toBe('true'));
    const top = viewer.locator(':scope > .json-children');
    expect(await entryKeys(top)).toEqual(Object.keys(wf.metadata));
    expect(await text(top.locator(':scope > li[data-key="count"]'))).toBe(`count: ${wf.metadata.count}`);
    // a nested object stays closed until opened
    const customer = top.locator(':scope > li[data-key="customer"]');
    const cToggle = customer.locator(':scope > [data-testid="json-toggle"]');
    expect(await cToggle.getAttribute('aria-expanded')).toBe('false');
    await cToggle.click();
    await eventually(async () => expect(await cToggle.getAttribute('aria-expanded')).toBe('true'));
    expect(await entryKeys(customer.locator(':scope > .json-children'))).toEqual(
      Object.keys(wf.metadata.customer),
    );
    expect(await text(customer.locator('li[data-key="id"]'))).toBe(
      `id: ${JSON.stringify(wf.metadata.customer.id)}`,
    );
    // a long string is cut, then shown whole on request
    const note = top.locator(':scope > li[data-key="note"]');
    expect(await text(note)).toContain(`Show all ${wf.metadata.note.length} characters`);
    expect(await text(note)).not.toContain(wf.metadata.note);
    await note.getByRole('button').click();
    await eventually(async () => expect(await text(note)).toBe(`note: ${JSON.stringify(wf.metadata.note)}`));
    // collapse: the entries go, the node under it keeps its state for next time
    await root.click();
    await eventually(async () => expect(await root.getAttribute('aria-expanded')).toBe('false'));
    expect(await viewer.locator('.json-children').count()).toBe(0);
    await root.click();
    await eventually(async () => expect(await cToggle.getAttribute('aria-expanded')).toBe('true'));
    // copy: the whole value, as JSON, on the clipboard
    await viewer.getByRole('button', { name: 'Copy Metadata as JSON' }).click();
    await eventually(async () => expect(await text(viewer.getByTestId('json-copied'))).toBe('Copied'));
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(JSON.parse(copied)).toEqual(wf.metadata);
    expect(problems).toEqual([]);
  });

  it('JSON viewer: a big result shows 50 entries at a time with "Show 50 more", a deep one opens level by level, and the tab stays responsive', async () => {
    const rows = Array.from({ length: 1234 }, (_, i) => ({ i, label: `row ${i}` }));
    let deep: Record<string, unknown> = { bottom: 'reached' };
    for (let i = 19; i >= 0; i--) deep = { [`level${i}`]: deep };
    await create('views-big');
    await ok(api.post('/api/workflows/views-big/steps/a/complete', { result: { rows, deep } }));
    const wf = await ok(api.get('/api/workflows/views-big'));
    const result = wf.steps[0].result;
    const { page, problems } = await openWorkflow('views-big');
    const viewer = stepItem(page, 'a').getByTestId('step-result');
    await eventually(async () => expect(await viewer.isVisible()).toBe(true));
    await rootToggle(viewer).click();
    const top = viewer.locator(':scope > .json-children');
    await eventually(async () => expect(await entryKeys(top)).toEqual(Object.keys(result)));
    const rowsNode = top.locator(':scope > li[data-key="rows"]');
    expect(await text(rowsNode.locator(':scope > [data-testid="json-toggle"]'))).toBe(
      `rows [\u2026] ${result.rows.length} items`,
    );
    await rowsNode.locator(':scope > [data-testid="json-toggle"]').click();
    const rowList = rowsNode.locator(':scope > .json-children');
    await eventually(async () => expect((await entryKeys(rowList)).length).toBe(50));
    const more = rowList.getByTestId('json-more');
    expect(await text(more)).toBe(`Show 50 more (${result.rows.length - 50} not shown)`);
    await more.click();
    await eventually(async () => expect((await entryKeys(rowList)).length).toBe(100));
    expect(await text(more)).toBe(`Show 50 more (${result.rows.length - 100} not shown)`);
    // the button keeps the focus, so a keyboard user can go on paging
    expect(await page.evaluate(() => (document.activeElement as HTMLElement)?.dataset.testid)).toBe(
      'json-more',
    );
    expect(await text(rowList.locator(':scope > li[data-key="99"]'))).toBe(
      `99 {\u2026} ${Object.keys(result.rows[99]).length} keys`,
    );
    // deep: one level per click, the last one holds the leaf
    let node = top.locator(':scope > li[data-key="deep"]');
    let value = result.deep;
    for (let level = 0; level < 20; level++) {
      await node.locator(':scope > [data-testid="json-toggle"]').click();
      const k = Object.keys(value)[0];
      node = node.locator(`:scope > .json-children > li[data-key="${k}"]`);
      await eventually(async () => expect(await node.count()).toBe(1));
      value = value[k];
    }
    await node.locator(':scope > [data-testid="json-toggle"]').click();
    await eventually(async () =>
      expect(await text(node.locator('li[data-key="bottom"]'))).toBe(
        `bottom: ${JSON.stringify(value.bottom)}`,
      ),
    );
    // never more than a page of a level in the DOM: the whole result is not rendered
    expect(await viewer.locator('li').count()).toBeLessThan(200);
    expect(problems).toEqual([]);
  });

  it('JSON viewer: the results of a real §7 analysis, shown per step and copied exactly as the API holds them', async () => {
    const started = await ok(api.post(`/api/projects/${P}/analyses`, { path: 'app' }), 202);
    let wf: any;
    await eventually(async () => {
      wf = await ok(api.get(`/api/workflows/${started.id}`));
      expect(wf.status).toBe('completed');
    }, 60_000);
    const { page, problems } = await openWorkflow(started.id);
    for (const s of wf.steps) {
      const viewer = stepItem(page, s.id).getByTestId('step-result');
      await eventually(async () => expect(await viewer.isVisible()).toBe(true));
      const root = rootToggle(viewer);
      expect(await text(root)).toBe(
        `Result {…} ${Object.keys(s.result).length} ${Object.keys(s.result).length === 1 ? 'key' : 'keys'}`,
      );
      await root.click();
      await eventually(async () => {
        // seen once in four CI runs on MariaDB: the click left the viewer collapsed (cause not found). A toggle
        // that says it is collapsed is clicked again; one that says it is open must show the result's keys.
        if ((await root.getAttribute('aria-expanded')) !== 'true') {
          process.stdout.write(
            `[dashboard-views] step ${s.id}: the result viewer was still collapsed; clicked again\n`,
          );
          await root.click();
        }
        const list = viewer.locator(':scope > .json-children');
        expect(await list.count()).toBe(1);
        expect(await entryKeys(list)).toEqual(Object.keys(s.result));
      });
    }
    // the issues the analyzer found: each one's file and text, as the API has them
    const issues = wf.steps.find((s: any) => s.id === 'issues').result;
    expect(issues.items.length).toBeGreaterThan(0);
    const iv = stepItem(page, 'issues').getByTestId('step-result');
    const items = iv.locator(':scope > .json-children > li[data-key="items"]');
    await items.locator(':scope > [data-testid="json-toggle"]').click();
    const first = items.locator(':scope > .json-children > li[data-key="0"]');
    await first.locator(':scope > [data-testid="json-toggle"]').click();
    await eventually(async () =>
      expect(await text(first.locator('li[data-key="file"]'))).toBe(
        `file: ${JSON.stringify(issues.items[0].file)}`,
      ),
    );
    expect(await text(first.locator('li[data-key="text"]'))).toBe(
      `text: ${JSON.stringify(issues.items[0].text)}`,
    );
    await iv.getByRole('button', { name: 'Copy Result as JSON' }).click();
    await eventually(async () => expect(await text(iv.getByTestId('json-copied'))).toBe('Copied'));
    expect(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))).toEqual(issues);
    expect(problems).toEqual([]);
  });

  it('JSON viewer: step metrics and log details, each with its own disclosure and copy', async () => {
    await create('views-metrics');
    await ok(
      api.post('/api/workflows/views-metrics/steps/a/progress', {
        current: 3,
        total: 10,
        metrics: { rowsPerSecond: 12.5, memory: { rssMb: 210 } },
      }),
    );
    await ok(
      api.post('/api/workflows/views-metrics/logs', {
        level: 'warning',
        message: 'retrying upstream',
        stepId: 'a',
        details: { status: 503, attempt: 2, headers: { 'retry-after': '1' } },
      }),
      201,
    );
    const wf = await ok(api.get('/api/workflows/views-metrics'));
    const logs = (await ok(api.get('/api/workflows/views-metrics/logs'))).items;
    const { page, problems } = await openWorkflow('views-metrics');
    const metrics = stepItem(page, 'a').getByTestId('step-metrics');
    await eventually(async () => expect(await metrics.isVisible()).toBe(true));
    expect(await stepItem(page, 'b').getByTestId('step-metrics').isVisible()).toBe(false);
    await rootToggle(metrics).click();
    await eventually(async () =>
      expect(await entryKeys(metrics.locator(':scope > .json-children'))).toEqual(
        Object.keys(wf.steps[0].metrics),
      ),
    );
    expect(await text(metrics.locator('li[data-key="rowsPerSecond"]'))).toBe(
      `rowsPerSecond: ${wf.steps[0].metrics.rowsPerSecond}`,
    );
    // progress events do not carry metrics: the page reads them again while the step moves, and the open
    // viewer stays open
    await ok(
      api.post('/api/workflows/views-metrics/steps/a/progress', {
        current: 4,
        total: 10,
        metrics: { rowsPerSecond: 14.25, memory: { rssMb: 230 } },
      }),
    );
    const after = (await ok(api.get('/api/workflows/views-metrics'))).steps[0].metrics;
    await eventually(
      async () =>
        expect(await text(metrics.locator('li[data-key="rowsPerSecond"]'))).toBe(
          `rowsPerSecond: ${after.rowsPerSecond}`,
        ),
      15_000, // read again at most every 5 s
    );
    expect(await rootToggle(metrics).getAttribute('aria-expanded')).toBe('true');

    const line = page.getByTestId('log-line').filter({ hasText: logs[0].message });
    await eventually(async () => expect(await line.count()).toBe(1));
    const details = line.getByTestId('log-details');
    const dRoot = rootToggle(details);
    expect(await dRoot.getAttribute('aria-expanded')).toBe('false');
    await dRoot.click();
    await eventually(async () =>
      expect(await entryKeys(details.locator(':scope > .json-children'))).toEqual(
        Object.keys(logs[0].details),
      ),
    );
    expect(await text(details.locator('li[data-key="status"]'))).toBe(`status: ${logs[0].details.status}`);
    await details.getByRole('button', { name: 'Copy Details as JSON' }).click();
    await eventually(async () => expect(await text(details.getByTestId('json-copied'))).toBe('Copied'));
    expect(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))).toEqual(logs[0].details);
    expect(problems).toEqual([]);
  });

  for (const scheme of ['light', 'dark'] as const)
    it(`axe-core finds no serious or critical violation with every viewer open and the timeline drawn (${scheme})`, async () => {
      const id = `views-axe-${scheme}`;
      await create(id, { metadata: { owner: 'team-a', limits: { daily: 10 } } });
      await ok(
        api.post(`/api/workflows/${id}/steps/a/complete`, { result: { rows: [1, 2, 3], note: 'ok' } }),
      );
      await ok(api.post(`/api/workflows/${id}/steps/b/progress`, { progress: 40, metrics: { rate: 2 } }));
      await ok(
        api.post(`/api/workflows/${id}/logs`, {
          level: 'info',
          message: 'with details',
          details: { k: 'v' },
        }),
        201,
      );
      const { page } = await openWorkflow(id, { scheme, bypassCSP: true });
      await eventually(async () => expect(await page.getByTestId('log-details').count()).toBe(1));
      await eventually(async () => expect(await page.getByTestId('timeline-step').count()).toBe(2));
      // open every root viewer, then every node inside
      for (let round = 0; round < 3; round++) {
        const closed = page.locator('[data-testid="json-toggle"][aria-expanded="false"]');
        const n = await closed.count();
        for (let i = 0; i < n; i++) await closed.first().click();
      }
      expect(await page.locator('[data-testid="json-toggle"][aria-expanded="false"]').count()).toBe(0);
      expect(
        await page.locator('[data-testid="json-toggle"][aria-expanded="true"]').count(),
      ).toBeGreaterThanOrEqual(6);
      await page.locator('[data-testid="json-copy"]').first().click();
      expect(await axeSeriousOrCritical(page)).toEqual([]);
    });

  it('at 420 px, with every viewer open (long keys, long values) and the timeline drawn, nothing scrolls sideways', async () => {
    const id = 'views-narrow';
    const longKey = 'a_configuration_key_without_any_place_to_break_it_'.repeat(2);
    await create(id, { metadata: { [longKey]: 'v'.repeat(280), nested: { [longKey]: [longKey] } } });
    await ok(api.post(`/api/workflows/${id}/steps/a/complete`, { result: { [longKey]: 'w'.repeat(250) } }));
    await ok(
      api.post(`/api/workflows/${id}/logs`, { level: 'info', message: 'x', details: { [longKey]: 1 } }),
      201,
    );
    const ctx = await browser.newContext({ viewport: { width: 420, height: 800 } });
    contexts.push(ctx);
    await ctx.addInitScript((k) => localStorage.setItem('stepline.key', k), key);
    const page = await ctx.newPage();
    await page.goto(`${fx.server.url}/#/p/${P}/w/${id}`);
    await eventually(async () => expect(await page.getByTestId('log-details').count()).toBe(1));
    await eventually(async () => expect(await page.getByTestId('timeline-step').count()).toBe(2));
    for (let round = 0; round < 3; round++) {
      const closed = page.locator('[data-testid="json-toggle"][aria-expanded="false"]');
      const n = await closed.count();
      for (let i = 0; i < n; i++) await closed.first().click();
    }
    expect(await page.locator('[data-testid="json-toggle"][aria-expanded="false"]').count()).toBe(0);
    const m = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
  });

  describe('step timeline', () => {
    const T = 'views-timed';
    const steps = [{ id: 'fetch' }, { id: 'crunch' }, { id: 'store' }];
    /** A run whose steps take about these many ms (real time: durations are what the server records). */
    const run = async (id: string, ms: [number, number, number]) => {
      await create(id, { type: T, steps });
      for (let i = 0; i < steps.length; i++) {
        await ok(api.post(`/api/workflows/${id}/steps/${steps[i].id}/start`, {}));
        await sleep(ms[i]);
        await ok(api.post(`/api/workflows/${id}/steps/${steps[i].id}/complete`, {}));
      }
    };

    beforeAll(async () => {
      // five runs of the type: a history with a median, a p90 and a slow threshold for each step
      await Promise.all(
        [
          [150, 400, 100],
          [200, 500, 120],
          [250, 600, 140],
          [300, 700, 160],
          [350, 800, 180],
        ].map((ms, i) => run(`${T}-h${i}`, ms as [number, number, number])),
      );
    }, 60_000);

    it("one bar per step on one time axis, the median and p90 from the type's history behind each, times and durations in words; a running bar grows to now", async () => {
      const id = `${T}-live`;
      await create(id, { type: T, steps });
      await ok(api.post(`/api/workflows/${id}/steps/fetch/start`, {}));
      await sleep(300);
      await ok(api.post(`/api/workflows/${id}/steps/fetch/complete`, {}));
      await ok(api.post(`/api/workflows/${id}/steps/crunch/start`, {}));
      const hist = await ok(api.get(`/api/projects/${P}/step-durations?type=${T}`));
      expect(hist.runs).toBe(5);
      const { page, problems } = await openWorkflow(id);
      await eventually(async () =>
        expect(await page.getByTestId('timeline-step').count()).toBe(steps.length),
      );
      await eventually(async () =>
        expect(await text(page.getByTestId('timeline-axis'))).toContain(
          `last ${hist.runs} completed ${T} runs`,
        ),
      );
      const wf = await ok(api.get(`/api/workflows/${id}`));
      for (const s of steps) {
        const d = hist.steps.find((x: any) => x.stepId === s.id);
        const row = tlRow(page, s.id);
        expect(await row.getAttribute('data-median-ms')).toBe(String(d.medianMs));
        expect(await row.getAttribute('data-p90-ms')).toBe(String(d.p90Ms));
        expect(await text(row.getByTestId('timeline-text'))).toContain(
          `usually ${fmtMs(d.medianMs)} (p90 ${fmtMs(d.p90Ms)})`,
        );
      }
      // the finished step: its start and end as the API has them, its duration, drawn to the axis' scale
      const fetch = wf.steps.find((s: any) => s.id === 'fetch');
      const fRow = tlRow(page, 'fetch');
      const times = await fRow
        .locator('time')
        .evaluateAll((ts) => ts.map((t) => (t as HTMLTimeElement).dateTime));
      expect(times).toEqual([fetch.startedAt, fetch.finishedAt]);
      expect(await text(fRow.getByTestId('timeline-text'))).toContain(
        `completed in ${fmtMs(fetch.durationMs)}`,
      );
      const geometry = await page.evaluate(() => {
        const ol = document.getElementById('timeline')!;
        const box = (sel: string) => {
          const r = ol.querySelector<HTMLElement>(sel)!.getBoundingClientRect();
          return { left: r.left, width: r.width };
        };
        return {
          axisMs: Number(ol.dataset.axisMs),
          axisStart: Number(ol.dataset.axisStart),
          track: box('[data-step-id="fetch"] .tl-track'),
          bar: box('[data-step-id="fetch"] .tl-bar'),
          median: box('[data-step-id="crunch"] .tl-median'),
          p90: box('[data-step-id="crunch"] .tl-p90'),
          crunchBar: box('[data-step-id="crunch"] .tl-bar'),
        };
      });
      expect(geometry.axisStart).toBe(Date.parse(fetch.startedAt));
      const px = (ms: number) => (ms / geometry.axisMs) * (geometry.track.width - 2);
      const dCrunch = hist.steps.find((x: any) => x.stepId === 'crunch');
      expect(Math.abs(geometry.bar.width - Math.max(2, px(fetch.durationMs)))).toBeLessThan(2.5);
      expect(Math.abs(geometry.median.width - px(dCrunch.medianMs))).toBeLessThan(2.5);
      expect(Math.abs(geometry.p90.width - px(dCrunch.p90Ms))).toBeLessThan(2.5);
      // the bands sit where the running step started
      const crunch = wf.steps.find((s: any) => s.id === 'crunch');
      const startX = px(Date.parse(crunch.startedAt) - geometry.axisStart);
      expect(Math.abs(geometry.median.left - geometry.track.left - 1 - startX)).toBeLessThan(2.5);
      // the pending step has no bar and says so
      expect(await text(tlRow(page, 'store').getByTestId('timeline-text'))).toMatch(/^pending/);
      expect(await tlRow(page, 'store').locator('.tl-bar').isVisible()).toBe(false);
      // running: its end is now, so it moves on without any event
      const cRow = tlRow(page, 'crunch');
      expect(await text(cRow.getByTestId('timeline-text'))).toMatch(/→ now · running /);
      const end1 = Number(await cRow.getAttribute('data-end-ms'));
      await eventually(async () =>
        expect(Number(await cRow.getAttribute('data-end-ms'))).toBeGreaterThan(end1 + 900),
      );
      // the detail's step list says the same times in words
      expect(await text(stepItem(page, 'fetch').getByTestId('step-times'))).toContain(
        `took ${fmtMs(fetch.durationMs)}`,
      );
      expect(await text(stepItem(page, 'crunch').getByTestId('step-times'))).toMatch(/^Started \S/);
      expect(problems).toEqual([]);
    });

    it('a step the server reports slow (workflow:step:slow) is marked "Slow" in words on its timeline row', async () => {
      const id = `${T}-slow`;
      await create(id, { type: T, steps });
      const { page, problems } = await openWorkflow(id);
      await eventually(async () =>
        expect(await page.getByTestId('timeline-step').count()).toBe(steps.length),
      );
      await ok(api.post(`/api/workflows/${id}/steps/fetch/start`, {}));
      // the server's event, as the API's event log has it
      let slow: any;
      await eventually(async () => {
        const log = await ok(api.get(`/api/projects/${P}/events?after=0&limit=1000`));
        slow = log.items.find((e: any) => e.type === 'workflow:step:slow' && e.workflowId === id);
        expect(slow).toBeDefined();
      }, 15_000);
      const mark = tlRow(page, 'fetch').getByTestId('timeline-slow');
      await eventually(async () => expect(await mark.getAttribute('data-source')).toBe('event'));
      expect(await text(mark)).toMatch(
        new RegExp(`^⚠ Slow: past .+, expected within ${fmtMs(slow.data.expectedMs).replace('.', '\\.')}$`),
      );
      // drawn past its p90 band, and nothing is marked on the other steps
      expect(await tlRow(page, 'fetch').locator('.tl-bar').getAttribute('data-over')).toBe('p90');
      expect(await page.getByTestId('timeline-slow').count()).toBe(1);
      // it stays marked once done: the step was slow
      await ok(api.post(`/api/workflows/${id}/steps/fetch/complete`, {}));
      await eventually(async () => expect(await text(mark)).toMatch(/^⚠ Slow: took /));
      expect(problems).toEqual([]);
    });
  });

  it('the detail dates "Created", "Started", "Finished" (with how long it ran) and "Updated", as the API has them', async () => {
    await create('views-dates');
    await ok(api.post('/api/workflows/views-dates/steps/a/complete', {}));
    await ok(api.post('/api/workflows/views-dates/steps/b/complete', {}));
    const wf = await ok(api.get('/api/workflows/views-dates'));
    const { page, problems } = await openWorkflow('views-dates');
    const dateOf = (testid: string) =>
      page
        .getByTestId(testid)
        .locator('time')
        .evaluate((t) => ({ iso: (t as HTMLTimeElement).dateTime, text: t.textContent }));
    await eventually(async () => expect((await dateOf('detail-finished')).iso).toBe(wf.finishedAt));
    for (const [testid, iso] of [
      ['detail-created', wf.createdAt],
      ['detail-started', wf.startedAt],
      ['detail-updated', wf.updatedAt],
    ]) {
      const d = await dateOf(testid);
      expect(d.iso).toBe(iso);
      // a date, not only a time: the year and the day of the month are in the text
      const at = new Date(iso);
      expect(d.text).toContain(String(at.getFullYear()));
      expect(d.text).toMatch(new RegExp(`\\b${at.getDate()}\\b`));
    }
    expect(await text(page.getByTestId('detail-finished'))).toContain(
      `(ran ${fmtMs(Date.parse(wf.finishedAt) - Date.parse(wf.startedAt))})`,
    );
    expect(problems).toEqual([]);
  });

  describe('keyboard use of the workflow list', () => {
    const K = 'views-kb';
    let kbApi: Client;
    let kbKey: string;
    beforeAll(async () => {
      kbKey = await createKey(fx.admin, 'producer', [K]);
      kbApi = client(fx.server.url, kbKey);
      for (let i = 0; i < 14; i++)
        await ok(
          kbApi.post(`/api/projects/${K}/workflows`, {
            id: `kb-${String(i).padStart(2, '0')}`,
            type: 'kb',
            steps: [{ id: 'a' }],
          }),
          201,
        );
    });

    async function openList(): Promise<Opened> {
      const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
      contexts.push(ctx);
      await ctx.addInitScript((k) => localStorage.setItem('stepline.key', k), kbKey);
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.goto(`${fx.server.url}/#/p/${K}`);
      await eventually(async () => expect(await page.getByTestId('connection').textContent()).toBe('live'));
      await eventually(async () => expect(await page.getByTestId('workflow-item').count()).toBe(14));
      return { page, problems };
    }
    const focusedId = (page: Page) =>
      page.evaluate(
        () =>
          (document.activeElement?.closest('[data-testid="workflow-item"]') as HTMLElement | null)?.dataset
            .workflowId ?? null,
      );
    const tabStops = (page: Page) =>
      page
        .locator('[data-testid="workflow-item"] button')
        .evaluateAll((bs) =>
          bs
            .filter((b) => (b as HTMLElement).tabIndex === 0)
            .map((b) => (b.closest('li') as HTMLElement).dataset.workflowId),
        );

    it('one Tab stop for the list; ArrowDown/ArrowUp/Home/End move in the order the API lists; Enter opens', async () => {
      const order = (await ok(kbApi.get(`/api/projects/${K}/workflows?limit=50`))).items.map(
        (w: any) => w.id,
      );
      const { page, problems } = await openList();
      expect(await tabStops(page)).toEqual([order[0]]);
      // skip link → the list → Tab: the row holding the Tab stop
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await eventually(async () =>
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('workflow-list'),
      );
      await page.keyboard.press('Tab');
      expect(await focusedId(page)).toBe(order[0]);
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      expect(await focusedId(page)).toBe(order[2]);
      expect(await tabStops(page)).toEqual([order[2]]);
      await page.keyboard.press('ArrowUp');
      expect(await focusedId(page)).toBe(order[1]);
      await page.keyboard.press('End');
      expect(await focusedId(page)).toBe(order[order.length - 1]);
      await page.keyboard.press('ArrowDown'); // stays on the last
      expect(await focusedId(page)).toBe(order[order.length - 1]);
      await page.keyboard.press('Home');
      expect(await focusedId(page)).toBe(order[0]);
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await eventually(async () =>
        expect(await text(page.getByTestId('detail-meta'))).toContain(`id ${order[3]}`),
      );
      expect(await page.evaluate(() => location.hash)).toBe(`#/p/${K}/w/${order[3]}`);
      // focus went to the opened workflow's heading; Shift+Tab from there is not the list, Tab back lands on its row
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('detail-title');
      expect(await tabStops(page)).toEqual([order[3]]);
      await page.evaluate(() => (document.getElementById('workflow-list') as HTMLElement).focus());
      await page.keyboard.press('Tab');
      expect(await focusedId(page)).toBe(order[3]);
      expect(problems).toEqual([]);
    });

    it('rows arriving while a row has focus neither take the focus nor move that row on screen', async () => {
      const { page, problems } = await openList();
      const order = (await ok(kbApi.get(`/api/projects/${K}/workflows?limit=50`))).items.map(
        (w: any) => w.id,
      );
      await page.getByTestId('workflow-list').focus();
      await page.keyboard.press('ArrowDown');
      for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
      expect(await focusedId(page)).toBe(order[4]);
      const topOf = () =>
        page.evaluate(() => document.activeElement!.closest('li')!.getBoundingClientRect().top);
      const before = await topOf();
      // new workflows: the newest go first, above the focused row
      for (let i = 0; i < 3; i++)
        await ok(
          kbApi.post(`/api/projects/${K}/workflows`, { id: `kb-new-${i}`, type: 'kb', steps: [{ id: 'a' }] }),
          201,
        );
      await eventually(async () => expect(await page.getByTestId('workflow-item').count()).toBe(17));
      const firstIds = await page
        .getByTestId('workflow-item')
        .evaluateAll((lis) => lis.slice(0, 3).map((li) => (li as HTMLElement).dataset.workflowId));
      expect(firstIds).toEqual(['kb-new-2', 'kb-new-1', 'kb-new-0']);
      expect(await focusedId(page)).toBe(order[4]);
      expect(Math.abs((await topOf()) - before)).toBeLessThan(1);
      // and the keys go on from there
      await page.keyboard.press('ArrowDown');
      expect(await focusedId(page)).toBe(order[5]);
      expect(problems).toEqual([]);
    });
  });
});
