import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/support/browser';
import { freshDatabase, log, ROOT, sleep } from './common';
import { ADMIN_TOKEN, startServer } from './server';

/**
 * `npm run screenshots`: the README's pictures of the dashboard, regenerated from the built server rather
 * than by hand. Starts the server on a temporary SQLite database, seeds realistic data over REST (3 projects,
 * ~45 workflows in every state in the main one, history runs of the same type, a queue with 2 workers, a live
 * workflow that keeps moving while the pictures are taken, a failed one with its error, logs), then opens
 * the page in Debian's Chromium at 1280 px (light and dark) and 420 px and writes docs/screenshots/*.png
 * (viewport only, to keep them small). Uses only the page's stable test ids, so it outlives the page's port.
 */

const OUT = join(ROOT, 'docs', 'screenshots');
const MAIN = 'media-pipeline';

type Json = Record<string, unknown>;

async function call(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const TRANSCODE_STEPS = [
  { id: 'fetch', name: 'Fetch source', weight: 1 },
  { id: 'probe', name: 'Probe streams', weight: 1 },
  { id: 'encode', name: 'Encode renditions', weight: 6 },
  { id: 'package', name: 'Package HLS', weight: 1 },
  { id: 'publish', name: 'Publish to CDN', weight: 1 },
];

interface Seeded {
  producer: string;
  live: string;
  failed: string;
}

async function seed(base: string): Promise<Seeded> {
  const producer = (
    await call(base, ADMIN_TOKEN, 'POST', '/api/keys', {
      name: 'screenshots',
      role: 'producer',
      projects: [MAIN, 'billing', 'search-index'],
    })
  ).key as string;
  const p = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(base, producer, method, path, body, headers);
  const create = (project: string, body: Json) => p('POST', `/api/projects/${project}/workflows`, body);
  const step = (id: string, stepId: string, action: string, body: Json = {}, h?: Record<string, string>) =>
    p('POST', `/api/workflows/${id}/steps/${stepId}/${action}`, body, h);
  const logLine = (
    id: string,
    level: string,
    message: string,
    extra: Json = {},
    h?: Record<string, string>,
  ) => p('POST', `/api/workflows/${id}/logs`, { level, message, ...extra }, h);

  // history: completed transcodes (the ETA's basis), run side by side so each step takes real time
  const history = Array.from({ length: 16 }, (_, i) => `transcode-${String(1000 + i)}`);
  await Promise.all(
    history.map((id, i) =>
      create(MAIN, {
        id,
        type: 'transcode',
        name: `Episode ${i + 1} — 4K master`,
        steps: TRANSCODE_STEPS,
        metadata: { asset: `ep-${i + 1}.mov`, requestedBy: 'scheduler' },
      }),
    ),
  );
  const seconds: Record<string, number> = { fetch: 0.5, probe: 0.3, encode: 3, package: 0.5, publish: 0.3 };
  for (const st of TRANSCODE_STEPS) {
    await Promise.all(history.map((id) => step(id, st.id, 'start')));
    await sleep(seconds[st.id] * 1000);
    await Promise.all(
      history.map((id, i) =>
        step(
          id,
          st.id,
          'complete',
          st.id === 'publish'
            ? { result: { url: `https://cdn.example/ep-${i + 1}/master.m3u8`, renditions: 5 } }
            : {},
        ),
      ),
    );
  }
  // thumbnails, completed and a few cancelled
  for (let i = 0; i < 8; i++) {
    const id = `thumbs-${String(200 + i)}`;
    await create(MAIN, {
      id,
      type: 'thumbnail',
      name: `Thumbnails for upload ${200 + i}`,
      steps: [{ id: 'render' }],
    });
    if (i % 4 === 3)
      await p('POST', `/api/workflows/${id}/cancel`, { reason: 'upload deleted by its owner' });
    else await step(id, 'render', 'complete', { result: { frames: 24 } });
  }
  // failed runs, one with a detailed error and logs
  let failed = '';
  for (let i = 0; i < 4; i++) {
    const id = `transcode-${String(1100 + i)}`;
    await create(MAIN, {
      id,
      type: 'transcode',
      name: `Trailer ${i + 1} — teaser cut`,
      steps: TRANSCODE_STEPS,
    });
    await step(id, 'fetch', 'complete');
    await step(id, 'probe', 'complete');
    await step(id, 'encode', 'progress', { current: 412 + i * 50, total: 1440, message: 'encoding 1080p' });
    await logLine(id, 'info', 'encoder started', { stepId: 'encode', details: { preset: 'slow', crf: 18 } });
    await logLine(id, 'warning', 'bitrate above ceiling, retrying segment 37', { stepId: 'encode' });
    await logLine(id, 'error', 'ffmpeg exited with code 187', {
      stepId: 'encode',
      details: { stderr: 'Invalid data found when processing input', segment: 37 },
    });
    await step(id, 'encode', 'fail', {
      error: { message: 'ffmpeg exited with code 187: invalid data in segment 37', code: 'encoder_failed' },
    });
    failed ||= id;
  }
  // queued on the render farm, two claimed by workers
  for (let i = 0; i < 7; i++)
    await create(MAIN, {
      id: `render-${String(300 + i)}`,
      type: 'render',
      name: `Render scene ${300 + i}`,
      queue: 'render-farm',
      maxAttempts: 3,
      steps: [
        { id: 'prepare', name: 'Prepare scene' },
        { id: 'render', name: 'Render frames', weight: 8 },
        { id: 'upload', name: 'Upload' },
      ],
    });
  for (const [n, worker] of ['farm-node-01', 'farm-node-02'].entries()) {
    const claim = await p('POST', '/api/queues/render-farm/claim', { workerId: worker, leaseMs: 600_000 });
    const lease = { 'x-lease-token': claim.leaseToken as string };
    const id = claim.workflow.id as string;
    await step(id, 'prepare', 'complete', {}, lease);
    await step(
      id,
      'render',
      'progress',
      { current: 180 + n * 260, total: 720, message: 'frame batch' },
      lease,
    );
    await logLine(id, 'info', `claimed by ${worker}`, {}, lease);
  }
  // running: various progress
  for (let i = 0; i < 6; i++) {
    const id = `transcode-${String(1200 + i)}`;
    await create(MAIN, { id, type: 'transcode', name: `Lecture ${i + 1} — 1080p`, steps: TRANSCODE_STEPS });
    await step(id, 'fetch', 'complete');
    if (i % 2 === 0) await step(id, 'probe', 'complete');
    if (i % 2 === 0)
      await step(id, 'encode', 'progress', {
        current: 100 + i * 200,
        total: 1440,
        message: `rendition ${1 + (i % 5)} of 5`,
      });
    else await step(id, 'probe', 'progress', { progress: 40 + i * 5, message: 'probing audio tracks' });
  }
  // queued without a queue (created, nothing started yet)
  for (let i = 0; i < 3; i++)
    await create(MAIN, {
      id: `ingest-${500 + i}`,
      type: 'ingest',
      name: `Ingest camera card ${i + 1}`,
      steps: [{ id: 'copy' }, { id: 'verify' }],
    });
  // the live one: the newest, moving while the pictures are taken
  const live = 'transcode-1300';
  await create(MAIN, {
    id: live,
    type: 'transcode',
    name: 'Keynote 2026 — 4K master',
    steps: TRANSCODE_STEPS,
    metadata: { asset: 'keynote-2026.mov', requestedBy: 'ana@example.com', priority: 'high' },
  });
  await step(live, 'fetch', 'complete', { result: { bytes: 48_318_382_080 } });
  await step(live, 'probe', 'complete', { result: { video: 'prores 4444', audio: ['en', 'es'] } });
  await logLine(live, 'info', 'fetched source from ingest bucket', { stepId: 'fetch', details: { gb: 45 } });
  await logLine(live, 'success', 'probe found 1 video and 2 audio streams', { stepId: 'probe' });
  await logLine(live, 'info', 'encoding 5 renditions', {
    stepId: 'encode',
    details: { renditions: ['2160p', '1440p', '1080p', '720p', '480p'] },
  });
  await step(live, 'encode', 'progress', { current: 300, total: 1440, message: 'rendition 2160p' });

  // two more projects
  for (let i = 0; i < 5; i++) {
    const id = `invoice-run-${i + 1}`;
    await create('billing', {
      id,
      type: 'invoice-run',
      name: `Invoices, region ${i + 1}`,
      steps: [{ id: 'collect' }, { id: 'render' }, { id: 'send' }],
    });
    await step(id, 'collect', 'complete');
    if (i < 3) {
      await step(id, 'render', 'complete');
      await step(id, 'send', 'complete');
    } else await step(id, 'render', 'progress', { current: 40 * i, total: 400 });
  }
  for (let i = 0; i < 3; i++) {
    const id = `reindex-${i + 1}`;
    await create('search-index', {
      id,
      type: 'reindex',
      name: `Reindex shard ${i + 1}`,
      steps: [{ id: 'scan' }, { id: 'write' }],
    });
    await step(id, 'scan', 'progress', { progress: 30 * (i + 1) });
  }
  return { producer, live, failed };
}

/** Waits for `fn` in the page, up to 15 s; logs instead of failing (a changed page still gets its pictures). */
async function settle(page: Page, what: string, fn: (arg: string) => boolean, arg: string): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: 15_000 });
  } catch {
    log(`screenshots: "${what}" did not show within 15 s; taking the picture anyway`);
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const db = await freshDatabase('sqlite');
  const server = await startServer(db.url);
  const browser = await launchChromium();
  let ticking = true;
  let ticker: Promise<void> = Promise.resolve();
  try {
    log('screenshots: seeding');
    const s = await seed(server.url);
    // keep the live workflow moving: one progress update every 300 ms
    ticker = (async () => {
      for (let current = 301; ticking && current < 1440; current += 3) {
        await call(server.url, s.producer, 'POST', `/api/workflows/${s.live}/steps/encode/progress`, {
          current,
          total: 1440,
          message: `rendition 2160p, frame ${current * 50}`,
        }).catch(() => undefined);
        if (current % 60 === 1)
          await call(server.url, s.producer, 'POST', `/api/workflows/${s.live}/logs`, {
            level: 'debug',
            message: `segment ${Math.round(current / 3)} written`,
            stepId: 'encode',
          }).catch(() => undefined);
        await sleep(300);
      }
    })();

    const shots: { file: string; width: number; height: number; dark: boolean; workflow: string }[] = [
      { file: 'dashboard-1280.png', width: 1280, height: 800, dark: false, workflow: s.live },
      { file: 'dashboard-1280-dark.png', width: 1280, height: 800, dark: true, workflow: s.live },
      { file: 'dashboard-420.png', width: 420, height: 900, dark: false, workflow: s.failed },
    ];
    for (const shot of shots) {
      const ctx = await browser.newContext({
        viewport: { width: shot.width, height: shot.height },
        colorScheme: shot.dark ? 'dark' : 'light',
      });
      try {
        await ctx.addInitScript(
          ({ k, p }) => {
            localStorage.setItem('stepline.key', k);
            localStorage.setItem('stepline.project', p);
          },
          { k: s.producer, p: MAIN },
        );
        const page = await ctx.newPage();
        await page.emulateMedia({ colorScheme: shot.dark ? 'dark' : 'light' });
        await page.goto(`${server.url}/#/p/${MAIN}/w/${shot.workflow}`);
        await settle(
          page,
          'live',
          () => document.querySelector('[data-testid="connection"]')?.textContent?.trim() === 'live',
          '',
        );
        await settle(
          page,
          'list',
          () => document.querySelectorAll('[data-testid="workflow-item"]').length >= 20,
          '',
        );
        await settle(
          page,
          'workflow open',
          (id) =>
            (document.querySelector('[data-testid="detail-meta"]')?.textContent ?? '').includes(id) &&
            document.querySelectorAll('[data-testid="log-line"]').length > 0,
          shot.workflow,
        );
        await page.evaluate(() => document.fonts.ready);
        const path = join(OUT, shot.file);
        await page.screenshot({ path, fullPage: false });
        log(`screenshots: ${path} (${Math.round(statSync(path).size / 1024)} KB)`);
      } finally {
        await ctx.close();
      }
    }
  } finally {
    ticking = false;
    await ticker;
    await browser.close();
    await server.stop();
    await db.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
