import { useServer, type ServerFixture } from './support/fixture';
import { Client, client, createKey, expectStatus, pool } from './support/http';
import {
  createWorkflow,
  metric,
  projectLastSeq,
  rangeProblems,
  restEvents,
  waitFor,
} from './support/live-clients';
import { execSql, usingMysql, type TestDatabase } from './support/test-db';
import { verifyStepline, WebhookReceiver } from './support/webhook-receiver';

/**
 * CONTRACT §15 against the real built server and a real HTTP receiver on 127.0.0.1 (allowed through
 * WEBHOOK_ALLOWED_HOSTS=127.0.0.1). Nothing here connects anywhere outside 127.0.0.0/8: the SSRF refusals are
 * checked at creation, before any connection, and the connect-time check has its unit spec
 * (src/modules/webhooks/webhook-sender.spec.ts) with an injected resolver.
 */

const ALLOW = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' };

/** `n` events (one workflow:created, then logs) in project `projectId`, from `writers` parallel writers. */
async function writeEvents(
  api: Client,
  projectId: string,
  n: number,
  tag: string,
  writers = 8,
): Promise<void> {
  const wf = `${tag}-wf`;
  await createWorkflow(api, projectId, wf);
  await pool(
    Array.from({ length: n - 1 }, (_, i) => i),
    writers,
    async (i) => {
      const res = await api.post(`/api/workflows/${wf}/logs`, { level: 'info', message: `${tag} ${i}` });
      expectStatus(res, 201);
    },
  );
}

async function createHook(api: Client, projectId: string, body: Record<string, unknown>) {
  const res = await api.post(`/api/projects/${projectId}/webhooks`, body);
  expectStatus(res, 201);
  return res.body as { id: string; url: string; types: string[]; secret: string; cursor: number };
}

async function hookState(api: Client, projectId: string, id: string) {
  const res = await api.get(`/api/projects/${projectId}/webhooks`);
  expectStatus(res, 200);
  return (res.body.items as any[]).find((w) => w.id === id);
}

/** Waits until the receiver holds every seq of 1..last (deduped), at most `timeoutMs`. */
async function waitAll(rx: WebhookReceiver, path: string, last: number, timeoutMs = 20_000) {
  await waitFor(
    () => rx.distinctSeqs(path).length >= last,
    `${last} events at ${path} (have ${rx.distinctSeqs(path).length})`,
    { timeoutMs },
  );
}

