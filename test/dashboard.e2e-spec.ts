import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { eventually, launchChromium } from './support/browser';
import { client, Client, createKey } from './support/http';
import { sleep } from './support/live-clients';
import { ServerFixture, useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * The dashboard (CONTRACT §8) in a real browser: Debian's Chromium driven by playwright-core, against the
 * real server process, with producers writing over REST. One server for the file (restarted on the same
 * port and database by the outage test), a fresh browser context (empty localStorage) per test.
 */

const ARTIFACTS = join(__dirname, 'artifacts');

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

// ---- helpers -------------------------------------------------------------------------------------------

interface Watched {
  page: Page;
  /** Uncaught exceptions and CSP violations in the page: there must be none. */
  problems: string[];
  /** Every URL the page requested. */
  requests: string[];
}

async function newContext(): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  contexts.push(ctx);
  return ctx;
}

async function openPage(ctx: BrowserContext, path = '/'): Promise<Watched> {
  const page = await ctx.newPage();
  const w: Watched = { page, problems: [], requests: [] };
  page.on('pageerror', (e) => w.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) w.problems.push(`csp: ${m.text()}`);
  });
  page.on('request', (r) => w.requests.push(r.url()));
  await page.goto(server.url + path);
  return w;
}

const connection = (page: Page) => page.getByTestId('connection');

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
}

async function pickProject(page: Page, project: string): Promise<void> {
  await page.getByLabel('Project', { exact: true }).selectOption(project);
  await eventually(async () => expect(await connection(page).textContent()).toBe('live'));
}

const workflowItem = (page: Page, id: string) =>
  page.locator(`[data-testid="workflow-item"][data-workflow-id="${id}"]`);

async function openWorkflow(page: Page, id: string): Promise<void> {
  await workflowItem(page, id).getByRole('button').click();
  await eventually(async () =>
    expect(await page.getByTestId('detail-meta').textContent()).toContain(`id ${id}`),
  );
}

const step = (page: Page, stepId: string) => page.locator(`[data-testid="step"][data-step-id="${stepId}"]`);

/** What the page shows for one step: the text, the progressbar's ARIA values, message and status. */
async function stepView(page: Page, stepId: string) {
  const s = step(page, stepId);
  const bar = s.getByRole('progressbar');
  return {
    count: (await s.getByTestId('step-count').textContent())?.trim(),
    valuenow: await bar.getAttribute('aria-valuenow'),
    valuemax: await bar.getAttribute('aria-valuemax'),
    message: (await s.getByTestId('step-message').textContent())?.trim(),
    status: (await s.getByTestId('step-status').textContent())?.trim(),
  };
}

/** The step as the server has it, in the page's terms. */
function expectedStep(st: any) {
  const counted = typeof st.current === 'number' && typeof st.total === 'number';
  return {
    count: counted ? `${st.current} / ${st.total}` : `${st.progress} %`,
    valuenow: String(counted ? st.current : st.progress),
    valuemax: String(counted ? st.total : 100),
    message: st.message ?? '',
    status: st.status,
  };
}

async function logIds(page: Page): Promise<number[]> {
  return page
    .getByTestId('log-line')
    .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.logId)));
}

async function serverLogIds(api: Client, workflowId: string): Promise<number[]> {
  const res = await api.get(`/api/workflows/${workflowId}/logs?after=0&limit=1000`);
  expect(res.status).toBe(200);
  return (res.body.items as Array<{ id: number }>).map((l) => l.id);
}

/** The page shows exactly the server's state of the workflow: every step, overall progress, status, logs. */
async function expectPageMatchesServer(page: Page, api: Client, workflowId: string): Promise<void> {
  const wf = (await api.get(`/api/workflows/${workflowId}`)).body;
  const logs = await serverLogIds(api, workflowId);
  await eventually(async () => {
    for (const st of wf.steps)
      expect({ step: st.id, ...(await stepView(page, st.id)) }).toEqual({
        step: st.id,
        ...expectedStep(st),
      });
    expect(await page.getByTestId('detail-progress').getAttribute('aria-valuenow')).toBe(String(wf.progress));
    expect((await page.getByTestId('detail-status').textContent())?.trim()).toBe(wf.status);
    expect(await logIds(page)).toEqual(logs);
  });
}

