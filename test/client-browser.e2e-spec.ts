import { readFileSync, readdirSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser';
import { useServer, type ServerFixture } from './support/fixture';
import { ADMIN_TOKEN, freePort, RunningServer } from './support/server';

/**
 * The client's ESM build runs in a browser (§16): Chromium loads client/dist/esm as native modules (with an
 * import map for socket.io-client's own browser bundle, nothing else) from a page on another origin, and a
 * producer and a watcher run there against the real server (CORS_ORIGINS names the page's origin).
 */

const ESM = join(__dirname, '..', 'client', 'dist', 'esm');
// exports do not name the browser bundle: it sits next to the package's package.json
const SIO = join(require.resolve('socket.io-client/package.json'), '..', 'dist', 'socket.io.esm.min.js');

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{ "imports": { "socket.io-client": "/sio.js" } }</script>
<script type="module">
  import { Stepline } from '/client/index.js';
  window.run = async (baseUrl, token) => {
    const sl = new Stepline({ baseUrl, token });
    const seen = [];
    let done;
    const finished = new Promise((r) => (done = r));
    const watch = sl.watch('browser', {
      since: 0,
      onEvent: (e) => { seen.push(e.seq); if (e.type === 'workflow:completed') done(); },
    });
    const wf = await sl.createWorkflow('browser', { type: 'b', steps: [{ id: 's' }] });
    const calls = [wf.step('s').start()];
    for (let i = 1; i <= 200; i++) calls.push(wf.step('s').progress({ current: i, total: 200 }));
    calls.push(wf.step('s').complete({ result: { from: 'browser' } }));
    const results = await Promise.all(calls);
    await finished;
    watch.close();
    return { seen, status: results[results.length - 1].status, requests: sl.writeRequests, lastSeq: watch.lastSeq };
  };
  window.ready = true;
</script></head><body></body></html>`;

describe('@stepline/client in a browser (§16)', () => {
  let fx: ServerFixture;
  let server: RunningServer;
  let page: Server;
  // started in beforeAll once the page's origin (CORS_ORIGINS) is known
  useServer((f) => (fx = f), undefined, { start: false });
  let origin: string;
  let browser: Browser;
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    page = createServer((req, res) => {
      const url = req.url ?? '/';
      const send = (type: string, body: string | Buffer) => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      };
      if (url === '/') return send('text/html', PAGE);
      if (url === '/sio.js') return send('text/javascript', readFileSync(SIO));
      const m = /^\/client\/([a-z-]+\.js)$/.exec(url);
      if (m) return send('text/javascript', readFileSync(join(ESM, m[1])));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => page.listen(port, '127.0.0.1', r));
    server = await fx.start({ env: { CORS_ORIGINS: origin } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => page?.close(r));
  });

  it('the ESM build imports nothing but its own files and socket.io-client', () => {
    const imports = readdirSync(ESM)
      .filter((f) => f.endsWith('.js') && f !== 'react.js')
      .flatMap((f) =>
        [...readFileSync(join(ESM, f), 'utf8').matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1]),
      );
    expect(new Set(imports.filter((i) => !i.startsWith('./')))).toEqual(new Set(['socket.io-client']));
  });

  it('a producer and a watcher run in Chromium against the real server', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`${origin}/`);
    await tab.waitForFunction(() => (window as any).ready === true);
    const out = await tab.evaluate(([base, token]) => (window as any).run(base, token), [
      server.url,
      ADMIN_TOKEN,
    ] as const);
    await tab.close();
    expect(errors).toEqual([]);
    expect(out.status).toBe('completed');
    // created, started, step started, 200 progress, step completed, completed: once each, in order
    expect(out.seen).toEqual(Array.from({ length: 205 }, (_, i) => i + 1));
    expect(out.lastSeq).toBe(205);
    expect(out.requests).toBeLessThan(20);
  });
});
