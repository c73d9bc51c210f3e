import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../test/support/browser';
import { fmt, freshDatabase, Kind, log, ms, ROOT, sleep } from './common';
import { rendererCpu, summarizeTrace, type TraceSummary } from './dashboard-trace';
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
 *    `Performance.getMetrics` TaskDuration (and its Script/Layout/RecalcStyle parts) and ThreadTime, the median
 *    of WINDOWS windows of WINDOW_S seconds, with the list only, then with one of the updating workflows open.
 *    Checked two other ways in the same run: the renderer's main-thread CPU read from /proc (the OS's count,
 *    not the browser's), and one more window traced (BENCH_DASH_TRACE=0 skips it) whose top-level tasks on the
 *    renderer main thread are summed and broken down by what ran (dashboard-trace.ts);
 *    BENCH_DASH_PROFILE=1 also records a CPU profile of the page per measure (bench/profiles/, top functions logged);
 *  - bundle size: every script and stylesheet the page loaded (recorded in the browser), gzipped at level 9.
 */

const WORKFLOWS = Number(process.env.BENCH_DASH_WORKFLOWS ?? 1000);
const LIVE = 50;
const UPDATES_PER_S = 10;
const RUNS = Number(process.env.BENCH_DASH_RUNS ?? 3);
const WINDOW_S = Number(process.env.BENCH_DASH_WINDOW_S ?? 10);
const WINDOWS = Number(process.env.BENCH_DASH_WINDOWS ?? 3);
const TRACE = process.env.BENCH_DASH_TRACE !== '0';
const PROFILE = !!process.env.BENCH_DASH_PROFILE;
const TRACE_S = 5;
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR ?? join(ROOT, 'bench', 'profiles');
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

export interface Window {
  seconds: number;
  /** ms of main-thread time per second of wall clock (TaskDuration). */
  task: number;
  /** CPU time of the renderer's main thread (ThreadTime): what the tasks cost without waiting for a core. */
  cpu: number;
  script: number;
  layout: number;
  style: number;
  /** the OS's count (/proc) for the renderer processes: their main threads, and the whole processes (ms/s) */
  osMain: number;
  osProcess: number;
  /** load average (1 min) before and after the window */
  load: [number, number];
  updatesPerS: number;
}

export interface MainThread {
  label: string;
  /** every window, in order; the figures below are their medians */
  windows: Window[];
  seconds: number;
  /** ms of main-thread time per second of wall clock (median of the windows). */
  task: number;
  /** CPU time of the renderer's main thread (ThreadTime), median of the windows. */
  cpu: number;
  script: number;
  layout: number;
  style: number;
  osMain: number;
  osProcess: number;
  /** Progress updates the producer got answered 200 per second meanwhile. */
  updatesPerS: number;
  /** a traced window: the trace's own sums beside TaskDuration/ThreadTime read over the same window */
  trace?: TraceSummary & { metricsTask: number; metricsCpu: number };
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

type Cdp = { send: (m: any, p?: any) => Promise<any>; detach: () => Promise<void> };

/** The renderer processes' ids, from the browser itself. */
async function rendererPids(browser: Browser): Promise<number[]> {
  const cdp = (await browser.newBrowserCDPSession()) as unknown as Cdp;
  try {
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as {
      processInfo: { type: string; id: number }[];
    };
    return info.processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
  } finally {
    await cdp.detach();
  }
}

async function measureWindow(
  cdp: Cdp,
  pids: number[],
  producer: { counts: () => { ok: number; failed: number } },
  seconds: number,
): Promise<Window & { failed: number }> {
  const load0 = loadavg()[0];
  const os0 = rendererCpu(pids);
  const a = await metrics(cdp);
  const c0 = producer.counts();
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const b = await metrics(cdp);
  const os1 = rendererCpu(pids);
  const c1 = producer.counts();
  const s = (Date.now() - t0) / 1000;
  const per = (name: string) => ((b[name] - a[name]) * 1000) / s;
  return {
    seconds: s,
    task: per('TaskDuration'),
    cpu: per('ThreadTime'),
    script: per('ScriptDuration'),
    layout: per('LayoutDuration'),
    style: per('RecalcStyleDuration'),
    osMain: (os1.main - os0.main) / s,
    osProcess: (os1.process - os0.process) / s,
    load: [load0, loadavg()[0]],
    updatesPerS: (c1.ok - c0.ok) / s,
    failed: c1.failed - c0.failed,
  };
}

/** Top functions of a CPU profile by self time (ms per s of the profile). */
function profileTop(profile: any, n = 12): string[] {
  const nodes = profile.nodes as { id: number; callFrame: any; hitCount?: number }[];
  const total = nodes.reduce((k, x) => k + (x.hitCount ?? 0), 0);
  const s = (profile.endTime - profile.startTime) / 1e6;
  const per = total ? s / total : 0;
  const self = new Map<string, number>();
  for (const x of nodes) {
    const f = x.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}:${f.columnNumber + 1}` : '';
    const k = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(k, (self.get(k) ?? 0) + (x.hitCount ?? 0) * per * 1000);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${ms(v / s)} ms/s  ${k}`);
}

