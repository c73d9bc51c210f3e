import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../test/support/browser';
import { fmt, freshDatabase, Kind, log, ms, sleep } from './common';
import { api } from './http';
import { ADMIN_TOKEN, startServer } from './server';

/**
 * The dashboard in Debian's Chromium (playwright-core), measured only through the browser and the server's
 * HTTP answers, never by reading the page's source files: it keeps measuring whatever the app serves at `/`.
 *
 *  - time to first live view: a project with WORKFLOWS workflows (LIVE running + the rest finished), a fresh
 *    browser context with a viewer key in localStorage, from navigation (the document's time origin) until
 *    the list shows at least one `workflow-item` and the `connection` indicator reads "live"; median of RUNS;
 *  - main-thread time per second: LIVE workflows each updated UPDATES_PER_S times a second (a producer posts
 *    one `POST /api/progress` of LIVE updates every 1000/UPDATES_PER_S ms); the Chrome DevTools Protocol's
 *    `Performance.getMetrics` TaskDuration (and its Script/Layout/RecalcStyle parts) over WINDOW_S seconds,
 *    with the list only, then with one of the updating workflows open;
 *  - bundle size: every script and stylesheet the page loaded (recorded in the browser), gzipped at level 9.
 */

const WORKFLOWS = Number(process.env.BENCH_DASH_WORKFLOWS ?? 1000);
const LIVE = 50;
const UPDATES_PER_S = 10;
const RUNS = Number(process.env.BENCH_DASH_RUNS ?? 3);
const WINDOW_S = Number(process.env.BENCH_DASH_WINDOW_S ?? 10);
const PROJECT = 'dash-bench';
const STEP_TOTAL = 1000;

export const DASHBOARD_GOALS = { mainThreadMsPerS: 100, bundleGzBytes: 150 * 1024 };

export interface BundleFile {
  url: string;
  type: string;
  raw: number;
  gz: number;
  /** Content-Encoding the server answered with ('' = none). */
  encoding: string;
}

export interface MainThread {
  label: string;
  seconds: number;
  /** ms of main-thread time per second of wall clock. */
  task: number;
  /** CPU time of the renderer's main thread (ThreadTime): what the tasks cost without waiting for a core. */
  cpu: number;
  script: number;
  layout: number;
  style: number;
  /** Progress updates the producer got answered 200 per second meanwhile. */
  updatesPerS: number;
  /** Whether the page showed the last posted value of a watched workflow afterwards (null: not checked). */
  keptUp: boolean | null;
  note?: string;
}