describe('webhooks (CONTRACT §15)', () => {
  let api: Client;
  let baseUrl: string;
  let db: TestDatabase;
  let rx: WebhookReceiver;
  useServer(({ admin, server, db: database }) => {
    api = admin;
    baseUrl = server.url;
    db = database;
  }, ALLOW);
  beforeAll(async () => {
    rx = await WebhookReceiver.start();
  });
  afterAll(() => rx.close());

  it('validates the body with the contract error (unknown fields, types, from, url) and writes nothing', async () => {
    const p = 'wh-valid';
    const bad: Array<[unknown, string]> = [
      [{ url: rx.url('/v'), color: 'red' }, 'color'],
      [{ url: rx.url('/v'), types: ['workflow:exploded'] }, 'types'],
      [{ url: rx.url('/v'), types: [] }, 'types'],
      [{ url: rx.url('/v'), from: 'yesterday' }, 'from'],
      [{ url: 'ftp://127.0.0.1/x' }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'http://[fe80::1%25eth0]/' }, 'url'], // passes @IsUrl, but the URL parser refuses it
      [{}, 'url'],
    ];
    for (const [body, field] of bad) {
      const res = await api.post(`/api/projects/${p}/webhooks`, body);
      expectStatus(res, 400, 'validation_failed');
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
      if (field === 'url')
        expect(res.body.details.filter((d: { field: string }) => d.field !== 'url')).toEqual([]);
    }
    expect((await api.get(`/api/projects/${p}/webhooks`)).body).toEqual({ items: [] });
  });

  it('writes need a producer key in the project scope; viewers list, with the URL credentials hidden', async () => {
    const viewer = api.withToken(await createKey(api, 'viewer', ['wh-auth']));
    const otherViewer = api.withToken(await createKey(api, 'viewer', ['elsewhere']));
    const other = api.withToken(await createKey(api, 'producer', ['elsewhere']));
    const producer = api.withToken(await createKey(api, 'producer', ['wh-auth']));
    const withCredentials = rx.url('/a').replace('http://', 'http://hookuser:hookpass@');
    expectStatus(
      await viewer.post('/api/projects/wh-auth/webhooks', { url: rx.url('/a') }),
      403,
      'forbidden',
    );
    expectStatus(await other.post('/api/projects/wh-auth/webhooks', { url: rx.url('/a') }), 403, 'forbidden');
    const created = await createHook(producer, 'wh-auth', { url: withCredentials });
    expect(created.url).toBe(withCredentials);
    // producers and admins see the URL as created; a viewer of the project sees it without its user info
    for (const reader of [producer, api]) {
      const res = await reader.get('/api/projects/wh-auth/webhooks');
      expectStatus(res, 200);
      expect(res.body.items.map((w: any) => w.url)).toEqual([withCredentials]);
    }
    const seen = await viewer.get('/api/projects/wh-auth/webhooks');
    expectStatus(seen, 200);
    expect(seen.body.items).toEqual([
      expect.objectContaining({ id: created.id, url: rx.url('/a').replace('http://', 'http://***@') }),
    ]);
    expect(JSON.stringify(seen.body)).not.toMatch(/hookuser|hookpass/);
    expectStatus(await otherViewer.get('/api/projects/wh-auth/webhooks'), 403, 'forbidden');
    expectStatus(await viewer.del(`/api/projects/wh-auth/webhooks/${created.id}`), 403, 'forbidden');
    expectStatus(await api.del(`/api/projects/other-project/webhooks/${created.id}`), 404, 'not_found');
    expectStatus(await producer.del(`/api/projects/wh-auth/webhooks/${created.id}`), 200);
    expectStatus(await producer.del(`/api/projects/wh-auth/webhooks/${created.id}`), 404, 'not_found');
  });

  it('creates with the secret shown once, sends nothing on creation, lists state; from "now" starts after the current seq', async () => {
    const p = 'wh-create';
    await writeEvents(api, p, 5, 'c');
    const last = await projectLastSeq(api, p);
    const hook = await createHook(api, p, { url: rx.url('/create') });
    expect(hook).toEqual({
      id: expect.any(String),
      url: rx.url('/create'),
      types: expect.arrayContaining(['workflow:created', 'workflow:log', 'workflow:completed']),
      secret: expect.stringMatching(/^whsec_/),
      cursor: last,
    });
    expect(hook.types).toHaveLength(13); // every event type, workflow:step:slow (§13) included
    const listed = await hookState(api, p, hook.id);
    expect(listed).toEqual({
      id: hook.id,
      url: hook.url,
      types: hook.types,
      cursor: last,
      lastDeliveredAt: null,
      lastError: null,
      failingSince: null,
    });
    expect(JSON.stringify((await api.get(`/api/projects/${p}/webhooks`)).body)).not.toContain(hook.secret);
    // the first request the receiver ever sees for it carries the event written after creation, nothing else
    const res = await api.post(`/api/workflows/c-wf/logs`, { level: 'info', message: 'after' });
    expectStatus(res, 201);
    await waitFor(() => rx.on('/create').length > 0, 'the first delivery');
    const first = rx.on('/create')[0];
    expect(first.body.webhookId).toBe(hook.id);
    expect(first.body.events.map((e: { seq: number }) => e.seq)).toEqual([last + 1]);
    expect(first.headers['stepline-webhook-id']).toBe(hook.id);
    expect(verifyStepline(hook.secret, first.raw, first.headers['stepline-signature'] as string)).toBe(true);
    await waitFor(
      async () => (await hookState(api, p, hook.id)).cursor === last + 1,
      'the cursor to advance',
    );
    expect((await hookState(api, p, hook.id)).lastDeliveredAt).toEqual(expect.any(String));
  });

  it('delivers 1,000 events in seq order with no gap, in batches of at most 100, every signature valid', async () => {
    const p = 'wh-thousand';
    const hook = await createHook(api, p, { url: rx.url('/thousand'), from: 'start' });
    await writeEvents(api, p, 1000, 't');
    const last = await projectLastSeq(api, p);
    expect(last).toBe(1000);
    await waitAll(rx, '/thousand', last);
    expect(rangeProblems(rx.seqs('/thousand'), 1, last)).toEqual([]);
    for (const r of rx.on('/thousand')) {
      expect(r.body.events.length).toBeGreaterThanOrEqual(1);
      expect(r.body.events.length).toBeLessThanOrEqual(100);
      expect(verifyStepline(hook.secret, r.raw, r.headers['stepline-signature'] as string)).toBe(true);
    }
    // the payload is the log's own envelope
    const logged = await restEvents(api, p);
    expect(rx.on('/thousand').flatMap((r) => r.body.events)).toEqual(logged);
    await waitFor(async () => (await hookState(api, p, hook.id)).cursor === last, 'cursor = lastSeq');
    const label = `{webhook="${hook.id}"}`;
    expect(await metric(baseUrl, 'stepline_webhook_events_delivered_total', label)).toBe(1000);
    expect(await metric(baseUrl, 'stepline_webhook_deliveries_total', label)).toBe(rx.on('/thousand').length);
    await waitFor(async () => (await metric(baseUrl, 'stepline_webhook_lag_seqs', label)) === 0, 'lag 0');
  });

  it('sends only the selected types; the cursor moves past the others', async () => {
    const p = 'wh-types';
    const hook = await createHook(api, p, {
      url: rx.url('/types'),
      types: ['workflow:created'],
      from: 'start',
    });
    await writeEvents(api, p, 30, 'ty1');
    await writeEvents(api, p, 30, 'ty2');
    const last = await projectLastSeq(api, p);
    await waitFor(
      async () => (await hookState(api, p, hook.id)).cursor === last,
      'the cursor to pass every event',
    );
    const got = rx.on('/types').flatMap((r) => r.body.events);
    expect(got.map((e: { type: string }) => e.type)).toEqual(['workflow:created', 'workflow:created']);
    expect(got.map((e: { workflowId: string }) => e.workflowId)).toEqual(['ty1-wf', 'ty2-wf']);
  });

  it('passes over unselected events without writing the cursor on every wake-up', async () => {
    const p = 'wh-skip';
    // a trigger records every change of a webhook's cursor in the database
    await execSql(db, 'CREATE TABLE wh_cursor_writes (id VARCHAR(64) NOT NULL, cursor_seq BIGINT NOT NULL)');
    await execSql(
      db,
      db.kind === 'sqlite'
        ? 'CREATE TRIGGER wh_cursor_count AFTER UPDATE OF cursor_seq ON webhooks WHEN NEW.cursor_seq <> OLD.cursor_seq BEGIN INSERT INTO wh_cursor_writes VALUES (NEW.id, NEW.cursor_seq); END'
        : 'CREATE TRIGGER wh_cursor_count AFTER UPDATE ON webhooks FOR EACH ROW INSERT INTO wh_cursor_writes SELECT NEW.id, NEW.cursor_seq FROM DUAL WHERE NEW.cursor_seq <> OLD.cursor_seq',
    );
    const hook = await createHook(api, p, { url: rx.url('/skip'), types: ['workflow:completed'] });
    // 40 commits one after the other, each waking the webhook's loop, none of a selected type
    await writeEvents(api, p, 40, 'sk', 1);
    const last = await projectLastSeq(api, p);
    await waitFor(async () => (await hookState(api, p, hook.id)).cursor === last, 'the cursor past them all');
    const writes = await execSql(db, 'SELECT cursor_seq FROM wh_cursor_writes WHERE id = ?', [hook.id]);
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes.length).toBeLessThanOrEqual(3); // at most one write per 2 s, not one per wake-up
    expect(rx.on('/skip')).toEqual([]);
  });

  it('a receiver answering 500 for 20 s, then 200, gets everything in order (backoff 1, 2, 4, 8, 16 s; the failure shown, then cleared)', async () => {
    const p = 'wh-retry';
    // 500 for 20 s from the first request it sees, then the receiver's normal 200
    let failUntil = 0;
    const prev = rx.answer;
    rx.answer = (r) => {
      if (r.path !== '/retry') return prev(r);
      if (failUntil === 0) failUntil = Date.now() + 20_000;
      return Date.now() < failUntil ? 500 : prev(r);
    };
    try {
      const hook = await createHook(api, p, { url: rx.url('/retry'), from: 'start' });
      await writeEvents(api, p, 150, 'r');
      await waitFor(async () => (await hookState(api, p, hook.id)).lastError !== null, 'lastError', {
        timeoutMs: 5000,
      });
      const failing = await hookState(api, p, hook.id);
      expect(failing.lastError).toMatch(/HTTP 500/);
      expect(failing.failingSince).toEqual(expect.any(String));
      expect(failing.cursor).toBe(0);
      const last = await projectLastSeq(api, p);
      await waitAll(rx, '/retry', last, 50_000);
      const attempts = rx.on('/retry');
      // attempts at 0, 1, 3, 7, 15 s are refused; the one at 31 s is the first after the 20 s: the same first
      // batch six times, then in order
      expect(attempts.slice(0, 6).map((r) => r.body.events[0].seq)).toEqual([1, 1, 1, 1, 1, 1]);
      const gaps = [1, 2, 3, 4, 5].map((i) => attempts[i].at - attempts[i - 1].at);
      [1, 2, 4, 8, 16].forEach((s, i) => expect(gaps[i]).toBeGreaterThanOrEqual(s * 1000 - 100));
      expect(gaps[4]).toBeLessThan(32_000); // doubling, not more
      expect(attempts[5].at).toBeGreaterThanOrEqual(failUntil);
      expect(rangeProblems(rx.distinctSeqs('/retry'), 1, last)).toEqual([]);
      expect(
        rangeProblems(
          attempts.slice(5).flatMap((r) => r.body.events.map((e: any) => e.seq)),
          1,
          last,
        ),
      ).toEqual([]);
      await waitFor(async () => (await hookState(api, p, hook.id)).lastError === null, 'the failure cleared');
      const ok = await hookState(api, p, hook.id);
      expect(ok.failingSince).toBeNull();
      expect(
        await metric(baseUrl, 'stepline_webhook_delivery_failures_total', `{webhook="${hook.id}"}`),
      ).toBe(5);
    } finally {
      rx.answer = prev;
    }
  }, 90_000);

  it('DELETE stops delivery (a second webhook on the same project is the sentinel)', async () => {
    const p = 'wh-delete';
    // both exist before the DELETE, so the same commits wake both loops
    const doomed = await createHook(api, p, { url: rx.url('/doomed') });
    const sentinel = await createHook(api, p, { url: rx.url('/sentinel') });
    await writeEvents(api, p, 10, 'd1');
    const before = await projectLastSeq(api, p);
    await waitAll(rx, '/doomed', before);
    await waitAll(rx, '/sentinel', before);
    expectStatus(await api.del(`/api/projects/${p}/webhooks/${doomed.id}`), 200);
    await writeEvents(api, p, 10, 'd2');
    const after = await projectLastSeq(api, p);
    await waitFor(
      () => rx.distinctSeqs('/sentinel').includes(after),
      'the sentinel to receive the later events',
    );
    // one more write-and-wait round: a delivery of the deleted one still under way would have landed by now
    expectStatus(await api.post('/api/workflows/d2-wf/logs', { level: 'info', message: 'last' }), 201);
    const last = await projectLastSeq(api, p);
    await waitFor(
      () => rx.distinctSeqs('/sentinel').includes(last),
      'the sentinel to receive the last event',
    );
    expect(Math.max(...rx.seqs('/doomed'))).toBe(before);
    expect((await api.get(`/api/projects/${p}/webhooks`)).body.items.map((w: any) => w.id)).toEqual([
      sentinel.id,
    ]);
  });
});

