import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { client, Client, createKey } from './support/http';
import { ServerFixture, useServer } from './support/fixture';

/**
 * The dashboard's look (#18 defects 1, 6, 13, 14) in a real Chromium, on realistic data: workflows in every
 * status, steps in every step status, a queue with a worker holding one job, a workflow open with logs.
 * Layout at 420 and 1024 px, dark mode, WCAG contrast computed from getComputedStyle, axe-core run in the
 * page, and the keyboard's first stop.
 */

let fx: ServerFixture;
let browser: Browser;
let key: string;
let api: Client;
const contexts: BrowserContext[] = [];
const ARTIFACTS = join(__dirname, 'artifacts');

/** A full-page screenshot in test/artifacts (for review; not asserted on). */
async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

const P = 'look';
const OPEN = 'look-run-1';
const LONG_NAME =
  'Quarterly consolidated revenue reconciliation for every regional subsidiary, with currency adjustments';

useServer((f) => (fx = f));

async function ok(res: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const steps = [
  { id: 'fetch', name: 'Fetch sources', weight: 10 },
  { id: 'parse', name: 'Parse', weight: 30 },
  { id: 'check', name: 'Optional checks', weight: 10 },
  { id: 'analyze', name: 'Analyze', weight: 40 },
  { id: 'render', name: 'Render report', weight: 10 },
];

async function create(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await ok(
    api.post(`/api/projects/${P}/workflows`, {
      id,
      type: 'report-build',
      name: `Report ${id}`,
      steps,
      ...extra,
    }),
    201,
  );
}

beforeAll(async () => {
  browser = await launchChromium();
  key = await createKey(fx.admin, 'producer', [P]);
  api = client(fx.server.url, key);
  // queued
  for (const id of ['look-new-1', 'look-new-2']) await create(id);
  // running: the open one has a step in every step status but failed/cancelled, and logs
  for (const id of [OPEN, 'look-run-2', 'look-run-3']) {
    await create(id, id === 'look-run-3' ? { name: LONG_NAME } : {});
    await ok(api.post(`/api/workflows/${id}/steps/fetch/complete`, {}));
    await ok(
      api.post(`/api/workflows/${id}/steps/parse/progress`, { current: 37, total: 120, message: 'page 37' }),
    );
  }
  await ok(api.post(`/api/workflows/${OPEN}/steps/parse/complete`, {}));
  await ok(api.post(`/api/workflows/${OPEN}/steps/check/skip`, { message: 'not needed' }));
  await ok(
    api.post(`/api/workflows/${OPEN}/steps/analyze/progress`, { progress: 42, message: 'model pass 1' }),
  );
  for (const [level, message] of [
    ['info', 'opened 120 pages'],
    ['success', 'parse done'],
    ['warning', 'table 7 has no header'],
    ['error', 'currency rate missing for 2026-11-30, using the day before'],
    ['debug', 'cache hit ratio 0.93'],
  ])
    await ok(api.post(`/api/workflows/${OPEN}/logs`, { level, message, stepId: 'analyze' }), 201);
  // completed, failed, cancelled
  for (const id of ['look-done-1', 'look-done-2']) {
    await create(id, { steps: [{ id: 'only' }] });
    await ok(api.post(`/api/workflows/${id}/steps/only/complete`, {}));
  }
  for (const id of ['look-fail-1', 'look-fail-2']) {
    await create(id);
    await ok(
      api.post(`/api/workflows/${id}/steps/parse/fail`, { error: { message: 'bad input', code: 'E_PARSE' } }),
    );
  }
  for (const id of ['look-cancel-1', 'look-cancel-2']) {
    await create(id);
    await ok(api.post(`/api/workflows/${id}/cancel`, { reason: 'superseded' }));
  }
  // a queue: one held by a worker, two waiting
  for (const id of ['look-q-1', 'look-q-2', 'look-q-3']) await create(id, { queue: 'render-farm' });
  await ok(api.post('/api/queues/render-farm/claim', { workerId: 'render-worker-1', leaseMs: 600_000 }));
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.close();
});

// ---- helpers -------------------------------------------------------------------------------------------

type Scheme = 'light' | 'dark';

async function openBoard(
  width: number,
  opts: { scheme?: Scheme; bypassCSP?: boolean; path?: string } = {},
): Promise<Page> {
  const ctx = await browser.newContext({
    viewport: { width, height: 800 },
    colorScheme: opts.scheme ?? 'light',
    bypassCSP: opts.bypassCSP ?? false,
  });
  contexts.push(ctx);
  await ctx.addInitScript((k) => localStorage.setItem('stepline.key', k), key);
  const page = await ctx.newPage();
  await page.goto(`${fx.server.url}/${opts.path ?? `#/p/${P}/w/${OPEN}`}`);
  await eventually(async () => expect(await page.getByTestId('connection').textContent()).toBe('live'));
  await eventually(async () => {
    expect(await page.locator('[data-testid="workflow-item"]').count()).toBeGreaterThanOrEqual(12);
    if (!opts.path) {
      expect(await page.locator('[data-testid="step"]').count()).toBe(steps.length);
      expect(await page.getByTestId('log-line').count()).toBe(5);
    }
  });
  return page;
}

/** The page's horizontal overflow and the widths of its parts. */
function layout(page: Page) {
  return page.evaluate(() => {
    const box = (sel: string) => {
      const r = document.querySelector(sel)!.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width };
    };
    return {
      innerWidth: window.innerWidth,
      scrollWidth: document.scrollingElement!.scrollWidth,
      detail: box('#detail'),
      list: box('#workflows-panel'),
      topbar: box('.topbar'),
      connLabel: box('#conn-label'),
      conn: box('#connection'),
      changeKey: box('#change-key'),
    };
  });
}

interface Pair {
  what: string;
  ratio: number;
}

/**
 * WCAG 2.1 contrast ratios of what the page draws, from computed styles: text against the first opaque
 * background behind it, borders and fills against what surrounds them. Runs in the page.
 */
function measureContrast(page: Page): Promise<{ text: Pair[]; nonText: Pair[]; notes: string[] }> {
  return page.evaluate(() => {
    const parse = (c: string): number[] => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) throw new Error(`unparsed colour ${c}`);
      const p = m[1]
        .split(/[ ,/]+/)
        .filter(Boolean)
        .map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const lum = (rgb: number[]) => {
      const [r, g, b] = rgb.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a: number[], b: number[]) => {
      const x = lum(a);
      const y = lum(b);
      return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
    };
    /** The first opaque background colour at or above `el`. */
    const behind = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c[3] >= 0.99) return c;
      }
      return parse(getComputedStyle(document.documentElement).backgroundColor);
    };
    const all = (sel: string) => Array.from(document.querySelectorAll<HTMLElement>(sel));
    const visible = (e: HTMLElement) => e.getClientRects().length > 0;
    const text: Pair[] = [];
    const nonText: Pair[] = [];
    const notes: string[] = [];

    // badges of every status shown (workflow and step), text on their own background
    for (const b of all('.badge[data-status]').filter(visible)) {
      const bg = parse(getComputedStyle(b).backgroundColor);
      const on = bg[3] >= 0.99 ? bg : behind(b.parentElement);
      text.push({ what: `badge ${b.dataset.status}`, ratio: ratio(parse(getComputedStyle(b).color), on) });
    }
    // the overall progress label, and where it sits: beside the track, not over the fill
    const big = document.querySelector('#detail-progress') as HTMLElement;
    const label = big.querySelector('.bar-text') as HTMLElement;
    text.push({ what: 'progress label', ratio: ratio(parse(getComputedStyle(label).color), behind(label)) });
    const bigBox = big.getBoundingClientRect();
    const trackRight = bigBox.left + big.clientWidth - parseFloat(getComputedStyle(big).paddingRight);
    const labelText = document.createRange();
    labelText.selectNodeContents(label);
    const textBox = labelText.getBoundingClientRect();
    notes.push(textBox.left >= trackRight - 0.5 ? 'label beside the track' : 'label over the track');
    // muted text and the selected row's text
    for (const m of all('.muted, .wf-sub, .step-message, .facts dt').filter(visible))
      text.push({
        what: `muted ${m.id || m.className}`,
        ratio: ratio(parse(getComputedStyle(m).color), behind(m)),
      });
    const cur = document.querySelector<HTMLElement>('.workflow-item[aria-current="true"] .wf-name');
    if (cur)
      text.push({ what: 'selected row', ratio: ratio(parse(getComputedStyle(cur).color), behind(cur)) });

    // the track against the card (its outline), each fill against its track
    for (const bar of all('.bar').filter(visible)) {
      const card = behind(bar.parentElement);
      const isBig = bar.classList.contains('big');
      const track = isBig ? getComputedStyle(bar, '::before') : getComputedStyle(bar);
      const trackBg = parse(track.backgroundColor);
      const outline = parse(track.borderTopColor);
      const outlined = parseFloat(track.borderTopWidth) >= 1 && track.borderTopStyle !== 'none';
      const edge = Math.max(ratio(trackBg, card), outlined ? ratio(outline, card) : 0);
      nonText.push({ what: `track ${isBig ? 'big' : 'small'} vs card`, ratio: edge });
      const fill = bar.querySelector('.fill') as HTMLElement;
      if (fill.getBoundingClientRect().width > 0)
        nonText.push({
          what: `fill ${bar.dataset.status} vs track`,
          ratio: ratio(parse(getComputedStyle(fill).backgroundColor), trackBg[3] >= 0.99 ? trackBg : card),
        });
    }
    // form controls' borders against what is around them
    for (const c of all('select, input:not([type="hidden"])').filter(visible))
      nonText.push({
        what: `border #${c.id}`,
        ratio: ratio(parse(getComputedStyle(c).borderTopColor), behind(c.parentElement)),
      });
    return { text, nonText, notes };
  });
}