export interface DashboardResult {
  db: Kind;
  workflows: number;
  firstLiveMs: number[];
  /** Rows the list showed at that moment, per run. */
  rowsShown: number[];
  domContentLoadedMs: number[];
  mainThread: MainThread[];
  bundle: BundleFile[];
  html: { raw: number; gz: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function must(base: string, token: string, path: string, body: unknown, status = 200): Promise<any> {
  const res = await api(base, token, path, body);
  if (res.status !== status) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const liveId = (i: number) => `live-${String(i).padStart(2, '0')}`;

/**
 * WORKFLOWS − LIVE finished workflows (most completed, some failed or cancelled), then LIVE running ones
 * created last (the newest: the top of the list), each with its first step started. Everything over REST
 * as a producer would; progress goes in batches through `POST /api/progress`.
 */
async function seedProject(base: string, producer: string): Promise<void> {
  const history = Array.from({ length: WORKFLOWS - LIVE }, (_, i) => i);
  const types = ['thumbnail', 'transcode', 'ingest', 'report'];
  await pool(history, 16, async (i) => {
    const id = `hist-${String(i).padStart(4, '0')}`;
    await must(
      base,
      producer,
      `/api/projects/${PROJECT}/workflows`,
      { id, type: types[i % types.length], name: `Batch ${i}`, steps: [{ id: 's' }] },
      201,
    );
    if (i % 20 === 7)
      await must(base, producer, `/api/workflows/${id}/steps/s/fail`, {
        error: { message: 'upstream timed out', code: 'timeout' },
      });
    else if (i % 20 === 13) await must(base, producer, `/api/workflows/${id}/cancel`, { reason: 'bench' });
    else await must(base, producer, `/api/workflows/${id}/steps/s/complete`, { result: { ok: true } });
  });
  for (let i = 0; i < LIVE; i++)
    await must(
      base,
      producer,
      `/api/projects/${PROJECT}/workflows`,
      {
        id: liveId(i),
        type: 'transcode',
        name: `Live transcode ${i}`,
        steps: [
          { id: 'fetch', weight: 1 },
          { id: 'encode', weight: 8 },
          { id: 'upload', weight: 1 },
        ],
      },
      201,
    );
  await must(base, producer, '/api/progress', {
    updates: Array.from({ length: LIVE }, (_, i) => ({
      workflowId: liveId(i),
      stepId: 'encode',
      current: 0,
      total: STEP_TOTAL,
      message: 'starting',
    })),
  });
}

/** A fresh context (empty cache and storage) whose localStorage holds the key before the page's scripts run. */
async function signedInContext(browser: Browser, key: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  await ctx.addInitScript(
    ({ k, p }) => {
      try {
        localStorage.setItem('stepline.key', k);
        localStorage.setItem('stepline.project', p);
      } catch {
        /* ignore */
      }
      // the first moment the list shows a row while the indicator reads "live" (time from navigation)
      const w = window as any;
      const check = () => {
        if (w.__firstLive) return;
        const conn = document.querySelector('[data-testid="connection"]');
        const rows = document.querySelectorAll('[data-testid="workflow-item"]').length;
        if (rows > 0 && conn && (conn.textContent ?? '').trim() === 'live') {
          w.__firstLive = { at: performance.now(), rows };
          obs.disconnect();
        }
      };
      const obs = new MutationObserver(check);
      obs.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    },
    { k: key, p: PROJECT },
  );
  return ctx;
}

async function firstLive(page: Page, url: string): Promise<{ at: number; rows: number; dcl: number }> {
  await page.goto(url);
  await page.waitForFunction(() => (window as any).__firstLive, undefined, { timeout: 120_000 });
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    return { ...(window as any).__firstLive, dcl: nav ? nav.domContentLoadedEventEnd : NaN };
  });
}

/**
 * Each live workflow gets UPDATES_PER_S progress updates a second: LANES producers, each posting one
 * `POST /api/progress` with an update for each of its LIVE / LANES workflows every 1000/UPDATES_PER_S ms
 * (one request at a time per lane, so a workflow's updates stay in order; a lane that fell behind catches up).
 */
const LANES = 5;
function startProducer(base: string, producer: string) {
  let stopped = false;
  let ok = 0;
  let failed = 0;
  const tick = 1000 / UPDATES_PER_S;
  const t0 = Date.now();
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    const ids = Array.from({ length: LIVE }, (_, i) => i)
      .filter((i) => i % LANES === lane)
      .map(liveId);
    let current = 0;
    for (let k = 0; !stopped; k++) {
      current = Math.min(current + 1, STEP_TOTAL);
      const res = await api(base, producer, '/api/progress', {
        updates: ids.map((workflowId) => ({
          workflowId,
          stepId: 'encode',
          current,
          total: STEP_TOTAL,
          message: `frame ${current}`,
        })),
      }).catch(() => ({ status: 0, body: undefined }));
      const good =
        res.status === 200 ? (res.body.results as { ok: boolean }[]).filter((r) => r.ok).length : 0;
      ok += good;
      failed += ids.length - good;
      const wait = t0 + (k + 1) * tick - Date.now();
      if (wait > 0) await sleep(wait);
    }
  });
  return {
    counts: () => ({ ok, failed }),
    stop: async () => {
      stopped = true;
      await Promise.all(lanes);
    },
  };
}

async function metrics(cdp: { send: (m: any, p?: any) => Promise<any> }): Promise<Record<string, number>> {
  const r = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  return Object.fromEntries(r.metrics.map((m) => [m.name, m.value]));
}

async function measureMainThread(
  page: Page,
  ctx: BrowserContext,
  producer: { counts: () => { ok: number; failed: number } },
  label: string,
): Promise<MainThread> {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'timeTicks' });
  const a = await metrics(cdp);
  const c0 = producer.counts();
  const t0 = Date.now();
  await sleep(WINDOW_S * 1000);
  const b = await metrics(cdp);
  const c1 = producer.counts();
  const seconds = (Date.now() - t0) / 1000;
  await cdp.detach();
  const per = (name: string) => ((b[name] - a[name]) * 1000) / seconds;
  return {
    label,
    seconds,
    task: per('TaskDuration'),
    cpu: per('ThreadTime'),
    script: per('ScriptDuration'),
    layout: per('LayoutDuration'),
    style: per('RecalcStyleDuration'),
    updatesPerS: (c1.ok - c0.ok) / seconds,
    keptUp: null,
    note: c1.failed > c0.failed ? `${c1.failed - c0.failed} updates failed` : undefined,
  };
}

/** Whether the page's row (or open detail) for `id` reaches `progress`, within 15 s. */
async function showsProgress(page: Page, id: string, progress: number): Promise<boolean | null> {
  const sel = `[data-testid="workflow-item"][data-workflow-id="${id}"] [role="progressbar"]`;
  if ((await page.locator(sel).count()) === 0) return null;
  try {
    await page.waitForFunction(
      ({ s, p }) => document.querySelector(s)?.getAttribute('aria-valuenow') === String(p),
      { s: sel, p: progress },
      { timeout: 15_000 },
    );
    return true;
  } catch {
    return false;
  }
}