describe('webhooks: hanging endpoints outnumbering WEBHOOK_CONCURRENCY', () => {
  let api: Client;
  let rx: WebhookReceiver;
  // 3 hanging endpoints against 2 slots: were every request to share the slots, the healthy one would wait
  useServer(({ admin }) => (api = admin), { ...ALLOW, WEBHOOK_CONCURRENCY: '2' });
  beforeAll(async () => {
    rx = await WebhookReceiver.start();
  });
  afterAll(() => rx.close());

  /** `rounds` writes, each followed by waiting for its seq at the fast endpoint: every latency measured. */
  async function rounds(p: string, n: number, tag: string): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      const res = await api.post('/api/workflows/hang-wf/logs', { level: 'info', message: `${tag}${i}` });
      expectStatus(res, 201);
      const seq = await projectLastSeq(api, p);
      latencies.push(Date.now() - t0);
      const w0 = Date.now();
      await waitFor(() => rx.distinctSeqs('/fast').includes(seq), `seq ${seq} at the fast endpoint`, {
        timeoutMs: 3000,
        intervalMs: 5,
      });
      latencies.push(Date.now() - w0);
    }
    return latencies;
  }

  it('a receiver that hangs 10 s per request slows neither another endpoint nor REST writes', async () => {
    const p = 'wh-hang';
    const slow = await WebhookReceiver.start();
    slow.answer = () => 'hang';
    try {
      await createHook(api, p, { url: slow.url('/slow1') });
      await createHook(api, p, { url: slow.url('/slow2') });
      await createHook(api, p, { url: slow.url('/slow3') });
      await createHook(api, p, { url: rx.url('/fast') });
      await createWorkflow(api, p, 'hang-wf');
      await waitFor(() => slow.requests.length >= 3, 'the slow endpoints to be hanging');
      const first = await rounds(p, 20, 'm');
      // all this happened while the slow endpoints still hung on their first request
      expect(slow.requests.length).toBe(3);
      expect(Math.max(...first)).toBeLessThan(1500);
      // they time out (10 s) and retry, now failing: two hang in the slots, the third queues for one
      await waitFor(() => slow.requests.length >= 5, 'the slow endpoints to retry', { timeoutMs: 15_000 });
      const retrying = await rounds(p, 10, 'n');
      expect(slow.requests.length).toBe(5);
      expect(Math.max(...retrying)).toBeLessThan(1500);
    } finally {
      await slow.close();
    }
  }, 45_000);
});

