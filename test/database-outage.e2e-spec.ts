import { ApiResponse, client, Client, createKey } from './support/http';
import { useServer } from './support/fixture';
import { RunningServer } from './support/server';
import { TcpProxy } from './support/tcp-proxy';
import { usingMysql } from './support/test-db';

/**
 * The database going away and coming back, with the server left running: MariaDB only, through a TCP
 * proxy the test can take down (refusing connections and cutting the open ones) and bring back up.
 * On SQLite there is no network between the server and its database, so the whole suite is skipped.
 */
const describeOnMysql = usingMysql() ? describe : describe.skip;

/** Polls `check` until it returns a value (not undefined), at most `attempts` times `intervalMs` apart. */
async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  attempts = 200,
  intervalMs = 100,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function healthStatus(url: string): Promise<number> {
  return (await fetch(`${url}/health`)).status;
}

const waitForHealth = (url: string, status: number) =>
  pollUntil(`/health ${status}`, async () => ((await healthStatus(url)) === status ? true : undefined));

function expectUnavailable(res: ApiResponse): void {
  expect(res.status).toBe(503);
  expect(res.body).toEqual({
    statusCode: 503,
    error: 'Service Unavailable',
    code: 'unavailable',
    message: expect.any(String),
    details: [], // §1: the error body always has details
  });
}

function expectOk(res: ApiResponse, status = 200): void {
  if (res.status !== status)
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
}

const workflow = (id: string) => ({ id, type: 'outage', steps: [{ id: 'a' }, { id: 'b' }] });

describeOnMysql(
  'database outage (MariaDB behind a TCP proxy; skipped unless DATABASE_URL is mysql://)',
  () => {
    const project = 'outage';
    let proxy: TcpProxy;
    let server: RunningServer;
    let admin: Client;

    // the server reaches its database through the proxy, which is down: the server starts, listens, and
    // keeps trying to reach its database
    useServer((fx) => ({ server, admin } = fx), undefined, {
      waitFor: 'listening',
      databaseUrl: async (db) => {
        proxy = await TcpProxy.create(db.host!, db.port!);
        const url = new URL(db.url);
        url.hostname = '127.0.0.1';
        url.port = String(proxy.port);
        return url.toString();
      },
    });

    afterAll(async () => {
      await proxy?.down();
    });

    it('starts while the database is unreachable: /health 503, a write 503 unavailable', async () => {
      expect(proxy.isUp).toBe(false);
      expect(await healthStatus(server.url)).toBe(503);
      expectUnavailable(await admin.post(`/api/projects/${project}/workflows`, workflow('too-early')));
      expectUnavailable(await admin.get(`/api/projects/${project}/events?after=0`));
      expect(await healthStatus(server.url)).toBe(503);
    });

    it('recovers by itself once the database is reachable: /health 200, writes succeed', async () => {
      await proxy.up();
      await waitForHealth(server.url, 200);
      expectOk(await admin.post(`/api/projects/${project}/workflows`, workflow('first')), 201);
      expectOk(await admin.post('/api/workflows/first/steps/a/progress', { progress: 10 }));
      // the refused write wrote nothing
      expect((await admin.get('/api/workflows/too-early')).status).toBe(404);
    });

    it('a cut while running answers 503 unavailable (never hangs, never 500) and recovers without a restart', async () => {
      const pid = server.proc.pid;
      const producer = client(server.url, await createKey(admin, 'producer', [project]));
      expectOk(await producer.post(`/api/projects/${project}/workflows`, workflow('second')), 201);

      // writes in flight while the database goes away: each is answered, 2xx (committed) or 503 (unavailable)
      let stop = false;
      const answers: Array<{ res: ApiResponse; message: string }> = [];
      const writer = async (n: number) => {
        for (let i = 0; !stop; i++) {
          const message = `w${n}-${i}`;
          const res = await producer.post('/api/workflows/second/logs', { level: 'info', message });
          answers.push({ res, message });
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const writers = Array.from({ length: 4 }, (_, n) => writer(n));
      try {
        await pollUntil('some writes before the cut', () =>
          Promise.resolve(answers.length >= 20 ? true : undefined),
        );

        await proxy.down();
        try {
          await waitForHealth(server.url, 503);
          expectUnavailable(
            await producer.post(`/api/projects/${project}/workflows`, workflow('during-cut')),
          );
          expectUnavailable(await producer.post('/api/workflows/second/steps/a/progress', { progress: 50 }));
          expectUnavailable(
            await admin.post(`/api/projects/${project}/workflows`, workflow('during-cut-admin')),
          );
          expect(await healthStatus(server.url)).toBe(503);
          const refused = answers.length;
          await pollUntil('writers to see the outage', () =>
            Promise.resolve(answers.length >= refused + 8 ? true : undefined),
          );
        } finally {
          await proxy.up();
        }

        await waitForHealth(server.url, 200);
        await pollUntil('writes to succeed again', () => {
          const last = answers[answers.length - 1];
          return Promise.resolve(last && last.res.status === 201 ? true : undefined);
        });
      } finally {
        stop = true;
        await Promise.allSettled(writers);
      }
      await Promise.all(writers); // a writer that failed (not an HTTP answer) fails the test

      expect(server.proc.pid).toBe(pid);
      expect(server.proc.exitCode).toBeNull();
      for (const a of answers) {
        if (a.res.status === 201) continue;
        expectUnavailable(a.res);
      }
      expect(answers.some((a) => a.res.status === 503)).toBe(true);

      // after recovery: new writes land, nothing refused was written, and the log is gapless and holds every ack
      expectOk(await producer.post(`/api/projects/${project}/workflows`, workflow('third')), 201);
      const p = await producer.post('/api/workflows/second/steps/a/progress', { progress: 60 });
      expectOk(p);
      expect((await producer.get('/api/workflows/during-cut')).status).toBe(404);
      expect((await producer.get('/api/workflows/during-cut-admin')).status).toBe(404);

      const items: Array<{ seq: number; type: string; data: any }> = [];
      let lastSeq: number;
      for (let after = 0; ; after = items[items.length - 1].seq) {
        const page = await producer.get(`/api/projects/${project}/events?after=${after}&limit=500`);
        expectOk(page);
        expect(page.body.reset).toBeUndefined();
        lastSeq = page.body.lastSeq;
        items.push(...page.body.items);
        if (page.body.items.length < 500) break;
      }
      expect(items.map((e) => e.seq)).toEqual(Array.from({ length: items.length }, (_, i) => i + 1));
      expect(lastSeq).toBe(items.length);
      expect(p.body.lastSeq).toBe(items.length);
      const logged = new Map(
        items.filter((e) => e.type === 'workflow:log').map((e) => [e.data.message as string, e.seq]),
      );
      for (const a of answers) if (a.res.status === 201) expect(logged.get(a.message)).toBe(a.res.body.id);
    });
  },
);