export async function runDashboard(kinds: Kind[]): Promise<DashboardResult[]> {
  const out: DashboardResult[] = [];
  const browser = await launchChromium();
  try {
    for (const kind of kinds) {
      const db = await freshDatabase(kind);
      const server = await startServer(db.url);
      const base = server.url;
      try {
        const producer = (
          await must(
            base,
            ADMIN_TOKEN,
            '/api/keys',
            { name: 'bench-producer', role: 'producer', projects: [PROJECT] },
            201,
          )
        ).key as string;
        const viewer = (
          await must(
            base,
            ADMIN_TOKEN,
            '/api/keys',
            { name: 'bench-viewer', role: 'viewer', projects: [PROJECT] },
            201,
          )
        ).key as string;
        log(`dashboard/${kind}: seeding ${WORKFLOWS} workflows`);
        const t = Date.now();
        await seedProject(base, producer);
        log(`dashboard/${kind}: seeded in ${((Date.now() - t) / 1000).toFixed(1)} s`);
        const url = `${base}/#/p/${PROJECT}`;

        // ---- time to first live view, RUNS fresh contexts (one warm-up first: the server's JIT, not the page's cache)
        const r: DashboardResult = {
          db: kind,
          workflows: WORKFLOWS,
          firstLiveMs: [],
          rowsShown: [],
          domContentLoadedMs: [],
          mainThread: [],
          bundle: [],
          html: { raw: 0, gz: 0 },
        };
        for (let i = 0; i <= RUNS; i++) {
          const ctx = await signedInContext(browser, viewer);
          try {
            const page = await ctx.newPage();
            const files: Promise<BundleFile | null>[] = [];
            if (i === 1)
              page.on('response', (res) => {
                const type = res.request().resourceType();
                if (type === 'document' && res.url().startsWith(base))
                  files.push(
                    res.body().then((b) => {
                      r.html = { raw: b.length, gz: gzipSync(b, { level: 9 }).length };
                      return null;
                    }),
                  );
                if (type !== 'script' && type !== 'stylesheet') return;
                files.push(
                  res
                    .body()
                    .then((b) => ({
                      url: res.url().replace(base, ''),
                      type,
                      raw: b.length,
                      gz: gzipSync(b, { level: 9 }).length,
                      encoding: res.headers()['content-encoding'] ?? '',
                    }))
                    .catch(() => null),
                );
              });
            const f = await firstLive(page, url);
            if (i === 0) continue;
            r.firstLiveMs.push(f.at);
            r.rowsShown.push(f.rows);
            r.domContentLoadedMs.push(f.dcl);
            log(
              `dashboard/${kind}: first live view ${ms(f.at)} ms (${f.rows} rows; DOMContentLoaded ${ms(f.dcl)} ms)`,
            );
            if (i === 1) {
              await sleep(1000); // late chunks (lazy imports) land too
              r.bundle = (await Promise.all(files)).filter((x): x is BundleFile => x !== null);
            }
          } finally {
            await ctx.close();
          }
        }

        // ---- main-thread time while LIVE workflows update UPDATES_PER_S times a second each
        const ctx = await signedInContext(browser, viewer);
        try {
          const page = await ctx.newPage();
          await firstLive(page, url);
          const prod = startProducer(base, producer);
          try {
            await sleep(2000); // warm-up: the page's handlers and the server's paths
            log(`dashboard/${kind}: main thread, list only, ${WINDOW_S} s`);
            r.mainThread.push(await measureMainThread(page, ctx, prod, 'list'));
            const watched = liveId(0);
            const item = page.locator(`[data-testid="workflow-item"][data-workflow-id="${watched}"]`);
            let opened = false;
            if ((await item.count()) > 0) {
              await item.first().getByRole('button').first().click();
              opened = true;
              await sleep(1000);
            }
            log(`dashboard/${kind}: main thread, ${opened ? 'one workflow open' : 'list (no row to open)'}`);
            r.mainThread.push(
              await measureMainThread(page, ctx, prod, opened ? 'list + one updating workflow open' : 'list'),
            );
          } finally {
            await prod.stop();
          }
          const wf = await (
            await fetch(`${base}/api/workflows/${liveId(0)}`, {
              headers: { authorization: `Bearer ${viewer}` },
            })
          ).json();
          const kept = await showsProgress(page, liveId(0), (wf as { progress: number }).progress);
          for (const m of r.mainThread) m.keptUp = kept;
          for (const m of r.mainThread)
            log(
              `dashboard/${kind}: ${m.label}: ${ms(m.task)} ms/s main thread, ${ms(m.cpu)} ms/s CPU (script ${ms(m.script)}, layout ${ms(m.layout)}, style ${ms(m.style)}) at ${fmt(m.updatesPerS)} updates/s`,
            );
        } finally {
          await ctx.close();
        }
        out.push(r);
      } finally {
        const died = server.exit();
        if (died) log(`the server ${died} during the run; its last output:\n${server.output().slice(-3000)}`);
        await server.stop();
        await db.drop();
      }
    }
  } finally {
    await browser.close();
  }
  return out;
}

