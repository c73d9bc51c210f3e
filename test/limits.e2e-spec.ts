import { STATUS_CODES } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { WebSocket } from 'ws';
import { ApiResponse, client, Client, createKey, pool } from './support/http';
import { useServer, type ServerFixture } from './support/fixture';
import {
  ack,
  closeAllSockets,
  closeAllStreams,
  connectErrorMessage,
  connectSocket,
  metric,
  SseClient,
  waitFor,
} from './support/live-clients';
import { ADMIN_TOKEN, RunningServer, startServer } from './support/server';
import { TestDatabase, usingMysql } from './support/test-db';

/**
 * CONTRACT §10 (limits and abuse) and the findings of the outside review (issue 13) that are not the
 * analyzers' or the read model's: each test fails on 799d471's behaviour. Every refused input is checked
 * for the contract's error body and for having written nothing (a read afterwards).
 */

const KiB = 1024;
let run = 0;
const uid = (name: string) => `lim-${name}-${Date.now().toString(36)}-${++run}`;

function expectErrorBody(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.body).toMatchObject({
    statusCode: status,
    error: STATUS_CODES[status],
    code,
    message: expect.any(String),
    details: expect.any(Array), // §1: every error body has details
  });
  if (code === 'validation_failed') {
    expect(Array.isArray(res.body.details)).toBe(true);
    for (const d of res.body.details)
      expect(d).toEqual({ field: expect.any(String), message: expect.any(String) });
  }
}

/** Runs one SQL statement on the test database directly (SQLite file or MariaDB), as an operator would. */
async function sql(db: TestDatabase, text: string, params: unknown[] = []): Promise<any[]> {
  if (db.kind === 'sqlite') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3');
    const conn = new Database(db.url.slice('sqlite:'.length));
    try {
      conn.pragma('busy_timeout = 5000');
      const st = conn.prepare(text);
      return st.reader ? st.all(...params) : (st.run(...params), []);
    } finally {
      conn.close();
    }
  }
  const conn = await createConnection(db.url.replace(/^mariadb:/, 'mysql:'));
  try {
    const [rows] = await conn.query(text, params);
    return Array.isArray(rows) ? (rows as any[]) : [];
  } finally {
    await conn.end();
  }
}

/** `depth` nested levels (the outermost counts as 1): objects `{"a":{...}}` or arrays `[[...]]`, as raw JSON. */
const nested = (depth: number, kind: 'object' | 'array'): string =>
  kind === 'object'
    ? '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1)
    : '['.repeat(depth) + ']'.repeat(depth);

async function lastSeq(api: Client, projectId: string): Promise<number> {
  const res = await api.get(`/api/projects/${projectId}/events`);
  expect(res.status).toBe(200);
  return res.body.lastSeq as number;
}