async function measureMainThread(
  browser: Browser,
  page: Page,
  ctx: BrowserContext,
  producer: { counts: () => { ok: number; failed: number } },
  label: string,
  tag: string,
): Promise<MainThread> {
  const cdp = (await ctx.newCDPSession(page)) as unknown as Cdp;
  await cdp.send('Performance.enable', { timeDomain: 'timeTicks' });
  const pids = await rendererPids(browser);
  const windows: (Window & { failed: number })[] = [];
  for (let i = 0; i < WINDOWS; i++) {
    const w = await measureWindow(cdp, pids, producer, WINDOW_S);
    log(
      `dashboard/${tag}: ${label} window ${i + 1}: ${ms(w.task)} ms/s wall, ${ms(w.cpu)} CPU (OS: main thread ${ms(w.osMain)}, renderer ${ms(w.osProcess)}); load ${w.load.map((x) => x.toFixed(2)).join(' → ')}`,
    );
    windows.push(w);
  }
  let trace: MainThread['trace'];
  if (TRACE) {
    await browser.startTracing(page, {
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel', 'v8', 'blink'],
    });
    const a = await metrics(cdp);
    const t0 = Date.now();
    await sleep(TRACE_S * 1000);
    const b = await metrics(cdp);
    const s = (Date.now() - t0) / 1000;
    const sum = summarizeTrace(await browser.stopTracing());
    if (sum) {
      trace = {
        ...sum,
        metricsTask: ((b.TaskDuration - a.TaskDuration) * 1000) / s,
        metricsCpu: ((b.ThreadTime - a.ThreadTime) * 1000) / s,
      };
      log(
        `dashboard/${tag}: ${label} traced ${TRACE_S} s: trace ${ms(trace.taskMsPerS)} ms/s wall, ${ms(trace.cpuMsPerS)} CPU; ` +
          `TaskDuration ${ms(trace.metricsTask)}, ThreadTime ${ms(trace.metricsCpu)} over the same window; ` +
          Object.entries(trace.buckets)
            .sort((x, y) => y[1] - x[1])
            .map(([k, v]) => `${k} ${ms(v)}`)
            .join(', '),
      );
      log(`  top self time: ${trace.top.map((t) => `${t.name} ${ms(t.msPerS)}`).join(', ')}`);
    }
  }
  if (PROFILE) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    await sleep(WINDOW_S * 1000);
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    const file = join(PROFILE_DIR, `dashboard-${tag}-${label.replace(/\W+/g, '-')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    log(
      `dashboard/${tag}: ${label} CPU profile ${file}; top self time:\n  ${profileTop(profile).join('\n  ')}`,
    );
  }
  await cdp.detach();
  const med = (f: (w: Window) => number) => median(windows.map(f));
  const failed = windows.reduce((n, w) => n + w.failed, 0);
  return {
    label,
    windows: windows.map(({ failed: _f, ...w }) => w),
    seconds: windows.reduce((n, w) => n + w.seconds, 0),
    task: med((w) => w.task),
    cpu: med((w) => w.cpu),
    script: med((w) => w.script),
    layout: med((w) => w.layout),
    style: med((w) => w.style),
    osMain: med((w) => w.osMain),
    osProcess: med((w) => w.osProcess),
    updatesPerS: med((w) => w.updatesPerS),
    trace,
    keptUp: null,
    note: failed ? `${failed} updates failed` : undefined,
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
            r.mainThread.push(await measureMainThread(browser, page, ctx, prod, 'list', kind));
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
              await measureMainThread(
                browser,
                page,
                ctx,
                prod,
                opened ? 'list + one updating workflow open' : 'list',
                kind,
              ),
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
              `dashboard/${kind}: ${m.label}: ${ms(m.task)} ms/s main thread, ${ms(m.cpu)} ms/s CPU, OS main thread ${ms(m.osMain)} (script ${ms(m.script)}, layout ${ms(m.layout)}, style ${ms(m.style)}) at ${fmt(m.updatesPerS)} updates/s; medians of ${m.windows.length}`,
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
      `delta, the same thread's CPU time, lower than TaskDuration when the thread waits for a core on a busy machine); ` +
      `the median of ${WINDOWS} windows of ${WINDOW_S} s, each window's figures and the 1-minute load average before → after it listed below the table; ` +
      `OS = the renderer's main thread CPU read from /proc over the same windows (a count outside the browser); ` +
      `trace = one more ${TRACE_S} s window under a Chromium trace: the renderer main thread's top-level tasks summed ` +
      `(wall and thread time) beside TaskDuration/ThreadTime of that same window, and their self time by kind; measured while ${LIVE} workflows get ${UPDATES_PER_S} ` +
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
        `| ${r.db} | main thread, ${m.label} (wall / CPU / OS main-thread CPU; script / layout / style) | ${ms(m.task)} / ` +
          `${ms(m.cpu)} / ${ms(m.osMain)} ms/s (${ms(m.script)} / ${ms(m.layout)} / ${ms(m.style)}) at ${fmt(m.updatesPerS)} updates/s` +
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
  lines.push(
    '',
    'Main-thread windows (wall / CPU / OS main thread / OS whole renderer, ms/s; load average before → after):',
    '',
  );
  for (const r of rows)
    for (const m of r.mainThread) {
      lines.push(
        `- ${r.db}, ${m.label}: ` +
          m.windows
            .map(
              (w) =>
                `${ms(w.task)} / ${ms(w.cpu)} / ${ms(w.osMain)} / ${ms(w.osProcess)} (load ${w.load.map((x) => x.toFixed(2)).join(' → ')})`,
            )
            .join('; '),
      );
      const t = m.trace;
      if (t)
        lines.push(
          `  - traced ${fmt(t.windowS, 1)} s: trace ${ms(t.taskMsPerS)} ms/s wall, ${ms(t.cpuMsPerS)} CPU; TaskDuration ` +
            `${ms(t.metricsTask)}, ThreadTime ${ms(t.metricsCpu)} over the same window; self time: ` +
            Object.entries(t.buckets)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => `${k} ${ms(v)}`)
              .join(', ') +
            `; top: ${t.top
              .slice(0, 6)
              .map((x) => `${x.name} ${ms(x.msPerS)}`)
              .join(', ')}`,
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