function below(pairs: Pair[], min: number): string[] {
  return pairs.filter((p) => !(p.ratio >= min)).map((p) => `${p.what}: ${p.ratio.toFixed(2)}`);
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

async function axeSeriousOrCritical(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> =
    await page.evaluate(async () => {
      const r = await (window as any).axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v: any) => ({
        id: v.id,
        impact: v.impact,
        nodes: v.nodes.map((n: any) => ({ target: n.target })),
      }));
    });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${JSON.stringify(v.nodes.slice(0, 5).map((n) => n.target))}`);
}

// ---- tests ---------------------------------------------------------------------------------------------

describe('dashboard look (browser)', () => {
  it('at 420 px: one column, no horizontal scroll, the open workflow full width, the top bar keeps "Connection" and "Change key" on its dark background', async () => {
    const page = await openBoard(420);
    await shoot(page, 'dashboard-look-420.png');
    const l = await layout(page);
    expect(l.scrollWidth).toBeLessThanOrEqual(l.innerWidth);
    expect(l.detail.width).toBeGreaterThan(300);
    expect(l.detail.right).toBeLessThanOrEqual(l.innerWidth);
    // stacked, list first
    expect(l.detail.top).toBeGreaterThanOrEqual(l.list.bottom);
    for (const part of [l.connLabel, l.conn, l.changeKey]) {
      expect(part.width).toBeGreaterThan(0);
      expect(part.left).toBeGreaterThanOrEqual(l.topbar.left);
      expect(part.right).toBeLessThanOrEqual(l.topbar.right);
      expect(part.top).toBeGreaterThanOrEqual(l.topbar.top);
      expect(part.bottom).toBeLessThanOrEqual(l.topbar.bottom);
    }
    // the top bar's texts against the top bar
    const topbarText = await page.evaluate(() => {
      const lum = (c: string) => {
        const [r, g, b] = /rgba?\(([^)]+)\)/
          .exec(c)![1]
          .split(/[ ,]+/)
          .slice(0, 3)
          .map((v) => {
            const s = Number(v) / 255;
            return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
          });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const bar = lum(getComputedStyle(document.querySelector('.topbar')!).backgroundColor);
      return ['#conn-label', '#change-key'].map((s) => {
        const t = lum(getComputedStyle(document.querySelector(s)!).color);
        return (Math.max(t, bar) + 0.05) / (Math.min(t, bar) + 0.05);
      });
    });
    for (const r of topbarText) expect(r).toBeGreaterThanOrEqual(4.5);
  });

  it('at 420 px a long name ends in an ellipsis inside its row', async () => {
    const page = await openBoard(420);
    const name = page.locator('[data-testid="workflow-item"][data-workflow-id="look-run-3"] .wf-name');
    const m = await name.evaluate((el) => {
      const row = el.closest('.workflow-item')!.getBoundingClientRect();
      const r = el.getBoundingClientRect();
      return {
        overflow: getComputedStyle(el).textOverflow,
        truncated: el.scrollWidth > el.clientWidth,
        inside: r.right <= row.right + 0.5,
      };
    });
    expect(m).toEqual({ overflow: 'ellipsis', truncated: true, inside: true });
  });

  it('a truncated name has the full name as its tooltip', async () => {
    const page = await openBoard(420);
    const item = page.locator('[data-testid="workflow-item"][data-workflow-id="look-run-3"]');
    const titles = await item.evaluate((li) =>
      [li, ...Array.from(li.querySelectorAll('*'))].map((e) => e.getAttribute('title')).filter(Boolean),
    );
    expect(titles.join(' ')).toContain(LONG_NAME);
  });

  it('at 1024 px no horizontal scroll, the board in two columns', async () => {
    const page = await openBoard(1024);
    const l = await layout(page);
    expect(l.scrollWidth).toBeLessThanOrEqual(l.innerWidth);
    expect(l.detail.left).toBeGreaterThanOrEqual(l.list.right);
    expect(l.detail.width).toBeGreaterThan(400);
  });

  it('dark mode follows prefers-color-scheme: the page and the cards turn dark, text light', async () => {
    const page = await openBoard(1024);
    const colours = () =>
      page.evaluate(() => {
        const c = (sel: string, prop: 'backgroundColor' | 'color') =>
          getComputedStyle(document.querySelector(sel)!)[prop];
        return {
          page: c('html', 'backgroundColor'),
          card: c('#detail', 'backgroundColor'),
          text: c('#detail-name', 'color'),
          scheme: getComputedStyle(document.documentElement).colorScheme,
        };
      });
    const light = await colours();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await colours();
    await shoot(page, 'dashboard-look-dark.png');
    expect(dark.page).not.toBe(light.page);
    expect(dark.card).not.toBe(light.card);
    expect(dark.text).not.toBe(light.text);
    const lum = (c: string) => {
      const [r, g, b] = c.match(/\d+/g)!.map(Number);
      return (r + g + b) / 3;
    };
    expect(lum(light.card)).toBeGreaterThan(200);
    expect(lum(dark.card)).toBeLessThan(60);
    expect(lum(dark.text)).toBeGreaterThan(180);
    // form controls and scrollbars follow too
    expect(light.scheme).toContain('dark');
  });

  for (const scheme of ['light', 'dark'] as const)
    it(`${scheme}: text >= 4.5:1 (badges of every status, the progress label beside its bar, muted text), non-text >= 3:1 (track vs card, fill vs track, input borders)`, async () => {
      const page = await openBoard(1024, { scheme });
      const m = await measureContrast(page);
      const badges = m.text.filter((p) => p.what.startsWith('badge ')).map((p) => p.what.slice(6));
      expect(new Set(badges)).toEqual(
        new Set(['queued', 'running', 'completed', 'failed', 'cancelled', 'pending', 'skipped']),
      );
      expect(m.notes).toEqual(['label beside the track']);
      expect(m.nonText.filter((p) => p.what.startsWith('border #')).length).toBeGreaterThanOrEqual(3);
      expect(below(m.text, 4.5)).toEqual([]);
      expect(below(m.nonText, 3)).toEqual([]);

      // the sign-in form's input, too
      await page.getByRole('button', { name: 'Change key' }).click();
      const input = page.getByTestId('key-input');
      await eventually(async () => expect(await input.isVisible()).toBe(true));
      const inputBorder = await input.evaluate((el) => {
        const lum = (c: string) => {
          const [r, g, b] = c
            .match(/\d+(\.\d+)?/g)!
            .slice(0, 3)
            .map((v) => {
              const s = Number(v) / 255;
              return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
            });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const a = lum(getComputedStyle(el).borderTopColor);
        const b = lum(getComputedStyle(el.closest('.card')!).backgroundColor);
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      });
      expect(inputBorder).toBeGreaterThanOrEqual(3);
    });

  it('the focus ring is visible: a 2 px or wider outline, >= 3:1 against the card, in both schemes', async () => {
    const page = await openBoard(1024);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.locator('#filter-status').focus();
      await page.keyboard.press('Tab'); // keyboard focus: :focus-visible applies
      const ring = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const s = getComputedStyle(el);
        const lum = (c: string) => {
          const [r, g, b] = c
            .match(/\d+(\.\d+)?/g)!
            .slice(0, 3)
            .map((v) => {
              const x = Number(v) / 255;
              return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
            });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const a = lum(s.outlineColor);
        const b = lum(getComputedStyle(el.closest('.card')!).backgroundColor);
        return {
          id: el.id,
          style: s.outlineStyle,
          width: parseFloat(s.outlineWidth),
          ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
        };
      });
      expect(ring.id).toBe('filter-type');
      expect(ring.style).not.toBe('none');
      expect(ring.width).toBeGreaterThanOrEqual(2);
      expect(ring.ratio).toBeGreaterThanOrEqual(3);
    }
  });

  for (const [scheme, width] of [
    ['light', 1024],
    ['dark', 1024],
    ['light', 420],
  ] as const)
    it(`axe-core finds no serious or critical violation (${scheme}, ${width} px, a workflow open, a queue)`, async () => {
      const page = await openBoard(width, { scheme, bypassCSP: true });
      await eventually(async () =>
        expect(await page.getByTestId('worker-list').textContent()).toContain('render-worker-1'),
      );
      expect(await axeSeriousOrCritical(page)).toEqual([]);
    });

  it('axe-core finds no serious or critical violation on the sign-in form', async () => {
    const ctx = await browser.newContext({ viewport: { width: 420, height: 800 }, bypassCSP: true });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(fx.server.url + '/');
    await eventually(async () => expect(await page.getByTestId('key-input').isVisible()).toBe(true));
    expect(await axeSeriousOrCritical(page)).toEqual([]);
  });

  it('keyboard: the skip link is the first Tab stop, shows itself, and moves focus to the workflow list', async () => {
    const page = await openBoard(1024, { path: `#/p/${P}` });
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const r = el.getBoundingClientRect();
      return { testid: el.dataset.testid, text: el.textContent, top: r.top, height: r.height };
    });
    expect(first).toMatchObject({ testid: 'skip-link', text: 'Skip to the workflow list' });
    expect(first.top).toBeGreaterThanOrEqual(0);
    expect(first.height).toBeGreaterThan(10);
    await page.keyboard.press('Enter');
    await eventually(async () =>
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('workflow-list'),
    );
    // the next Tab is the first row
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate(() => document.activeElement?.closest('[data-testid="workflow-item"]') !== null),
    ).toBe(true);
  });

  // following the skip link must not change location.hash to "#workflow-list", which the router would read
  // as "no workflow" and close the open one: the page focuses the list itself
  it('keyboard: the skip link keeps the open workflow and its deep link', async () => {
    const page = await openBoard(1024);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await eventually(async () =>
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('workflow-list'),
    );
    expect(await page.evaluate(() => location.hash)).toBe(`#/p/${P}/w/${OPEN}`);
    expect(await page.locator('#detail-body').isVisible()).toBe(true);
    // and Tab goes on to the open workflow's row, the list's one Tab stop
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate(
        () =>
          (document.activeElement?.closest('[data-testid="workflow-item"]') as HTMLElement | null)?.dataset
            .workflowId,
      ),
    ).toBe(OPEN);
  });
});
