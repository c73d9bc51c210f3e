import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, Client, createKey, expectStatus, pool } from './support/http';
import {
  ack,
  closeAllSockets,
  closeAllStreams,
  connectSocket,
  createWorkflow,
  metric,
  openSocket,
  progress,
  projectLastSeq,
  rangeProblems,
  restEvents,
  sleep,
  SocketCollector,
  SseClient,
  waitFor,
} from './support/live-clients';
import { ADMIN_TOKEN, RunningServer, startServer } from './support/server';
import { TcpProxy } from './support/tcp-proxy';
import { TestDatabase, usingMysql } from './support/test-db';
import { ServerFixture, useServer } from './support/fixture';
import { claimWakeLags, wokenFast } from './support/long-poll';

/**
 * CONTRACT §9: several real instances (separate processes, different ports) on one MariaDB and one Redis
 * behave as one service. Instance A reaches Redis through a TCP proxy the test can take down, so that its
 * messages are really lost; B and C reach Redis directly. Every test writes through some instances and
 * watches through others with real socket.io-client sockets, EventSource streams and HTTP workers.
 *
 * MariaDB only: SQLite is a file that one process owns (REDIS_URL with SQLite is refused at start, checked
 * first, on every database). Redis channels are namespaced by the database name, which is fresh per run,
 * so parallel runs never hear each other; nothing global in Redis is touched.
 */

const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;
const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** A connected admin socket with a collector attached before anything is subscribed. */
async function watcher(url: string, token: string) {
  const socket = openSocket(url, { token });
  const col = new SocketCollector(socket);
  await connectSocket(url, {}, socket);
  return { socket, col };
}

async function subscribe(socket: ReturnType<typeof openSocket>, projectId: string, since?: number) {
  const a = await ack(socket, 'subscribe', since === undefined ? { projectId } : { projectId, since });
  expect(a).toMatchObject({ ok: true });
  return a as { ok: true; lastSeq: number; replayed: number };
}