describe('webhooks: SSRF refusals at creation (no WEBHOOK_ALLOWED_HOSTS)', () => {
  let api: Client;
  useServer(({ admin }) => (api = admin));

  it.each([
    ['http://127.0.0.1:9/hook', /127\.0\.0\.1/],
    ['http://10.0.0.1/hook', /10\.0\.0\.1/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/],
    ['http://localhost:9/hook', /localhost resolves to/],
    ['http://[::1]:9/hook', /::1/],
    ['https://100.100.100.200/', /100\.100\.100\.200/],
  ])(
    'refuses %s with 400 validation_failed on a project with no events, storing nothing',
    async (url, why) => {
      const p = 'wh-ssrf';
      const res = await api.post(`/api/projects/${p}/webhooks`, { url });
      expectStatus(res, 400, 'validation_failed');
      expect(res.body.details).toEqual([{ field: 'url', message: expect.stringMatching(why) }]);
      expect((await api.get(`/api/projects/${p}/webhooks`)).body).toEqual({ items: [] });
      expect(await projectLastSeq(api, p)).toBe(0);
    },
  );
});

describe('webhooks: a cursor older than the log keeps', () => {
  let api: Client;
  let rx: WebhookReceiver;
  useServer(({ admin }) => (api = admin), {
    ...ALLOW,
    EVENT_RETENTION_HOURS: '0.0002',
    SWEEP_INTERVAL_MS: '100',
  });
  beforeAll(async () => {
    rx = await WebhookReceiver.start();
  });
  afterAll(() => rx.close());

  it('gets one { reset: true, lastSeq, snapshot } delivery, then the events after lastSeq', async () => {
    const p = 'wh-reset';
    await writeEvents(api, p, 5, 'old');
    await waitFor(
      async () => (await api.get(`/api/projects/${p}/events?after=0`)).body.reset === true,
      'the trim',
      {
        timeoutMs: 15_000,
      },
    );
    const lastSeq = await projectLastSeq(api, p);
    const hook = await createHook(api, p, { url: rx.url('/reset'), from: 'start' });
    await waitFor(() => rx.on('/reset').length > 0, 'the reset delivery');
    const first = rx.on('/reset')[0];
    expect(first.body).toEqual({
      webhookId: hook.id,
      reset: true,
      lastSeq,
      snapshot: { workflows: [expect.objectContaining({ id: 'old-wf', projectId: p })], truncated: false },
    });
    // the snapshot's workflow is the workflow as GET answers it at lastSeq (§12)
    expect(first.body.snapshot.workflows[0]).toEqual((await api.get('/api/workflows/old-wf')).body);
    expect(verifyStepline(hook.secret, first.raw, first.headers['stepline-signature'] as string)).toBe(true);
    const res = await api.post(`/api/workflows/old-wf/logs`, { level: 'info', message: 'new' });
    expectStatus(res, 201);
    await waitFor(() => rx.distinctSeqs('/reset').includes(lastSeq + 1), 'the next event');
    expect(rx.on('/reset').filter((r) => r.body.reset).length).toBe(1);
    expect(rx.seqs('/reset')[0]).toBe(lastSeq + 1);
  });
});