describe('§10 on one instance (default limits)', () => {
  let admin: Client;
  let server: RunningServer;
  let db: TestDatabase;
  useServer(
    (fx) => {
      admin = fx.admin;
      server = fx.server;
      db = fx.db;
    },
    { SWEEP_INTERVAL_MS: '200' },
  );
  afterEach(() => {
    closeAllSockets();
    closeAllStreams();
  });

  async function running(projectId: string, steps = ['s']): Promise<string> {
    const id = uid('wf');
    const res = await admin.post(`/api/projects/${projectId}/workflows`, {
      id,
      type: 't',
      steps: steps.map((s) => ({ id: s })),
    });
    expect(res.status).toBe(201);
    expect((await admin.post(`/api/workflows/${id}/steps/${steps[0]}/start`, {})).status).toBe(200);
    return id;
  }

  describe('JSON nested deeper than 32 levels → 400 validation_failed (never a 500), nothing written', () => {
    it('32 levels pass; 33 are refused, in metadata, metrics, log details, a result and a batch', async () => {
      const p = uid('depth');
      const wf = await running(p);
      const before = await lastSeq(admin, p);
      // the body is level 1, so metadata may hold 31 more
      const ok = await admin.post(
        `/api/projects/${p}/workflows`,
        `{"type":"t","steps":[{"id":"s"}],"metadata":${nested(31, 'object')}}`,
      );
      expect(ok.status).toBe(201);
      const deep33 = nested(32, 'object');
      const cases: [string, string][] = [
        [
          `/api/projects/${p}/workflows`,
          `{"id":"deep1","type":"t","steps":[{"id":"s"}],"metadata":${deep33}}`,
        ],
        [`/api/workflows/${wf}/steps/s/progress`, `{"progress":5,"metrics":${deep33}}`],
        [`/api/workflows/${wf}/logs`, `{"level":"info","message":"m","details":${deep33}}`],
        [`/api/workflows/${wf}/steps/s/complete`, `{"result":${deep33}}`],
        [`/api/progress`, `{"updates":[{"workflowId":"${wf}","stepId":"s","progress":5,"x":${deep33}}]}`],
      ];
      const afterOk = await lastSeq(admin, p);
      expect(afterOk).toBeGreaterThan(before);
      for (const [path, body] of cases) {
        const res = await admin.post(path, body);
        expectErrorBody(res, 400, 'validation_failed');
        expect(res.body.details[0].message).toMatch(/32 levels/);
      }
      expect(await lastSeq(admin, p)).toBe(afterOk);
      expect((await admin.get(`/api/workflows/deep1`)).status).toBe(404);
      const step = (await admin.get(`/api/workflows/${wf}`)).body.steps[0];
      expect(step).toMatchObject({ status: 'running', progress: 0, metrics: null, result: null });
    });

    it('100k nested arrays and 5k nested objects (which overflowed the stack) → 400', async () => {
      const p = uid('deep');
      const wf = await running(p);
      const before = await lastSeq(admin, p);
      const bodies: [string, string][] = [
        [
          `/api/workflows/${wf}/steps/s/progress`,
          `{"progress":5,"metrics":{"m":${nested(100_000, 'array')}}}`,
        ],
        [`/api/workflows/${wf}/steps/s/complete`, `{"result":${nested(100_000, 'array')}}`],
        [`/api/workflows/${wf}/logs`, `{"level":"info","message":"m","details":${nested(5_000, 'object')}}`],
        [
          `/api/projects/${p}/workflows`,
          `{"type":"t","steps":[{"id":"s"}],"metadata":${nested(5_000, 'object')}}`,
        ],
        [
          `/api/progress`,
          `{"updates":[{"workflowId":"${wf}","stepId":"s","progress":5,"metrics":${nested(100_000, 'array')}}]}`,
        ],
      ];
      for (const [path, body] of bodies)
        expectErrorBody(await admin.post(path, body), 400, 'validation_failed');
      expect(await lastSeq(admin, p)).toBe(before);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    });
  });

  describe('keys named __proto__, constructor or prototype → 400 validation_failed (not silently dropped)', () => {
    it('a key-create body with __proto__: {role: "admin"} is refused, and no key is made', async () => {
      const name = uid('proto-key');
      const res = await admin.post(
        '/api/keys',
        `{"name":"${name}","role":"viewer","projects":["x"],"__proto__":{"role":"admin"}}`,
      );
      expectErrorBody(res, 400, 'validation_failed');
      expect(res.body.details[0].field).toBe('__proto__');
      const keys = (await admin.get('/api/keys')).body.items as { name: string }[];
      expect(keys.some((k) => k.name === name)).toBe(false);
    });

    it('anywhere in a body: metadata, metrics, results, log details', async () => {
      const p = uid('proto');
      const wf = await running(p);
      const before = await lastSeq(admin, p);
      const cases: [string, string][] = [
        [
          `/api/projects/${p}/workflows`,
          `{"id":"proto1","type":"t","steps":[{"id":"s"}],"metadata":{"a":{"constructor":{"x":1}}}}`,
        ],
        [`/api/workflows/${wf}/steps/s/progress`, `{"progress":5,"metrics":{"prototype":1}}`],
        [`/api/workflows/${wf}/steps/s/complete`, `{"result":[{"ok":1},{"__proto__":{"polluted":true}}]}`],
        [`/api/workflows/${wf}/logs`, `{"level":"info","message":"m","details":{"constructor":"x"}}`],
      ];
      for (const [path, body] of cases) {
        const res = await admin.post(path, body);
        expectErrorBody(res, 400, 'validation_failed');
        expect(res.body.details[0].field).toMatch(/(__proto__|constructor|prototype)$/);
      }
      expect(await lastSeq(admin, p)).toBe(before);
      expect((await admin.get('/api/workflows/proto1')).status).toBe(404);
    });
  });

  it('current and total above 2^53 − 1 (1e300) → 400, single and batched; 2^53 − 1 itself passes', async () => {
    const p = uid('big');
    const wf = await running(p);
    const before = await lastSeq(admin, p);
    for (const [path, body] of [
      [`/api/workflows/${wf}/steps/s/progress`, '{"current":1,"total":1e300}'],
      [`/api/workflows/${wf}/steps/s/progress`, '{"current":9007199254740992,"total":9007199254740993}'],
      [`/api/progress`, `{"updates":[{"workflowId":"${wf}","stepId":"s","current":1e300,"total":1e300}]}`],
    ] as const)
      expectErrorBody(await admin.post(path, body), 400, 'validation_failed');
    expect(await lastSeq(admin, p)).toBe(before);
    const max = Number.MAX_SAFE_INTEGER;
    const res = await admin.post(`/api/workflows/${wf}/steps/s/progress`, { current: 1, total: max });
    expect(res.status).toBe(200);
    expect(res.body.steps[0]).toMatchObject({ current: 1, total: max });
  });

  it('the results of one workflow add up to at most 1 MiB: the complete past it → 413, nothing written', async () => {
    const p = uid('budget');
    const steps = ['a', 'b', 'c', 'd', 'e', 'f'];
    const wf = await running(p, steps);
    const result = (n: number) => ({ blob: 'x'.repeat(n) });
    for (const s of ['a', 'b', 'c', 'd']) {
      const res = await admin.post(`/api/workflows/${wf}/steps/${s}/complete`, { result: result(250 * KiB) });
      expect(res.status).toBe(200);
    }
    // a write answers the whole Workflow, results included, exactly as GET reads it (the stored text spliced in)
    const prog = await admin.post(`/api/workflows/${wf}/steps/f/progress`, { progress: 10 });
    expect(prog.status).toBe(200);
    expect(prog.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
    const read = (await admin.get(`/api/workflows/${wf}`)).body;
    expect(prog.body.steps.map((s: any) => s.result)).toEqual(read.steps.map((s: any) => s.result));
    expect(prog.body.steps[0].result).toEqual(result(250 * KiB));
    const before = await lastSeq(admin, p);
    // 4 × 250 KiB (+ JSON quotes) = 1000 KiB kept; 30 KiB more would pass 1 MiB
    const over = await admin.post(`/api/workflows/${wf}/steps/e/complete`, { result: result(30 * KiB) });
    expectErrorBody(over, 413, 'payload_too_large');
    expect(await lastSeq(admin, p)).toBe(before);
    const after = (await admin.get(`/api/workflows/${wf}`)).body;
    expect(after.steps.find((s: any) => s.id === 'e')).toMatchObject({ status: 'pending', result: null });
    // a smaller result still fits, and a complete without a result always does
    expect(
      (await admin.post(`/api/workflows/${wf}/steps/e/complete`, { result: result(10 * KiB) })).status,
    ).toBe(200);
    const last = await admin.post(`/api/workflows/${wf}/steps/f/complete`, {});
    expect(last.status).toBe(200);
    expect(last.body.status).toBe('completed');
    // finding 2: an answer carries every result, so the budget is what keeps it small
    const answerBytes = Buffer.byteLength(JSON.stringify(last.body));
    expect(answerBytes).toBeLessThan(1024 * KiB + 16 * KiB);
  });

  it('the ADMIN_TOKEN key cannot be revoked: DELETE /api/keys/admin → 409 conflict, and admin still works', async () => {
    const res = await admin.del('/api/keys/admin');
    expectErrorBody(res, 409, 'conflict');
    expect((await admin.get('/api/keys')).status).toBe(200);
    expect(
      ((await admin.get('/api/keys')).body.items as { id: string }[]).some((k) => k.id === 'admin'),
    ).toBe(true);
  });

  it('queue positions count only the workflows the key may read (finding 7)', async () => {
    const queue = uid('shared-q');
    const [a, b] = [uid('qa'), uid('qb')];
    for (const [p, n] of [
      [b, 2],
      [a, 1],
    ] as const)
      for (let i = 0; i < n; i++) {
        const res = await admin.post(`/api/projects/${p}/workflows`, {
          type: 't',
          steps: [{ id: 's' }],
          queue,
        });
        expect(res.status).toBe(201);
      }
    const onlyA = client(server.url, await createKey(admin, 'viewer', [a]));
    const res = await onlyA.get(`/api/projects/${a}/queue`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((w: any) => w.position)).toEqual([1]);
    // the admin reads both projects: there the same workflow is third
    expect((await admin.get(`/api/projects/${a}/queue`)).body.items.map((w: any) => w.position)).toEqual([3]);
  });

  it('a workerId must match the id pattern → 400 otherwise, and no worker is recorded', async () => {
    const queue = uid('wq');
    const res = await admin.post(`/api/queues/${queue}/claim`, { workerId: 'bad worker/../id!' });
    expectErrorBody(res, 400, 'validation_failed');
    expect(res.body.details.map((d: any) => d.field)).toContain('workerId');
    const rows = await sql(db, 'SELECT worker_id FROM queue_workers WHERE queue = ?', [queue]);
    expect(rows).toEqual([]);
    expect((await admin.post(`/api/queues/${queue}/claim`, { workerId: 'good-worker.1' })).status).toBe(204);
    await waitFor(
      async () =>
        (await sql(db, 'SELECT worker_id FROM queue_workers WHERE queue = ?', [queue])).length === 1,
      'the good worker row',
    );
  });

  it('queue_workers rows older than the 10-minute window are deleted; recent ones stay', async () => {
    const queue = uid('oldq');
    const now = Date.now();
    await sql(db, 'INSERT INTO queue_workers (queue, worker_id, last_seen_at) VALUES (?, ?, ?), (?, ?, ?)', [
      queue,
      'ancient',
      now - 11 * 60_000,
      queue,
      'recent',
      now - 60_000,
    ]);
    await waitFor(
      async () =>
        (await sql(db, 'SELECT worker_id FROM queue_workers WHERE queue = ?', [queue])).length === 1,
      'the old queue_workers row to be deleted',
      { timeoutMs: 10_000 },
    );
    const left = await sql(db, 'SELECT worker_id FROM queue_workers WHERE queue = ?', [queue]);
    expect(left.map((r) => r.worker_id)).toEqual(['recent']);
  });

  it('an unknown token is remembered briefly: a flood of the same bad key reaches the database once', async () => {
    const bad = client(server.url, `stl_${randomBytes(32).toString('base64url')}`);
    const before = (await metric(server.url, 'stepline_key_lookups_total', '{source="database"}')) ?? 0;
    const answers = await pool(Array.from({ length: 50 }), 5, () => bad.get('/api/projects'));
    for (const r of answers) expectErrorBody(r, 401, 'unauthorized');
    const after = (await metric(server.url, 'stepline_key_lookups_total', '{source="database"}')) ?? 0;
    expect(after - before).toBeLessThanOrEqual(5); // the first few in flight at once, then cached
    expect(
      (await metric(server.url, 'stepline_key_lookups_total', '{source="unknown_cached"}')) ?? 0,
    ).toBeGreaterThanOrEqual(45);
    // a key created now works at once
    const fresh = client(server.url, await createKey(admin, 'viewer', ['x']));
    expect((await fresh.get('/api/projects')).status).toBe(200);
  });

  it('lease tokens: a wrong token of the right length, or of another length, → 409 lease_lost (nothing written)', async () => {
    const queue = uid('lq');
    const p = uid('lease');
    const created = await admin.post(`/api/projects/${p}/workflows`, {
      type: 't',
      steps: [{ id: 's' }],
      queue,
    });
    expect(created.status).toBe(201);
    const claim = await admin.post(`/api/queues/${queue}/claim`, { workerId: 'w1' });
    expect(claim.status).toBe(200);
    const token: string = claim.body.leaseToken;
    const before = await lastSeq(admin, p);
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
    for (const t of [flipped, token.slice(1), `${token}x`]) {
      const res = await admin.post(
        `/api/workflows/${created.body.id}/steps/s/start`,
        {},
        { 'x-lease-token': t },
      );
      expectErrorBody(res, 409, 'lease_lost');
    }
    expect(await lastSeq(admin, p)).toBe(before);
    expect(
      (await admin.post(`/api/workflows/${created.body.id}/steps/s/start`, {}, { 'x-lease-token': token }))
        .status,
    ).toBe(200);
  });

  it('SQLite runs with synchronous=FULL by default (a 2xx survives an OS crash)', async () => {
    const health = await fetch(`${server.url}/health`);
    const body = await health.json();
    if (db.kind === 'sqlite')
      expect(body.info.database).toMatchObject({ kind: 'sqlite', synchronous: 'FULL' });
    else expect(body.info.database).toEqual({ status: 'up', kind: 'mysql' });
  });

  it('a socket holds at most 100 subscriptions (subscribe + join_job); the next ack → rate_limited', async () => {
    const p = uid('subs');
    const wf = await running(p);
    const socket = await connectSocket(server.url, { token: ADMIN_TOKEN });
    expect(await ack(socket, 'join_job', { workflowId: wf })).toMatchObject({ ok: true });
    for (let i = 0; i < 99; i++)
      expect(await ack(socket, 'subscribe', { projectId: `${p}-${i}` })).toMatchObject({ ok: true });
    expect(await ack(socket, 'subscribe', { projectId: `${p}-extra` })).toEqual({
      ok: false,
      code: 'rate_limited',
    });
    expect(await ack(socket, 'join_job', { workflowId: wf })).toMatchObject({ ok: true }); // the same room again
    expect(await ack(socket, 'unsubscribe', { projectId: `${p}-0` })).toEqual({ ok: true });
    expect(await ack(socket, 'subscribe', { projectId: `${p}-extra` })).toMatchObject({ ok: true });
    // the deep-nesting rule holds for socket payloads too
    expect(
      await ack(socket, 'subscribe', JSON.parse(`{"projectId":"${p}","x":${nested(40, 'object')}}`)),
    ).toEqual({
      ok: false,
      code: 'validation_failed',
    });
  });
});

describe('§10 RATE_LIMIT_PER_KEY and MAX_CONNECTIONS_PER_KEY (small limits)', () => {
  let admin: Client;
  let server: RunningServer;
  useServer(
    (fx) => {
      admin = fx.admin;
      server = fx.server;
    },
    { RATE_LIMIT_PER_KEY: '20', MAX_CONNECTIONS_PER_KEY: '3', MAX_WAITING_CLAIMS_PER_KEY: '2' },
  );
  afterEach(() => {
    closeAllSockets();
    closeAllStreams();
  });

  it('past the limit → 429 rate_limited with Retry-After in seconds; other keys are not affected', async () => {
    const p = uid('rate');
    const producer = client(server.url, await createKey(admin, 'producer', [p]));
    const other = client(server.url, await createKey(admin, 'viewer', [p]));
    const answers = await Promise.all(Array.from({ length: 45 }, () => producer.get('/api/projects')));
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((r) => r.status === 200).length).toBeLessThanOrEqual(40); // two windows at most
    for (const r of limited) {
      expectErrorBody(r, 429, 'rate_limited');
      expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
    expect((await other.get('/api/projects')).status).toBe(200);
    // after Retry-After the key works again
    await new Promise((r) => setTimeout(r, Number(limited[0].headers.get('retry-after')) * 1000));
    expect((await producer.get('/api/projects')).status).toBe(200);
  });

  // MariaDB only: on SQLite a key's lookup settles before the burst's next request is read, so there the old
  // behaviour (a lookup, and an address charge, per request) looked the same and the test could not fail
  (usingMysql() ? it : it.skip)(
    "a burst with a key not looked up yet is one lookup, and leaves the address's budget to other new keys",
    async () => {
      const p = uid('burst');
      const burst = client(server.url, await createKey(admin, 'producer', [p]));
      const others = await Promise.all(
        Array.from({ length: 10 }, async () => client(server.url, await createKey(admin, 'viewer', [p]))),
      );
      // the address's budget (20 a second) is charged once per key lookup: start on a fresh one-second window
      await new Promise((r) => setTimeout(r, 1100));
      const lookups = async () =>
        (await metric(server.url, 'stepline_key_lookups_total', '{source="database"}')) ?? 0;
      const before = await lookups();
      // 15 requests at once with the new key: within its own budget of 20
      const answers = await Promise.all(Array.from({ length: 15 }, () => burst.get('/api/projects')));
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      expect((await lookups()) - before).toBe(1);
      // ten more new keys from the same address: one lookup each, each charge to the address given back
      const firsts = await Promise.all(others.map((o) => o.get('/api/projects')));
      expect(firsts.map((r) => r.status)).toEqual(firsts.map(() => 200));
    },
  );

  it("new keys' first requests (one lookup each) do not spend their address's budget; bad keys do", async () => {
    const p = uid('firsts');
    // the claim holds only when all 25 requests share one of the address's windows (a window lasts 1 s from
    // its first request): an attempt that took longer proves nothing, and is made again with new keys
    const WINDOW_MS = 1000;
    let spanMs = Infinity;
    for (let attempt = 0; attempt < 3 && spanMs >= WINDOW_MS * 0.9; attempt++) {
      const keys = await Promise.all(
        Array.from({ length: 10 }, async () => client(server.url, await createKey(admin, 'viewer', [p]))),
      );
      await new Promise((r) => setTimeout(r, 1100)); // fresh rate window
      const start = Date.now();
      // 15 of the address's 20 spent by bad keys ...
      for (let i = 0; i < 15; i++)
        expect(
          (await client(server.url, `stl_${randomBytes(8).toString('hex')}`).get('/api/projects')).status,
        ).toBe(401);
      // ... then ten keys used for the first time, one after another: each request is its key's (1 of 20)
      const firsts: number[] = [];
      for (const k of keys) firsts.push((await k.get('/api/projects')).status);
      spanMs = Date.now() - start;
      expect(firsts).toEqual(keys.map(() => 200));
    }
    // (without the refund the sixth key gets 429 when they do share it)
    expect(spanMs).toBeLessThan(WINDOW_MS * 0.9);
  });

  it('a refused write writes nothing: each 200 is one event, each 429 none', async () => {
    const p = uid('rate-w');
    const producer = client(server.url, await createKey(admin, 'producer', [p]));
    const id = uid('wf');
    await new Promise((r) => setTimeout(r, 1100)); // a fresh window for this key's setup writes
    expect(
      (await producer.post(`/api/projects/${p}/workflows`, { id, type: 't', steps: [{ id: 's' }] })).status,
    ).toBe(201);
    const before = await lastSeq(admin, p);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        producer.post(`/api/workflows/${id}/logs`, { level: 'info', message: `m${i}` }),
      ),
    );
    const ok = answers.filter((r) => r.status === 201).length;
    expect(answers.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(ok + answers.filter((r) => r.status === 429).length).toBe(40);
    expect(await lastSeq(admin, p)).toBe(before + ok);
  });

  it('requests without a valid key count against their address: a flood of bad keys gets 429 too', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // fresh rate window
    const lookups = async () =>
      (await metric(server.url, 'stepline_key_lookups_total', '{source="database"}')) ?? 0;
    const before = await lookups();
    const answers = await Promise.all(
      Array.from({ length: 45 }, () =>
        client(server.url, `stl_${randomBytes(8).toString('hex')}`).get('/api/projects'),
      ),
    );
    const codes = new Set(answers.map((r) => r.status));
    expect([...codes].sort()).toEqual([401, 429]);
    for (const r of answers.filter((a) => a.status === 429))
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    // the refused ones never reached the database: at most the limit (20 a second, a burst may span two
    // windows) were looked up, of 45 different tokens
    expect((await lookups()) - before).toBeLessThanOrEqual(40);
  });

  it('sockets plus SSE streams per key: the next socket → connect_error rate_limited, the next stream → 429', async () => {
    const p = uid('conn');
    await new Promise((r) => setTimeout(r, 1100)); // fresh rate window
    const key = await createKey(admin, 'viewer', [p]);
    const s1 = await connectSocket(server.url, { token: key });
    await connectSocket(server.url, { token: key });
    const sse = new SseClient(`${server.url}/api/projects/${p}/status`, { token: key });
    await sse.waitOpen();
    expect(await connectErrorMessage(server.url, { token: key })).toBe('rate_limited');
    const refused = await fetch(`${server.url}/api/projects/${p}/status`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = await refused.json();
    expect(refused.status).toBe(429);
    expect(body).toMatchObject({ statusCode: 429, code: 'rate_limited', error: STATUS_CODES[429] });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    // another key is not affected
    await connectSocket(server.url, { token: await createKey(admin, 'viewer', [p]) });
    // a closed connection frees its place
    s1.close();
    await waitFor(async () => {
      try {
        await connectSocket(server.url, { token: key });
        return true;
      } catch {
        return false;
      }
    }, 'a socket to connect after one closed');
  });

  // MariaDB only: there the key's first lookup is a network round trip, so the client's cut arrives before
  // its answer; on SQLite the lookup settles within the tick and the socket connects and disconnects
  // normally, so the test could not fail (Socket.IO's order itself: never-connected.spec.ts)
  (usingMysql() ? it : it.skip)(
    'a socket whose client leaves while its key is looked up never connects, and frees its place',
    async () => {
      const p = uid('gone');
      await new Promise((r) => setTimeout(r, 1100)); // fresh rate window
      const key = await createKey(admin, 'viewer', [p]);
      // three clients (the limit) send Socket.IO's CONNECT with the key and cut the connection at once: the
      // first lookup of a key goes to the database, so the cut arrives before the answer and Socket.IO drops
      // the socket without a connect or a disconnect; later lookups may be answered from memory
      const wsUrl = `${server.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(wsUrl);
          ws.on('error', reject);
          ws.on('message', (m: Buffer) => {
            // the engine.io open packet, then our CONNECT with auth, then gone
            if (m.toString().startsWith('0')) {
              ws.send(`40${JSON.stringify({ token: key })}`);
              ws.terminate();
              resolve();
            }
          });
        });
      }
      // every place is free again: three sockets connect (a leaked place would refuse the third)
      await waitFor(
        async () => {
          const opened = [];
          try {
            for (let i = 0; i < 3; i++) opened.push(await connectSocket(server.url, { token: key }));
            return true;
          } catch {
            return false;
          } finally {
            for (const s of opened) s.close();
          }
        },
        'three sockets to connect after three clients left during the key lookup',
        { timeoutMs: 5000 },
      );
    },
  );

  it('waiting (long-poll) claims per key are capped: the next → 429 rate_limited', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // fresh rate window
    const p = uid('waitq');
    const queue = uid('q');
    const producer = client(server.url, await createKey(admin, 'producer', [p]));
    // two long-polls wait; a probe that reaches the server before one of them takes its place for its own
    // 300 ms (and that waiter is the one refused), so a waiter answered 429 is sent again
    const waiter = (i: number): Promise<ApiResponse> =>
      producer
        .post(`/api/queues/${queue}/claim`, { workerId: `w${i}`, waitMs: 15_000 })
        .then((r) => (r.status === 429 ? waiter(i) : r));
    const waiting = [1, 2].map(waiter);
    let third: ApiResponse | undefined;
    await waitFor(async () => {
      third = await producer.post(`/api/queues/${queue}/claim`, { workerId: 'w3', waitMs: 300 });
      return third.status === 429;
    }, 'the third waiting claim to be refused');
    expectErrorBody(third!, 429, 'rate_limited');
    expect(third!.headers.get('retry-after')).toMatch(/^\d+$/);
    // work for both waiters ends their wait (in a fresh rate window: the probes spent this one)
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 2; i++)
      expect(
        (await producer.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 's' }], queue }))
          .status,
      ).toBe(201);
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('restarts and configuration', () => {
  let fx: ServerFixture;
  let db: TestDatabase;
  useServer(
    (f) => {
      fx = f;
      db = f.db;
    },
    undefined,
    { start: false },
  );

  it('restarting with the same ADMIN_TOKEN restores an admin key that was revoked earlier (finding 3)', async () => {
    await fx.start();
    expect((await fx.admin.get('/api/keys')).status).toBe(200);
    await fx.restart({
      // revoked by an older version (or by hand): the same token must bring it back
      between: async (d) => {
        await sql(d, 'UPDATE api_keys SET revoked_at = ? WHERE id = ?', [Date.now(), 'admin']);
      },
    });
    await waitFor(async () => (await fx.admin.get('/api/keys')).status === 200, 'the admin key to work');
    await fx.server.stop();
  });

  it('SQLITE_SYNCHRONOUS=NORMAL is an explicit opt-in; a bad value stops the start naming it', async () => {
    if (db.kind === 'sqlite') {
      const server = await fx.start({ env: { SQLITE_SYNCHRONOUS: 'NORMAL' } });
      try {
        const body = await (await fetch(`${server.url}/health`)).json();
        expect(body.info.database.synchronous).toBe('NORMAL');
      } finally {
        await server.stop();
      }
    }
    const err = await fx.start({ env: { SQLITE_SYNCHRONOUS: 'OFF' } }).then(
      async (s) => (await s.stop(), undefined),
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/SQLITE_SYNCHRONOUS/);
  });

  it('a configuration error names the variable and never prints a secret', async () => {
    const adminSecret = 'short-secret-9';
    const dbPassword = 'db-pass-Zq81';
    const redisPassword = 'redis-pass-Xk44';
    const err = await startServer({
      databaseUrl: `postgres://stepline:${dbPassword}@127.0.0.1:5432/x`,
      env: {
        ADMIN_TOKEN: adminSecret,
        REDIS_URL: `http://:${redisPassword}@127.0.0.1:6379`,
        RATE_LIMIT_PER_KEY: '-1',
      },
      waitFor: 'listening',
    }).then(
      async (s) => (await s.stop(), undefined),
      (e: Error) => e,
    );
    expect(err).toBeDefined();
    const out = err!.message;
    for (const name of ['ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'RATE_LIMIT_PER_KEY'])
      expect(out).toContain(name);
    for (const secret of [adminSecret, dbPassword, redisPassword]) expect(out).not.toContain(secret);
    expect(out).toContain('postgres://stepline:***@127.0.0.1:5432/x');
  });
});