async function ok(res: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Records every text the connection indicator shows, in order. */
async function recordConnection(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="connection"]')!;
    const seen: string[] = [el.textContent ?? ''];
    (window as any).__connSeen = seen;
    new MutationObserver(() => {
      const t = el.textContent ?? '';
      if (seen[seen.length - 1] !== t) seen.push(t);
    }).observe(el, { childList: true, characterData: true, subtree: true });
  });
  return () => page.evaluate(() => (window as any).__connSeen as string[]);
}

// ---- tests ---------------------------------------------------------------------------------------------

describe('dashboard (browser)', () => {
  it('a producer enters the key once, picks a project, and sees step bars move to the exact values posted and log lines appear; everything comes from this server; screenshot', async () => {
    const key = await createKey(admin, 'producer', ['dash', 'dash-other']);
    const api = client(server.url, key);
    await ok(
      api.post('/api/projects/dash/workflows', {
        id: 'dash-doc',
        type: 'document-processing',
        name: 'Quarterly report',
        steps: [
          { id: 'parsing', name: 'Parsing', weight: 15 },
          { id: 'analyzing', name: 'Analyzing', weight: 60 },
          { id: 'rendering', name: 'Rendering', weight: 25 },
        ],
      }),
      201,
    );
    await ok(
      api.post('/api/projects/dash/workflows', {
        id: 'dash-img',
        type: 'image-resize',
        steps: [{ id: 'resize' }],
      }),
      201,
    );
    await ok(
      api.post('/api/projects/dash-other/workflows', { id: 'other-wf', type: 'x', steps: [{ id: 's' }] }),
      201,
    );
    // a queue with one workflow claimed by a worker and one waiting
    for (const id of ['dash-q1', 'dash-q2'])
      await ok(
        api.post('/api/projects/dash/workflows', {
          id,
          type: 'render',
          queue: 'render-farm',
          steps: [{ id: 'r' }],
        }),
        201,
      );
    const claimed = await ok(
      api.post('/api/queues/render-farm/claim', { workerId: 'render-worker-1', leaseMs: 600_000 }),
    );
    expect(claimed.workflow.id).toBe('dash-q1');

    const ctx = await newContext();
    const { page, problems, requests } = await openPage(ctx);
    await signIn(page, key);
    // the picker lists the key's projects
    await eventually(async () =>
      expect(
        await page
          .getByLabel('Project', { exact: true })
          .locator('option')
          .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
      ).toEqual(['dash', 'dash-other']),
    );
    await pickProject(page, 'dash');
    expect(await page.evaluate(() => localStorage.getItem('stepline.key'))).toBe(key);
    await eventually(async () => {
      expect(await workflowItem(page, 'dash-doc').count()).toBe(1);
      expect(await workflowItem(page, 'dash-img').count()).toBe(1);
    });
    expect(await workflowItem(page, 'other-wf').count()).toBe(0);

    // the queue panel: counts over the key's projects, the worker, the project's waiting line
    await eventually(async () => {
      expect(await page.locator('[data-testid="queue"][data-queue="render-farm"]').textContent()).toContain(
        '1 queued · 1 running',
      );
      expect(await page.getByTestId('worker-list').textContent()).toContain('render-worker-1 on render-farm');
      expect(await page.getByTestId('project-queue').textContent()).toContain('#1 dash-q2 on render-farm');
    });

    // filters: by type, by status
    await page.getByLabel('Type', { exact: true }).fill('image-resize');
    await eventually(async () => expect(await workflowItem(page, 'dash-doc').count()).toBe(0));
    expect(await workflowItem(page, 'dash-img').count()).toBe(1);
    await page.getByLabel('Type', { exact: true }).fill('');
    await ok(api.post('/api/workflows/dash-doc/steps/parsing/start', { message: 'opening file' }));
    await page.getByLabel('Status', { exact: true }).selectOption('running');
    await eventually(async () => {
      expect(await workflowItem(page, 'dash-doc').count()).toBe(1);
      expect(await workflowItem(page, 'dash-img').count()).toBe(0);
    });
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await eventually(async () => expect(await workflowItem(page, 'dash-img').count()).toBe(1));

    await openWorkflow(page, 'dash-doc');
    let wf = await ok(
      api.post('/api/workflows/dash-doc/steps/parsing/progress', {
        current: 37,
        total: 120,
        message: 'page 37 of 120',
      }),
    );
    await eventually(async () =>
      expect(await stepView(page, 'parsing')).toEqual({
        count: '37 / 120',
        valuenow: '37',
        valuemax: '120',
        message: 'page 37 of 120',
        status: 'running',
      }),
    );
    expect(await page.getByTestId('detail-progress').getAttribute('aria-valuenow')).toBe(String(wf.progress));

    wf = await ok(
      api.post('/api/workflows/dash-doc/steps/parsing/progress', {
        current: 120,
        total: 120,
        message: 'done',
      }),
    );
    await ok(api.post('/api/workflows/dash-doc/steps/parsing/complete', {}));
    wf = await ok(
      api.post('/api/workflows/dash-doc/steps/analyzing/progress', { progress: 42, message: 'model pass 1' }),
    );
    await eventually(async () => {
      expect(await stepView(page, 'parsing')).toMatchObject({ count: '120 / 120', status: 'completed' });
      expect(await stepView(page, 'analyzing')).toEqual({
        count: '42 %',
        valuenow: '42',
        valuemax: '100',
        message: 'model pass 1',
        status: 'running',
      });
      expect(await page.getByTestId('detail-progress').getAttribute('aria-valuenow')).toBe(
        String(wf.progress),
      );
    });
    expect(wf.progress).toBe(Math.floor((15 * 100 + 60 * 42) / 100));
    expect((await page.getByTestId('detail-status').textContent())?.trim()).toBe('running');
    expect((await page.getByTestId('detail-eta').textContent())?.trim()).toMatch(/left|unknown|overdue/);

    const log = await ok(
      api.post('/api/workflows/dash-doc/logs', {
        level: 'warning',
        message: 'table 7 has no header',
        stepId: 'analyzing',
      }),
      201,
    );
    const line = page.locator(`[data-testid="log-line"][data-log-id="${log.id}"]`);
    await eventually(async () =>
      expect(await line.textContent()).toContain('[analyzing] table 7 has no header'),
    );
    expect(await line.locator('.log-level').textContent()).toBe('warning');
    await expectPageMatchesServer(page, api, 'dash-doc');

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // a producer may cancel: the button is there, and the page shows the outcome
    const cancel = page.getByRole('button', { name: 'Cancel workflow' });
    expect(await cancel.isVisible()).toBe(true);
    await cancel.click();
    // it asks first (#18.8)
    await page.getByRole('button', { name: 'Confirm cancel' }).click();
    await eventually(async () => {
      expect((await page.getByTestId('detail-status').textContent())?.trim()).toBe('cancelled');
      expect((await stepView(page, 'analyzing')).status).toBe('cancelled');
      expect(await cancel.isVisible()).toBe(false);
    });
    expect((await api.get('/api/workflows/dash-doc')).body.status).toBe('cancelled');
    await expectPageMatchesServer(page, api, 'dash-doc');

    // no external network: every request went to this server (the page, its script, which bundles the
    // Socket.IO client, and style, the API and the socket)
    const origin = new URL(server.url).origin;
    expect(requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    expect(requests).toEqual(
      expect.arrayContaining([
        `${origin}/`,
        `${origin}/dashboard/dashboard.js`,
        `${origin}/dashboard/dashboard.css`,
      ]),
    );
    expect(problems).toEqual([]);
  });

  it('a reload in the middle of a run (with writes landing while it loads) shows the same state, with no missed or doubled update; a second tab stays consistent', async () => {
    const key = await createKey(admin, 'producer', ['dash-reload']);
    const api = client(server.url, key);
    await ok(
      api.post('/api/projects/dash-reload/workflows', {
        id: 'reload-wf',
        type: 'ingest',
        steps: [
          { id: 'fetch', name: 'Fetch' },
          { id: 'load', name: 'Load' },
        ],
      }),
      201,
    );
    const ctx = await newContext();
    const { page, problems } = await openPage(ctx);
    await signIn(page, key);
    await pickProject(page, 'dash-reload');
    await openWorkflow(page, 'reload-wf');

    let n = 0;
    const write = async () => {
      n++;
      await ok(
        api.post('/api/workflows/reload-wf/steps/fetch/progress', {
          current: n,
          total: 200,
          message: `fetched ${n}`,
        }),
      );
      await ok(api.post('/api/workflows/reload-wf/logs', { level: 'info', message: `line ${n}` }), 201);
    };
    for (let i = 0; i < 10; i++) await write();
    await eventually(async () => expect((await stepView(page, 'fetch')).count).toBe('10 / 200'));
    await expectPageMatchesServer(page, api, 'reload-wf');
    const before = await logIds(page);
    expect(before).toHaveLength(10);

    // a second tab on the same browser (same storage): no key to enter, it opens the same project
    const second = await openPage(ctx, '/#/p/dash-reload/w/reload-wf');

    // reload while writes keep landing: some before the page asked for state, some while it loads,
    // some after it subscribed
    let writing = true;
    const writer = (async () => {
      while (writing || n < 40) {
        await write();
        await sleep(15);
      }
    })();
    await page.reload();
    await eventually(async () => expect(await connection(page).textContent()).toBe('live'));
    writing = false;
    await writer;
    await ok(
      api.post('/api/workflows/reload-wf/steps/load/progress', { progress: 30, message: 'rows 1-300' }),
    );
    expect(await page.getByTestId('key-input').isVisible()).toBe(false); // the key was kept

    for (const p of [page, second.page]) {
      await expectPageMatchesServer(p, api, 'reload-wf');
      expect(await stepView(p, 'fetch')).toEqual({
        count: `${n} / 200`,
        valuenow: String(n),
        valuemax: '200',
        message: `fetched ${n}`,
        status: 'running',
      });
      const ids = await logIds(p);
      expect(ids).toHaveLength(n); // every line once
      expect(ids.slice(0, 10)).toEqual(before);
      expect(
        await p
          .getByTestId('log-line')
          .evaluateAll((els) => els.map((e) => e.querySelector('.log-message')?.textContent)),
      ).toEqual(Array.from({ length: n }, (_, i) => `line ${i + 1}`)); // in order
    }
    // the position kept for the next reload is the project's last seq
    const lastSeq = (await api.get('/api/projects')).body.items.find(
      (p: any) => p.id === 'dash-reload',
    ).lastSeq;
    await eventually(async () =>
      expect(await page.evaluate(() => localStorage.getItem('stepline.since.dash-reload'))).toBe(
        String(lastSeq),
      ),
    );
    expect(problems).toEqual([]);
    expect(second.problems).toEqual([]);
  });

  it('the server stops or crashes: the page says "offline"; restarted on the same port and database, the page recovers by itself and catches up on what it missed', async () => {
    const key = await createKey(admin, 'producer', ['dash-outage']);
    const api = client(server.url, key);
    await ok(
      api.post('/api/projects/dash-outage/workflows', {
        id: 'outage-wf',
        type: 'batch',
        steps: [{ id: 'work', name: 'Work' }],
      }),
      201,
    );
    await ok(api.post('/api/workflows/outage-wf/steps/work/progress', { current: 10, total: 100 }));
    const ctx = await newContext();
    const { page, problems } = await openPage(ctx);
    await signIn(page, key);
    await pickProject(page, 'dash-outage');
    await openWorkflow(page, 'outage-wf');
    await eventually(async () => expect((await stepView(page, 'work')).count).toBe('10 / 100'));
    const seen = await recordConnection(page);

    // 1. the server is stopped (SIGTERM: it shuts down even with the browser's connections open) and
    //    started again: the page recovers with no help
    await server.stop();
    await eventually(async () => expect(await connection(page).textContent()).toBe('offline'), 15_000);
    server = await fx.restart();
    await ok(api.post('/api/workflows/outage-wf/steps/work/progress', { current: 20, total: 100 }));
    await eventually(async () => expect(await connection(page).textContent()).toBe('live'), 20_000);
    await eventually(async () => expect((await stepView(page, 'work')).count).toBe('20 / 100'));
    // what the indicator said, in order: only its three texts; "reconnecting…" as the connection dropped,
    // "offline" once an attempt failed, "live" again at the end
    const texts = await seen();
    expect(texts.filter((t) => !['live', 'reconnecting…', 'offline'].includes(t))).toEqual([]);
    expect(texts.slice(0, 3)).toEqual(['live', 'reconnecting…', 'offline']);
    expect(texts[texts.length - 1]).toBe('live');

    // 2. the server crashes (SIGKILL); writes made while the page cannot reach it (the server down, then the
    //    browser's network off while it comes back) reach the page from the event log when it reconnects
    await server.kill();
    await eventually(async () => expect(await connection(page).textContent()).toBe('offline'), 15_000);
    await ctx.setOffline(true);
    server = await fx.restart();
    await ok(
      api.post('/api/workflows/outage-wf/steps/work/progress', {
        current: 55,
        total: 100,
        message: 'missed 1',
      }),
    );
    const missedLog = await ok(
      api.post('/api/workflows/outage-wf/logs', {
        level: 'error',
        message: 'written while the page was away',
      }),
      201,
    );
    await ok(
      api.post('/api/workflows/outage-wf/steps/work/progress', {
        current: 60,
        total: 100,
        message: 'missed 2',
      }),
    );
    // the sentinel: a reconnect attempt of the page's socket made after these writes, refused by the browser's
    // network being off (the page retries every ≤ 3 s); it is what would have brought the writes in
    let attemptsAfter = 0;
    const onFailed = (req: Request) => {
      if (new URL(req.url()).pathname.startsWith('/socket.io/')) attemptsAfter++;
    };
    page.on('requestfailed', onFailed);
    await eventually(() => {
      expect(attemptsAfter).toBeGreaterThan(0);
      return Promise.resolve();
    }, 15_000);
    page.off('requestfailed', onFailed);
    expect(await connection(page).textContent()).toBe('offline');
    expect((await stepView(page, 'work')).count).toBe('20 / 100');
    await ctx.setOffline(false);
    await eventually(async () => expect(await connection(page).textContent()).toBe('live'), 20_000);
    await expectPageMatchesServer(page, api, 'outage-wf');
    expect(await stepView(page, 'work')).toMatchObject({
      count: '60 / 100',
      valuenow: '60',
      message: 'missed 2',
    });
    expect(await logIds(page)).toEqual([missedLog.id]);
    // the three writes came as a replay of the event log on resubscribe
    expect(Number(await connection(page).getAttribute('data-replayed'))).toBeGreaterThanOrEqual(3);
    expect(problems).toEqual([]);
  }, 90_000);

  describe('on a server of its own whose events are kept for 1.8 s', () => {
    let server2: RunningServer;
    useServer((f) => (server2 = f.server), { EVENT_RETENTION_HOURS: '0.0005', SWEEP_INTERVAL_MS: '200' });

    it("a page whose position has left the event log (ack reset) reloads the state and shows the server's", async () => {
      const api = client(server2.url);
      await ok(
        api.post('/api/projects/dash-reset/workflows', {
          id: 'reset-wf',
          type: 'etl',
          steps: [{ id: 'extract', name: 'Extract' }, { id: 'load' }],
        }),
        201,
      );
      await ok(api.post('/api/workflows/reset-wf/steps/extract/progress', { current: 5, total: 50 }));
      await ok(api.post('/api/workflows/reset-wf/logs', { level: 'info', message: 'before' }), 201);
      const ctx = await newContext();
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${server2.url}/`);
      await signIn(page, ADMIN_TOKEN);
      await pickProject(page, 'dash-reset');
      await openWorkflow(page, 'reset-wf');
      await eventually(async () => expect((await stepView(page, 'extract')).count).toBe('5 / 50'));

      await ctx.setOffline(true);
      await eventually(async () => expect(await connection(page).textContent()).toBe('offline'));
      const position = Number(await connection(page).getAttribute('data-last-seq'));
      await ok(
        api.post('/api/workflows/reset-wf/steps/extract/progress', {
          current: 30,
          total: 50,
          message: 'away',
        }),
      );
      await ok(api.post('/api/workflows/reset-wf/logs', { level: 'info', message: 'while away' }), 201);
      await ok(
        api.post('/api/projects/dash-reset/workflows', {
          id: 'reset-new',
          type: 'etl',
          steps: [{ id: 'x' }],
        }),
        201,
      );
      // wait until the log no longer holds what comes after the page's position
      await eventually(async () => {
        const res = await api.get(`/api/projects/dash-reset/events?after=${position}`);
        expect(res.body.reset).toBe(true);
      }, 15_000);

      await ctx.setOffline(false);
      await eventually(async () => expect(await connection(page).textContent()).toBe('live'), 20_000);
      await expectPageMatchesServer(page, api, 'reset-wf');
      expect(await stepView(page, 'extract')).toMatchObject({ count: '30 / 50', message: 'away' });
      expect(
        await page
          .getByTestId('log-line')
          .evaluateAll((els) => els.map((e) => e.querySelector('.log-message')?.textContent)),
      ).toEqual(['before', 'while away']);
      await eventually(async () => expect(await workflowItem(page, 'reset-new').count()).toBe(1));
      expect(await connection(page).getAttribute('data-resets')).toBe('1');
      expect(problems).toEqual([]);
    }, 60_000);
  });

  it("a viewer key never sees another project's workflows and gets no cancel button; a revoked key is asked for again", async () => {
    await ok(
      admin.post('/api/projects/alpha/workflows', {
        id: 'alpha-wf',
        type: 'report',
        name: 'Alpha report',
        steps: [{ id: 'build' }],
      }),
      201,
    );
    await ok(
      admin.post('/api/projects/beta/workflows', {
        id: 'beta-secret',
        type: 'report',
        name: 'Beta secret',
        steps: [{ id: 'build' }],
      }),
      201,
    );
    const created = await ok(
      admin.post('/api/keys', { name: 'dashboard viewer', role: 'viewer', projects: ['alpha'] }),
      201,
    );
    const viewer = created.key as string;
    const ctx = await newContext();
    const { page, problems } = await openPage(ctx);

    // a key the server does not know is refused on the spot
    await signIn(page, 'not-a-real-key-0000000000');
    await eventually(async () =>
      expect(await page.getByTestId('key-error').textContent()).toMatch(/refused/),
    );

    await signIn(page, viewer);
    await eventually(async () =>
      expect(
        await page
          .getByLabel('Project', { exact: true })
          .locator('option')
          .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
      ).toEqual(['alpha']),
    );
    await pickProject(page, 'alpha');
    await openWorkflow(page, 'alpha-wf');
    expect(await page.getByRole('button', { name: 'Cancel workflow' }).isVisible()).toBe(false);

    // beta moves while the viewer watches alpha; then a marker in alpha shows the page is up to date
    await ok(
      admin.post('/api/workflows/beta-secret/steps/build/progress', { progress: 50, message: 'beta step' }),
    );
    await ok(admin.post('/api/workflows/beta-secret/logs', { level: 'info', message: 'beta log line' }), 201);
    await ok(
      admin.post('/api/projects/beta/workflows', {
        id: 'beta-new',
        type: 'report',
        steps: [{ id: 'build' }],
      }),
      201,
    );
    await ok(
      admin.post('/api/workflows/alpha-wf/steps/build/progress', { progress: 70, message: 'alpha marker' }),
    );
    await eventually(async () => expect((await stepView(page, 'build')).message).toBe('alpha marker'));
    expect(await page.getByRole('button', { name: 'Cancel workflow' }).isVisible()).toBe(false);
    let html = await page.content();
    expect(html).not.toMatch(/beta-secret|Beta secret|beta-new|beta step|beta log line/);

    // asking for beta by address: refused, nothing of it shown
    await page.goto(`${server.url}/#/p/beta/w/beta-secret`);
    await eventually(async () =>
      expect(await page.getByTestId('banner').textContent()).toContain('cannot read project "beta"'),
    );
    expect(await page.getByTestId('workflow-item').count()).toBe(0);
    html = await page.content();
    expect(html).not.toMatch(/Beta secret|beta step|beta log line|beta-new/);
    expect(await page.locator('#detail-body').isVisible()).toBe(false);

    // the key is revoked: the server closes the socket, the page asks for a key again
    await page.goto(`${server.url}/#/p/alpha`);
    await eventually(async () => expect(await connection(page).textContent()).toBe('live'));
    await ok(admin.del(`/api/keys/${created.id}`));
    await eventually(async () => {
      expect(await page.getByLabel('API key', { exact: true }).isVisible()).toBe(true);
      expect(await page.getByTestId('key-error').textContent()).toMatch(/refused/);
    });
    expect(await page.evaluate(() => localStorage.getItem('stepline.key'))).toBeNull();
    expect(problems).toEqual([]);
  });

  it('shows the ETA as a range, the queue wait of a queued workflow, and a slow step (§13)', async () => {
    const api = admin;
    const p = 'dash-eta';
    const run = async (id: string, ms: number) => {
      await ok(
        api.post(`/api/projects/${p}/workflows`, { id, type: 'ranged', steps: [{ id: 'a' }, { id: 'b' }] }),
        201,
      );
      await ok(api.post(`/api/workflows/${id}/steps/a/start`, {}));
      await sleep(ms);
      await ok(api.post(`/api/workflows/${id}/steps/a/complete`, {}));
      await ok(api.post(`/api/workflows/${id}/steps/b/complete`, {}));
    };
    // five runs whose step a took 0.5 … 2.5 s: a range of whole seconds, and a slow threshold for a
    await Promise.all([500, 1000, 1500, 2000, 2500].map((ms, i) => run(`${p}-h${i}`, ms)));
    // a queue with recent claims, and a workflow waiting on it
    for (const id of [`${p}-q1`, `${p}-q2`])
      await ok(
        api.post(`/api/projects/${p}/workflows`, {
          id,
          type: 'job',
          queue: 'dash-eta-q',
          steps: [{ id: 'x' }],
        }),
        201,
      );
    const claimed = await ok(api.post('/api/queues/dash-eta-q/claim', { workerId: 'w', leaseMs: 600_000 }));
    // oldest-first claiming has its own tests (queues spec); here either may be taken (on MariaDB, SKIP LOCKED
    // passed over q1 once, in CI under load), and the other is the queued one the panel shows
    expect([`${p}-q1`, `${p}-q2`]).toContain(claimed.workflow.id);
    const waiting = claimed.workflow.id === `${p}-q1` ? `${p}-q2` : `${p}-q1`;

    const ctx = await newContext();
    const { page } = await openPage(ctx);
    await signIn(page, ADMIN_TOKEN);
    await pickProject(page, p);
    // the waiting one: its wait for a worker
    await openWorkflow(page, waiting);
    await eventually(async () =>
      expect((await page.getByTestId('detail-eta').textContent())?.trim()).toMatch(
        /^queued #1, (~\d+.* wait|waiting for a worker)/,
      ),
    );
    // a new run, long in a: its ETA is a range, and a turns slow
    await ok(
      api.post(`/api/projects/${p}/workflows`, {
        id: `${p}-live`,
        type: 'ranged',
        steps: [{ id: 'a' }, { id: 'b' }],
      }),
      201,
    );
    // the range is read before a starts: once a runs past its history the page rightly says "overdue" (#18.4),
    // which a loaded machine can reach before the first look; when the history's p90 rounds to the estimate
    // the page says "~N s left" (one figure, not "2–2 s"): the range itself is held by dashboard-v2's ETA test
    await openWorkflow(page, `${p}-live`);
    await eventually(async () =>
      expect((await page.getByTestId('detail-eta').textContent())?.trim()).toMatch(
        /^(?:\d+(?: s)?\u2013\d+ (?:s|min)|~\d+ s) left \(by .*from history\)/,
      ),
    );
    await ok(api.post(`/api/workflows/${p}-live/steps/a/start`, {}));
    await eventually(async () =>
      expect((await step(page, 'a').getByTestId('step-status').textContent())?.trim()).toMatch(
        /^running · slow \(usually \d+ s\)$/,
      ),
    );
    expect((await step(page, 'b').getByTestId('step-status').textContent())?.trim()).toBe('pending');
    await ok(api.post(`/api/workflows/${p}-live/steps/a/complete`, {}));
    await eventually(async () =>
      expect((await step(page, 'a').getByTestId('step-status').textContent())?.trim()).toBe('completed'),
    );
  });
});