const kb = (n: number) => `${fmt(n / 1024, 1)} KB`;

export function dashboardReport(rows: DashboardResult[]): string {
  const g = DASHBOARD_GOALS;
  const lines = [
    '## Dashboard in the browser (issue 18)',
    '',
    `Debian Chromium (headless, playwright-core) against the built server; the page is measured only through the browser ` +
      `and the server's HTTP answers. first live view = from navigation (the document's time origin) to the first ` +
      `moment the list shows a workflow row while the connection indicator reads "live", in a fresh browser context ` +
      `(empty cache) with a viewer key already in localStorage, a project of ${fmt(WORKFLOWS)} workflows ` +
      `(${fmt(WORKFLOWS - LIVE)} finished, ${LIVE} running); median of ${RUNS} after one warm-up. ` +
      `main thread = Chrome DevTools Protocol \`Performance.getMetrics\` TaskDuration delta (the wall time of the ` +
      `renderer main thread's tasks; script, layout and style recalculation are parts of it; CPU = its ThreadTime ` +
      `delta, the same thread's CPU time, lower than TaskDuration when the thread waits for a core on a busy machine) over ${WINDOW_S} s while ${LIVE} workflows get ${UPDATES_PER_S} ` +
      `progress updates a second each (${LANES} producers, each posting one \`POST /api/progress\` of ${LIVE / LANES} ` +
      `updates every ${1000 / UPDATES_PER_S} ms), with the list only, then with one updating workflow open; "kept up" = the row ` +
      `of that workflow showed the server's final progress afterwards. bundle = every script and stylesheet the ` +
      `page loaded (recorded in the browser), each gzipped at level 9 and summed.`,
    '',
    '| db | measure | measured | goal | result |',
    '| --- | --- | --: | --: | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.db} | time to first live view, ${fmt(r.workflows)} workflows (median; runs) | ${ms(median(r.firstLiveMs))} ms ` +
        `(${r.firstLiveMs.map((x) => ms(x)).join(' / ')}; ${median(r.rowsShown)} rows) | – | – |`,
    );
    lines.push(`| ${r.db} | DOMContentLoaded (median) | ${ms(median(r.domContentLoadedMs))} ms | – | – |`);
    for (const m of r.mainThread)
      lines.push(
        `| ${r.db} | main thread, ${m.label} (CPU; script / layout / style) | ${ms(m.task)} ms/s ` +
          `(${ms(m.cpu)}; ${ms(m.script)} / ${ms(m.layout)} / ${ms(m.style)}) at ${fmt(m.updatesPerS)} updates/s` +
          `${m.keptUp === null ? ', kept up: not checked' : m.keptUp ? ', kept up' : ', **did not keep up**'}` +
          `${m.note ? ` (${m.note})` : ''} | < ${g.mainThreadMsPerS} ms/s | ${m.task < g.mainThreadMsPerS ? 'pass' : '**FAIL**'} |`,
      );
    const raw = r.bundle.reduce((n, f) => n + f.raw, 0);
    const gz = r.bundle.reduce((n, f) => n + f.gz, 0);
    lines.push(
      `| ${r.db} | bundle, ${r.bundle.length} scripts and stylesheets (raw → gzip -9) | ${kb(raw)} → ${kb(gz)} | ` +
        `< ${kb(g.bundleGzBytes)} gz | ${gz < g.bundleGzBytes ? 'pass' : '**FAIL**'} |`,
    );
  }
  const first = rows.find((r) => r.bundle.length);
  if (first) {
    lines.push('', 'The files (raw → gzip -9; what the server sent as Content-Encoding):', '');
    lines.push('| file | type | raw | gz | sent as |', '| --- | --- | --: | --: | --- |');
    for (const f of first.bundle)
      lines.push(`| \`${f.url}\` | ${f.type} | ${kb(f.raw)} | ${kb(f.gz)} | ${f.encoding || 'identity'} |`);
    lines.push(
      `| (the HTML document, not counted) | document | ${kb(first.html.raw)} | ${kb(first.html.gz)} | |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