describe('webhooks: SIGKILL of the delivering instance mid-batch', () => {
  let fx: ServerFixture;
  useServer((f) => (fx = f), ALLOW);
  it('loses nothing: after a restart every seq arrives (the receiver dedupes by seq)', async () => {
    const rx = await WebhookReceiver.start();
    try {
      const api = fx.admin;
      const p = 'wh-kill';
      await writeEvents(api, p, 400, 'k');
      const last = await projectLastSeq(api, p);
      // the receiver takes 300 ms per batch: the kill lands while a batch is in flight
      let killing: Promise<void> | undefined;
      rx.answer = async () => {
        if (rx.requests.length === 2 && !killing) killing = fx.server.kill();
        await new Promise((r) => setTimeout(r, 300));
        return 200;
      };
      await createHook(api, p, { url: rx.url('/kill'), from: 'start' });
      await waitFor(() => killing !== undefined, 'the kill mid-batch');
      await killing;
      expect(rx.distinctSeqs('/kill').length).toBeLessThan(last);
      await fx.restart({ crash: true }); // already dead: starts it again on the same database and port
      await waitAll(rx, '/kill', last, 40_000); // the dead instance's lease runs out first (15 s)
      expect(rangeProblems(rx.distinctSeqs('/kill'), 1, last)).toEqual([]);
    } finally {
      await rx.close();
    }
  }, 90_000);
});