const describeOnMysql = usingMysql() ? describe : describe.skip;

describeOnMysql('§10 the rate limit holds across instances with REDIS_URL', () => {
  const servers: RunningServer[] = [];
  let fx: ServerFixture;
  useServer((f) => (fx = f), {
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `stepline-test-${randomBytes(6).toString('hex')}`,
    RATE_LIMIT_PER_KEY: '30',
  });
  beforeAll(async () => {
    servers.push(fx.server, await fx.start());
  });

  it('25 requests to each of two instances at once (50 > 30, but 25 < 30 on each) → some 429', async () => {
    const [a, b] = servers.map((s) => s.url);
    const key = await createKey(client(a), 'viewer', ['x']);
    let limited = 0;
    let ok = 0;
    // the window is one second: a burst can straddle two, so try a few bursts
    for (let attempt = 0; attempt < 5 && limited === 0; attempt++) {
      await new Promise((r) => setTimeout(r, 1100));
      const answers = await Promise.all(
        [a, b].flatMap((url) => Array.from({ length: 25 }, () => client(url, key).get('/api/projects'))),
      );
      limited = answers.filter((r) => r.status === 429).length;
      ok = answers.filter((r) => r.status === 200).length;
      for (const r of answers.filter((x) => x.status === 429)) {
        expectErrorBody(r, 429, 'rate_limited');
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    }
    expect(limited).toBeGreaterThan(0);
    expect(ok + limited).toBe(50);
  });
});