describe('scale-out configuration', () => {
  it('refuses REDIS_URL with an SQLite database at start, naming the variable (instances cannot share the file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepline-scale-'));
    try {
      const err = await startServer({
        databaseUrl: `sqlite:${join(dir, 'x.sqlite')}`,
        env: { REDIS_URL },
      }).then(
        async (s) => {
          await s.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/server exited early/);
      expect(err?.message).toMatch(/REDIS_URL/);
      expect(err?.message).toMatch(/SQLite/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const describeOnMysql = usingMysql() ? describe : describe.skip;

describeOnMysql(
  'several instances on one MariaDB + Redis (REDIS_URL; skipped unless DATABASE_URL is mysql://)',
  () => {
    let fx: ServerFixture;
    let db: TestDatabase;
    let redisProxy: TcpProxy;
    let a: RunningServer;
    let b: RunningServer;
    let c: RunningServer;
    let apiA: Client;
    let apiB: Client;
    let apiC: Client;
    const admin = ADMIN_TOKEN;
    let n = 0;
    const project = (name: string) => `so-${name}-${++n}`;

    // the fixture owns the database and every instance (stopped before the Redis proxy goes down)
    useServer(
      (f) => {
        fx = f;
        db = f.db;
      },
      undefined,
      { start: false },
    );

    beforeAll(async () => {
      redisProxy = await TcpProxy.create(REDIS_HOST, REDIS_PORT);
      await redisProxy.up();
      // A first (it migrates), then B and C together
      a = await fx.start({ env: { REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` } });
      [b, c] = await Promise.all([fx.start({ env: { REDIS_URL } }), fx.start({ env: { REDIS_URL } })]);
      apiA = client(a.url);
      apiB = client(b.url);
      apiC = client(c.url);
    });

    afterEach(() => {
      closeAllSockets();
      closeAllStreams();
    });

    afterAll(async () => {
      closeAllSockets();
      closeAllStreams();
      if (process.env.SCALE_OUT_LOGS)
        for (const [name, s] of [
          ['A', a],
          ['B', b],
          ['C', c],
        ] as const)
          process.stdout.write(`\n--- instance ${name} ---\n${s?.output()}\n`);
      await redisProxy?.down();
    });

    it('events written through A and C reach a socket and an SSE stream on B within 1 s each, contiguous and in order', async () => {
      const p = project('fanout');
      const { socket, col } = await watcher(b.url, admin);
      await subscribe(socket, p);
      const sse = new SseClient(`${b.url}/api/projects/${p}/status?access_token=${admin}`);
      await sse.waitOpen();

      // single writes through A, one at a time: each reaches B's socket and stream within 1 s of being sent
      await createWorkflow(apiA, p, `${p}-one`);
      for (let i = 1; i <= 20; i++) {
        const sent = Date.now();
        await progress(apiA, `${p}-one`, 's', { progress: i });
        const seq = await projectLastSeq(apiA, p);
        await col.waitForSeq(seq, 1000 - (Date.now() - sent));
        await sse.waitForSeq(seq, Math.max(1, 1000 - (Date.now() - sent)));
      }

      // then concurrent writers on one project through A and C at once: B sees one contiguous seq order
      const ids = ['w0', 'w1', 'w2', 'w3'].map((w) => `${p}-${w}`);
      await Promise.all(ids.map((id, i) => createWorkflow(i % 2 ? apiC : apiA, p, id)));
      await Promise.all(
        ids.map(async (id, i) => {
          const api = i % 2 ? apiC : apiA;
          for (let k = 1; k <= 50; k++) await progress(api, id, 's', { current: k, total: 50 });
        }),
      );
      const last = await projectLastSeq(apiB, p);
      expect(last).toBeGreaterThan(4 * 50 + 20);
      await col.waitForSeq(last);
      await sse.waitForSeq(last);
      expect(rangeProblems(col.seqs(p), 1, last)).toEqual([]);
      expect(rangeProblems(sse.seqs(), 1, last)).toEqual([]);
      // what B delivered is what the log holds, envelope for envelope
      const log = await restEvents(apiB, p);
      expect(col.envelopes).toEqual(log);
      expect(sse.events).toEqual(log);
    });

    it('workflow:step:slow (§13): exactly one per slow step across the instances, detected by one of them', async () => {
      const p = project('slow');
      const apis = [apiA, apiB, apiC];
      const post = async (api: Client, path: string, body: unknown, status = 200) => {
        const res = await api.post(path, body);
        expectStatus(res, status);
        return res.body;
      };
      const create = (api: Client, id: string) =>
        post(api, `/api/projects/${p}/workflows`, { id, type: 'slowx', steps: [{ id: 'x' }] }, 201);
      // 5 recorded runs of x (~100 ms), written through all three instances
      for (let i = 0; i < 5; i++) {
        const api = apis[i % 3];
        await create(api, `${p}-h${i}`);
        await post(api, `/api/workflows/${p}-h${i}/steps/x/start`, {});
        await sleep(100);
        await post(api, `/api/workflows/${p}-h${i}/steps/x/complete`, {});
      }
      const before = await Promise.all(
        [a, b, c].map(async (s) => (await metric(s.url, 'stepline_slow_steps_total')) ?? 0),
      );
      const { socket, col } = await watcher(b.url, admin);
      await subscribe(socket, p);
      const slowOn = (id: string) => () =>
        col.envelopes.find((e) => e.type === 'workflow:step:slow' && e.workflowId === id);
      // six slow steps, started through all three instances
      const ids = Array.from({ length: 6 }, (_, i) => `${p}-s${i}`);
      await Promise.all(
        ids.map(async (id, i) => {
          await create(apis[i % 3], id);
          await post(apis[(i + 1) % 3], `/api/workflows/${id}/steps/x/start`, {});
        }),
      );
      for (const id of ids)
        await waitFor(slowOn(id), `workflow:step:slow for ${id} on B`, { timeoutMs: 5000 });
      // sentinel: one more slow step, found by a later sweep — by then a duplicate of the six would be here
      await create(apiC, `${p}-sentinel`);
      await post(apiA, `/api/workflows/${p}-sentinel/steps/x/start`, {});
      await waitFor(slowOn(`${p}-sentinel`), 'the sentinel slow step', { timeoutMs: 5000 });
      for (const id of [...ids, `${p}-sentinel`])
        await post(apiB, `/api/workflows/${id}/steps/x/complete`, {});

      const slows = (await restEvents(apiA, p)).filter((e) => e.type === 'workflow:step:slow');
      expect(slows.map((e) => e.workflowId).sort()).toEqual([...ids, `${p}-sentinel`].sort());
      expect(col.envelopes.filter((e) => e.type === 'workflow:step:slow')).toHaveLength(7);
      // recorded by one instance (the one holding the sweep's lease), none twice
      const after = await Promise.all(
        [a, b, c].map(async (s) => (await metric(s.url, 'stepline_slow_steps_total')) ?? 0),
      );
      const recorded = after.map((v, i) => v - before[i]);
      expect(recorded.reduce((x, y) => x + y, 0)).toBe(7);
      expect(recorded.filter((v) => v > 0)).toHaveLength(1);
    });

    it('a batched subscriber (batch: true) on B gets what a plain one gets, written through A and C, in `events` messages', async () => {
      const p = project('batched');
      const { socket: bs, col: bc } = await watcher(b.url, admin);
      const { socket: ps, col: pc } = await watcher(b.url, admin);
      expect(await ack(bs, 'subscribe', { projectId: p, batch: true })).toMatchObject({
        ok: true,
        batch: true,
      });
      await subscribe(ps, p);
      const ids = ['w0', 'w1', 'w2', 'w3'].map((w) => `${p}-${w}`);
      await Promise.all(ids.map((id, i) => createWorkflow(i % 2 ? apiC : apiA, p, id)));
      await Promise.all(
        ids.map(async (id, i) => {
          const api = i % 2 ? apiC : apiA;
          for (let k = 1; k <= 40; k++) await progress(api, id, 's', { current: k, total: 40 });
        }),
      );
      // and a batch of 200 through A: one commit, many events at once
      const updates = Array.from({ length: 200 }, (_, k) => ({
        workflowId: ids[k % 4],
        stepId: 's',
        current: 1000 + k,
        total: 2000,
      }));
      expectStatus(await apiA.post('/api/progress', { updates }), 200);
      const last = await projectLastSeq(apiB, p);
      await bc.waitForSeq(last);
      await pc.waitForSeq(last);
      expect(rangeProblems(bc.seqs(p), 1, last)).toEqual([]);
      expect(bc.envelopes).toEqual(pc.envelopes);
      expect(bc.envelopes).toEqual(await restEvents(apiB, p));
      expect(bc.unbatched()).toBe(0);
      expect(Math.max(...bc.batches)).toBeGreaterThan(1);
    });

    it('a subscriber that moves from A to B with `since` misses nothing and gets nothing twice', async () => {
      const p = project('move');
      await createWorkflow(apiC, p, `${p}-w`);
      let stop = false;
      let written = 0;
      const writer = (async () => {
        for (let k = 1; !stop; k++) {
          await progress(k % 2 ? apiA : apiC, `${p}-w`, 's', { current: k, total: 1_000_000 });
          written++;
        }
      })();
      try {
        const first = await watcher(a.url, admin);
        await subscribe(first.socket, p, 0);
        await waitFor(() => written >= 40, '40 writes');
        await first.col.waitForSeq(20);
        first.socket.close();
        const seen = first.col.seqs(p);
        const resumeFrom = seen[seen.length - 1];

        const second = await watcher(b.url, admin);
        await subscribe(second.socket, p, resumeFrom);
        const until = written + 40;
        await waitFor(() => written >= until, '40 more writes');
        stop = true;
        await writer;
        const last = await projectLastSeq(apiB, p);
        await second.col.waitForSeq(last);
        expect(rangeProblems([...seen, ...second.col.seqs(p)], 1, last)).toEqual([]);
      } finally {
        stop = true;
        await writer;
      }
    });

    it("a lost message (A's link to Redis cut) is detected by seq and read from the log, also when it is the last one", async () => {
      const p = project('lost');
      await createWorkflow(apiA, p, `${p}-w`);
      const { socket, col } = await watcher(b.url, admin);
      await subscribe(socket, p, 0);
      const sse = new SseClient(`${c.url}/api/projects/${p}/status?access_token=${admin}`, {
        lastEventId: '0',
      });
      await sse.waitOpen();
      await col.waitForSeq(1);
      const lostBefore =
        (await metric(a.url, 'stepline_cluster_messages_total', '{direction="lost",topic="events"}')) ?? 0;
      const fillsBefore =
        (await metric(b.url, 'stepline_event_gap_fills_total', '{consumer="delivery"}')) ?? 0;

      await redisProxy.down();
      try {
        // writes through A still succeed (Redis is not needed to write), but A cannot announce them;
        // the last of them is followed by nothing: only the counter check can reveal it on B and C
        for (let k = 1; k <= 10; k++) await progress(apiA, `${p}-w`, 's', { progress: k * 5 });
        const last = await projectLastSeq(apiA, p);
        expect(last).toBeGreaterThanOrEqual(11);
        await col.waitForSeq(last, 10_000);
        await sse.waitForSeq(last, 10_000);
        expect(rangeProblems(col.seqs(p), 1, last)).toEqual([]);
        expect(rangeProblems(sse.seqs(), 1, last)).toEqual([]);
        // the messages were really lost, and B filled the hole from the log
        expect(
          await metric(a.url, 'stepline_cluster_messages_total', '{direction="lost",topic="events"}'),
        ).toBeGreaterThan(lostBefore);
        expect(
          await metric(b.url, 'stepline_event_gap_fills_total', '{consumer="delivery"}'),
        ).toBeGreaterThan(fillsBefore);
      } finally {
        await redisProxy.up();
      }

      // Redis back: A reconnects by itself and its events flow through Redis again
      const sent = () =>
        metric(a.url, 'stepline_cluster_messages_total', '{direction="sent",topic="events"}');
      const sentBefore = (await sent()) ?? 0;
      await waitFor(
        async () => {
          const res = await apiA.post(`/api/workflows/${p}-w/logs`, { level: 'info', message: 'back' });
          expectStatus(res, 201);
          return ((await sent()) ?? 0) > sentBefore;
        },
        'A publishing again',
        { timeoutMs: 15_000, intervalMs: 300 },
      );
      const last = await projectLastSeq(apiA, p);
      await col.waitForSeq(last);
      await sse.waitForSeq(last);
      expect(rangeProblems(col.seqs(p), 1, last)).toEqual([]);
      expect(rangeProblems(sse.seqs(), 1, last)).toEqual([]);
    });

    it('an instance started while Redis is away serves at once (its events reach B through the database), then joins by itself', async () => {
      const p = project('late-redis');
      const proxy = await TcpProxy.create(REDIS_HOST, REDIS_PORT); // down: nothing listens there yet
      const e = await fx.start({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
      try {
        const apiE = client(e.url);
        const onB = await watcher(b.url, admin);
        await subscribe(onB.socket, p, 0);
        const onE = await watcher(e.url, admin);
        await subscribe(onE.socket, p, 0);
        await createWorkflow(apiE, p, `${p}-w`);
        await progress(apiE, `${p}-w`, 's', { progress: 10 });
        const first = await projectLastSeq(apiE, p);
        await onB.col.waitForSeq(first);
        await onE.col.waitForSeq(first);

        await proxy.up();
        const received = () =>
          metric(e.url, 'stepline_cluster_messages_total', '{direction="received",topic="events"}');
        // once E's subscription is up, B's events reach E through Redis (not only through the database)
        await waitFor(
          async () => {
            const res = await apiB.post(`/api/workflows/${p}-w/logs`, { level: 'info', message: 'from B' });
            expectStatus(res, 201);
            return ((await received()) ?? 0) > 0;
          },
          'E to receive through Redis',
          { timeoutMs: 15_000, intervalMs: 300 },
        );
        const last = await projectLastSeq(apiB, p);
        await onB.col.waitForSeq(last);
        await onE.col.waitForSeq(last);
        expect(rangeProblems(onB.col.seqs(p), 1, last)).toEqual([]);
        expect(rangeProblems(onE.col.seqs(p), 1, last)).toEqual([]);
      } finally {
        await e.stop();
        await proxy.down();
      }
    });

    it('a late or repeated message (events already delivered, published again) is dropped: no duplicate, no reorder', async () => {
      const p = project('late');
      await createWorkflow(apiA, p, `${p}-w`);
      const { socket, col } = await watcher(b.url, admin);
      await subscribe(socket, p, 0);
      for (let k = 1; k <= 5; k++) await progress(apiC, `${p}-w`, 's', { progress: k * 10 });
      const before = await projectLastSeq(apiC, p);
      await col.waitForSeq(before);
      // another "instance" publishes the project's old events again, out of order, on the real channel
      const dbName = new URL(db.url).pathname.slice(1);
      const redis = new Redis(REDIS_URL);
      try {
        const old = await restEvents(apiA, p);
        await redis.publish(`stepline:${dbName}:events`, `test-replayer ${JSON.stringify(old.reverse())}`);
      } finally {
        redis.disconnect();
      }
      await progress(apiA, `${p}-w`, 's', { progress: 90 });
      expect(await projectLastSeq(apiA, p)).toBe(before + 1);
      await col.waitForSeq(before + 1);
      // a marker written through A after that: anything still in flight on B shows up before it
      await col.settle(apiA, p);
      expect(rangeProblems(col.seqs(p), 1, before + 1)).toEqual([]);
    });

    it('16 claimers spread over the three instances claim each of 1,000 workflows exactly once', async () => {
      const p = project('claims');
      const producer = await createKey(client(a.url), 'producer', [p]);
      const apis = [a, b, c].map((s) => client(s.url, producer));
      const ids = Array.from({ length: 1000 }, (_, i) => `${p}-${String(i).padStart(4, '0')}`);
      await pool(ids, 12, async (id, i) => {
        const res = await apis[i % 3].post(`/api/projects/${p}/workflows`, {
          id,
          type: 'job',
          queue: `${p}-q`,
          steps: [{ id: 's' }],
        });
        expectStatus(res, 201);
      });
      const claimed: string[] = [];
      const byInstance = [0, 0, 0];
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          const api = apis[w % 3];
          for (;;) {
            const res = await api.post(`/api/queues/${p}-q/claim`, {
              workerId: `w${w}`,
              leaseMs: 600_000,
              waitMs: 0,
            });
            if (res.status === 204) return;
            expectStatus(res, 200);
            claimed.push(res.body.workflow.id);
            byInstance[w % 3]++;
          }
        }),
      );
      expect(claimed).toHaveLength(1000);
      expect(new Set(claimed).size).toBe(1000);
      expect([...claimed].sort()).toEqual(ids);
      for (const count of byInstance) expect(count).toBeGreaterThan(0);
    });

    it('a long-poll claim waiting on B is answered by work created through A', async () => {
      const p = project('wake');
      const producer = await createKey(client(a.url), 'producer', [p]);
      // woken through Redis, well before B's own next re-check of the queue (every 250 ms): see claimWakeLags
      const lags = await claimWakeLags(
        8,
        () =>
          client(b.url, producer).post(`/api/queues/${p}-q/claim`, { workerId: 'waiter', waitMs: 20_000 }),
        (i) =>
          client(a.url, producer).post(`/api/projects/${p}/workflows`, {
            id: `${p}-job${i}`,
            type: 'job',
            queue: `${p}-q`,
            steps: [{ id: 's' }],
          }),
        (res, i) => {
          expectStatus(res, 200);
          expect(res.body.workflow.id).toBe(`${p}-job${i}`);
        },
      );
      expect({ lags, fast: wokenFast(lags) }).toEqual({ lags, fast: true });
      process.stdout.write(
        `[scale-out] cross-instance long-poll wake-up: answered ${lags.join(', ')} ms after the create\n`,
      );
    });

    it('a session lock holds across instances: of 30 submissions spread over A, B and C exactly one wins', async () => {
      const p = project('session');
      const apis = [apiA, apiB, apiC];
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          apis[i % 3].post(`/api/projects/${p}/sessions/s1/analysis`, { question: `q${i}` }),
        ),
      );
      expect(answers.filter((r) => r.status >= 500)).toEqual([]);
      const ok = answers.filter((r) => r.status === 202);
      expect(ok).toHaveLength(1);
      const { messageId, workflowId } = ok[0].body;
      for (const r of answers.filter((x) => x.status !== 202))
        expect(r.body).toMatchObject({
          statusCode: 409,
          code: 'analysis_in_progress',
          activeMessageId: messageId,
        });
      // a §2 workflow on the busy session, through another instance → session_busy
      const busy = await apiC.post(`/api/projects/${p}/workflows`, {
        type: 'other',
        steps: [{ id: 's' }],
        sessionId: 's1',
      });
      expectStatus(busy, 409, 'session_busy');
      expect(busy.body.activeWorkflowId).toBe(workflowId);
      // ended through B, the session is free on every instance
      expectStatus(await apiB.post(`/api/workflows/${workflowId}/cancel`, { reason: 'done' }), 200);
      for (const api of apis) {
        const status = await api.get(`/api/projects/${p}/sessions/s1/analysis-status`);
        expect(status.body).toMatchObject({ isAnalyzing: false, messageId: null });
      }
      expectStatus(await apiA.post(`/api/projects/${p}/sessions/s1/analysis`, { question: 'again' }), 202);
    });

    it('one workflow id created at once through every instance with different bodies: one 201, the rest 409, the winner intact', async () => {
      const p = project('same-id');
      const apis = [apiA, apiB, apiC];
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          apis[i % 3].post(`/api/projects/${p}/workflows`, {
            id: `${p}-wf`,
            type: `variant-${i}`,
            steps: [{ id: 's' }],
          }),
        ),
      );
      const created = answers.filter((r) => r.status === 201);
      expect(created).toHaveLength(1);
      expect(answers.filter((r) => r.status !== 201).map((r) => [r.status, r.body.code])).toEqual(
        Array.from({ length: 11 }, () => [409, 'conflict']),
      );
      // the stored workflow is the winner's, not one overwritten by a racing create
      const stored = await apiB.get(`/api/workflows/${p}-wf`);
      expect(stored.body.type).toBe(created[0].body.type);
      const events = (await apiC.get(`/api/projects/${p}/events`)).body.items;
      expect(events.map((e: { type: string }) => e.type)).toEqual(['workflow:created']);
    });

    it('revoking a key through A: B answers 401 at once, and its sockets and streams on B and C are closed', async () => {
      const p = project('revoke');
      const res = await apiA.post('/api/keys', { name: 'rev', role: 'viewer', projects: [p] });
      expectStatus(res, 201);
      const { id, key } = res.body;
      const viewerB = client(b.url, key);
      const { socket, col } = await watcher(b.url, key);
      await subscribe(socket, p);
      const sse = new SseClient(`${c.url}/api/projects/${p}/status?access_token=${key}`);
      await sse.waitOpen();
      // B has the key in its lookup cache (2 s) right before the revocation
      expectStatus(await viewerB.get(`/api/projects/${p}/events?after=0`), 200);
      const keyMessages = async () =>
        (await metric(b.url, 'stepline_cluster_messages_total', '{direction="received",topic="keys"}')) ?? 0;
      const messagesBefore = await keyMessages();
      expectStatus(await apiA.del(`/api/keys/${id}`), 200);
      // the cache entry on B is dropped by A's message, not by its expiry
      const firstAnswers: number[] = [];
      await waitFor(
        async () => {
          firstAnswers.push((await viewerB.get(`/api/projects/${p}/events?after=0`)).status);
          return firstAnswers[firstAnswers.length - 1] === 401;
        },
        'B to refuse the revoked key',
        { timeoutMs: 1000, intervalMs: 10 },
      );
      await waitFor(() => socket.disconnected, 'the socket on B to be closed', { timeoutMs: 5000 });
      expect(col.disconnectReason).toBe('io server disconnect');
      await waitFor(() => sse.errors.length > 0, 'the stream on C to be closed', { timeoutMs: 5000 });
      expect((await client(c.url, key).get(`/api/projects/${p}/events?after=0`)).status).toBe(401);
      // it went through Redis (the once-a-second poll of recent revocations is only the safety net)
      expect(await keyMessages()).toBe(messagesBefore + 1);
    });

    it('ETA history recorded through A is used at once by B (which had the project cached)', async () => {
      const p = project('eta');
      // B loads (and caches) the project's ETA history while it is still empty
      await createWorkflow(apiB, p, `${p}-first`, ['a', 'b']);
      expect((await apiB.get(`/api/workflows/${p}-first`)).body.eta.basis).not.toBe('history');
      for (let r = 0; r < 3; r++) {
        const id = `${p}-run${r}`;
        await createWorkflow(apiA, p, id, ['a', 'b']);
        for (const step of ['a', 'b']) {
          expectStatus(await apiA.post(`/api/workflows/${id}/steps/${step}/start`, {}), 200);
          await sleep(60);
          expectStatus(await apiA.post(`/api/workflows/${id}/steps/${step}/complete`, {}), 200);
        }
      }
      // B refreshes on A's "run recorded" message (its own periodic reload is 10 s away)
      await waitFor(
        async () => (await apiB.get(`/api/workflows/${p}-first`)).body.eta.basis === 'history',
        'B to estimate from history',
        { timeoutMs: 5000, intervalMs: 100 },
      );
      const eta = (await apiB.get(`/api/workflows/${p}-first`)).body.eta;
      expect(eta.remainingMs).toBeGreaterThan(0);
    });

    it('killing an instance loses no acknowledged write, and its lease is requeued by another instance', async () => {
      const p = project('kill');
      const d = await fx.start({ env: { REDIS_URL } });
      try {
        const apiD = client(d.url);
        // a worker claims through D with a short lease, then D dies with it
        await createWorkflow(apiD, p, `${p}-logs`);
        expectStatus(
          await apiD.post(`/api/projects/${p}/workflows`, {
            id: `${p}-job`,
            type: 'job',
            queue: `${p}-q`,
            maxAttempts: 2,
            steps: [{ id: 's' }],
          }),
          201,
        );
        const claimed = await apiD.post(`/api/queues/${p}-q/claim`, { workerId: 'on-d', leaseMs: 1500 });
        expectStatus(claimed, 200);
        expect(claimed.body.workflow.id).toBe(`${p}-job`);
        const { socket, col } = await watcher(b.url, admin);
        await subscribe(socket, p, 0);

        // writers hammer D; it is SIGKILLed while they write
        const acked: string[] = [];
        let stop = false;
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const message = `w${w}-${i}`;
            try {
              const res = await apiD.post(`/api/workflows/${p}-logs/logs`, { level: 'info', message });
              if (res.status === 201) acked.push(message);
            } catch {
              return; // connection refused or reset: D is gone
            }
          }
        });
        await waitFor(() => acked.length >= 100, '100 acknowledged writes');
        await d.kill();
        stop = true;
        await Promise.all(writers);

        // every acknowledged write is in the log, read through B
        const logs: string[] = [];
        for (let after = 0; ;) {
          const page = await apiB.get(`/api/workflows/${p}-logs/logs?after=${after}&limit=1000`);
          expectStatus(page, 200);
          logs.push(...page.body.items.map((l: any) => l.message));
          if (page.body.items.length < 1000) break;
          after = page.body.items[page.body.items.length - 1].id;
        }
        const kept = new Set(logs);
        expect(acked.filter((m) => !kept.has(m))).toEqual([]);

        // the lease D's worker held expires: requeued once, by A, B or C, and claimable again
        const requeued = await waitFor(
          () => col.envelopes.find((e) => e.type === 'workflow:requeued' && e.workflowId === `${p}-job`),
          'workflow:requeued on B',
          { timeoutMs: 15_000 },
        );
        expect(requeued).toMatchObject({ attempt: 2, data: { status: 'queued', attempt: 2 } });
        const again = await waitFor(
          async () => {
            const res = await apiC.post(`/api/queues/${p}-q/claim`, { workerId: 'on-c', waitMs: 1000 });
            return res.status === 200 ? res : undefined;
          },
          'the requeued workflow to be claimable',
          { timeoutMs: 10_000 },
        );
        expect(again.body).toMatchObject({ attempt: 2, workflow: { id: `${p}-job` } });
        const events = await restEvents(apiB, p);
        expect(events.filter((e) => e.type === 'workflow:requeued')).toHaveLength(1);
        // and B's subscriber saw the whole log, in order
        const last = await projectLastSeq(apiB, p);
        await col.waitForSeq(last);
        expect(rangeProblems(col.seqs(p), 1, last)).toEqual([]);
      } finally {
        await d.kill();
      }
    });
  },
);