const describeOnMysql = usingMysql() ? describe : describe.skip;

describeOnMysql('webhooks: two instances with REDIS_URL', () => {
  let fx: ServerFixture;
  useServer((f) => (fx = f), { ...ALLOW, REDIS_URL: 'redis://127.0.0.1:6379' });
  it('deliver each event once across the cluster, wherever it was written', async () => {
    const rx = await WebhookReceiver.start();
    const a = fx.server;
    const b = await fx.start();
    try {
      const apiA = client(a.url);
      const apiB = client(b.url);
      const p = 'wh-two';
      await createHook(apiA, p, { url: rx.url('/two'), from: 'start' });
      await createHook(apiB, p, { url: rx.url('/two-b'), from: 'start' });
      await Promise.all([writeEvents(apiA, p, 150, 'ta', 4), writeEvents(apiB, p, 150, 'tb', 4)]);
      const last = await projectLastSeq(apiA, p);
      for (const path of ['/two', '/two-b']) {
        await waitAll(rx, path, last);
        expect(rangeProblems(rx.seqs(path), 1, last)).toEqual([]); // each once, in order
      }

      // DELETE through the instance that does not deliver it: the one that does stops (told through Redis)
      const doomed = await createHook(apiA, p, { url: rx.url('/two-doomed') });
      await writeEvents(apiA, p, 5, 'tc', 1);
      const before = await projectLastSeq(apiA, p);
      await waitAll(rx, '/two-doomed', before - last);
      const label = `{webhook="${doomed.id}"}`;
      const byA = (await metric(a.url, 'stepline_webhook_deliveries_total', label)) ?? 0;
      const byB = (await metric(b.url, 'stepline_webhook_deliveries_total', label)) ?? 0;
      expect([byA, byB].filter((n) => n > 0)).toHaveLength(1); // one instance delivered it
      const other = byA > 0 ? apiB : apiA;
      expectStatus(await other.del(`/api/projects/${p}/webhooks/${doomed.id}`), 200);
      await writeEvents(apiA, p, 5, 'td', 1);
      const after = await projectLastSeq(apiA, p);
      await waitFor(() => rx.distinctSeqs('/two').includes(after), 'the next events at the first webhook');
      expect(Math.max(...rx.seqs('/two-doomed'))).toBe(before);
    } finally {
      await rx.close();
    }
  }, 60_000);
});
