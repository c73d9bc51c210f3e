import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApiResponse, Client, createKey, expectStatus } from './support/http';
import { useServer } from './support/fixture';
import { RunningServer } from './support/server';

/**
 * Leases when workers die, freeze or keep working (CONTRACT §6), with real worker processes
 * (test/support/worker-process.js) that are SIGKILLed, SIGSTOPped and SIGCONTed, against the real server
 * on the database of the run: requeue within the contract's bound, fencing of a worker that comes back,
 * heartbeats that keep a long job, the backoff schedule and a poison workflow that does not block its queue.
 */

const WORKER = join(__dirname, 'support', 'worker-process.js');
/** The lease reaper's interval (README: every 500 ms). */
const REAPER_MS = 500;
/** Extra allowance for a loaded CI machine on top of the contract's bounds. */
const SLACK_MS = 1500;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const lease = (token: string) => ({ 'x-lease-token': token });

interface Line {
  event: string;
  t: number;
  [k: string]: any;
}

/** One worker process and everything it printed. */
class WorkerProcess {
  readonly lines: Line[] = [];
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';

  constructor(env: Record<string, string | number>) {
    this.proc = spawn(process.execPath, [WORKER], {
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buf.slice(0, nl)) as Line);
        buf = buf.slice(nl + 1);
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => this.proc.once('exit', (code, signal) => r({ code, signal })));
    running.add(this);
  }

  of(event: string): Line[] {
    return this.lines.filter((l) => l.event === event);
  }

  async waitFor(
    what: string,
    pred: (lines: Line[]) => Line | undefined | false,
    timeoutMs = 10_000,
  ): Promise<Line> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = pred(this.lines);
      if (hit) return hit;
      const err = this.lines.find((l) => l.event === 'error');
      if (err || this.proc.exitCode !== null || Date.now() > deadline)
        throw new Error(
          `worker: gave up waiting for ${what}; lines: ${JSON.stringify(this.lines.slice(-8))} ${this.stderr}`,
        );
      await sleep(20);
    }
  }

  send(cmd: string): void {
    this.proc.stdin!.write(`${cmd}\n`);
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
    running.delete(this);
  }
}

const running = new Set<WorkerProcess>();

async function create(
  api: Client,
  projectId: string,
  id: string,
  extra: Record<string, unknown>,
  steps = ['a', 'b'],
) {
  const res = await api.post(`/api/projects/${projectId}/workflows`, {
    id,
    type: 'crash-test',
    steps: steps.map((s) => ({ id: s })),
    ...extra,
  });
  expectStatus(res, 201);
  return res.body;
}

async function events(api: Client, projectId: string, workflowId?: string): Promise<any[]> {
  const items: any[] = [];
  let after = 0;
  for (;;) {
    const res = await api.get(`/api/projects/${projectId}/events?after=${after}&limit=1000`);
    expectStatus(res, 200);
    items.push(...res.body.items);
    if (res.body.items.length < 1000) break;
    after = items[items.length - 1].seq;
  }
  return workflowId ? items.filter((e) => e.workflowId === workflowId) : items;
}

/** Claims in a bounded loop (each claim long-polls up to `waitMs`) until it gets something or `timeoutMs` passes. */
async function claimWithin(
  api: Client,
  queue: string,
  timeoutMs: number,
  body: Record<string, unknown> = {},
): Promise<{ res: ApiResponse; at: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.post(`/api/queues/${queue}/claim`, { workerId: 'rescuer', waitMs: 250, ...body });
    const at = Date.now();
    if (res.status === 200) return { res, at };
    expectStatus(res, 204);
    if (at > deadline) throw new Error(`nothing to claim on ${queue} within ${timeoutMs} ms`);
  }
}

describe('worker crashes and leases (§6), with real worker processes', () => {
  let server: RunningServer;
  let api: Client;
  let workerKey: string;

  useServer((fx) => ({ server, admin: api } = fx));

  beforeAll(async () => {
    workerKey = await createKey(api, 'producer', ['crash', 'frozen', 'long', 'poison', 'retry']);
  });

  afterEach(async () => {
    for (const w of [...running]) await w.kill();
  });

  const worker = (queue: string, env: Record<string, string | number>) =>
    new WorkerProcess({
      STEPLINE_URL: server.url,
      STEPLINE_KEY: workerKey,
      QUEUE: queue,
      WAIT_MS: 5000,
      ...env,
    });

  it('a worker SIGKILLed mid-step: its workflow is claimable again as attempt 2, steps reset, within the bound', async () => {
    const LEASE = 2000;
    await create(api, 'crash', 'crash-1', { queue: 'crash', maxAttempts: 3 });
    const w = worker('crash', { WORKER_ID: 'doomed', LEASE_MS: LEASE, HEARTBEAT_MS: 500, PROGRESS_MS: 100 });
    const claimed = await w.waitFor('the claim', (ls) => ls.find((l) => l.event === 'claimed'));
    expect(claimed).toMatchObject({ workflowId: 'crash-1', attempt: 1 });
    await w.waitFor('progress', (ls) => ls.filter((l) => l.event === 'progress' && l.status === 200)[3]);
    const mid = (await api.get('/api/workflows/crash-1')).body;
    expect(mid.status).toBe('running');
    expect(mid.steps[0]).toMatchObject({ status: 'running' });
    expect(mid.steps[0].progress).toBeGreaterThan(0);

    // the last lease the worker is known to hold (a later heartbeat may have landed unseen: only later)
    const known = [claimed, ...w.of('heartbeat').filter((l) => l.status === 200)].map((l) =>
      Date.parse(l.leaseExpiresAt),
    );
    const killedAt = Date.now();
    w.signal('SIGKILL');
    expect((await w.exited).signal).toBe('SIGKILL');

    const { res, at: reclaimedAt } = await claimWithin(api, 'crash', 20_000);
    const elapsed = reclaimedAt - killedAt;
    const bound = LEASE + REAPER_MS + 1000 /* backoff before attempt 2 */ + 1000 + SLACK_MS;
    process.stdout.write(`[worker-crash] SIGKILL → re-claimed in ${elapsed} ms (bound ${bound} ms)\n`);
    expect(elapsed).toBeLessThanOrEqual(bound);

    expect(res.body.attempt).toBe(2);
    expect(res.body.workflow).toMatchObject({
      id: 'crash-1',
      status: 'queued',
      attempt: 2,
      progress: 0,
      startedAt: null,
    });
    for (const st of res.body.workflow.steps)
      expect(st).toMatchObject({
        status: 'pending',
        progress: 0,
        current: null,
        total: null,
        message: null,
        startedAt: null,
      });

    const evs = await events(api, 'crash', 'crash-1');
    const requeued = evs.filter((e) => e.type === 'workflow:requeued');
    expect(requeued).toHaveLength(1);
    const rq = requeued[0];
    expect(rq.data).toMatchObject({
      status: 'queued',
      progress: 0,
      attempt: 2,
      queue: 'crash',
      reason: 'lease_expired',
      error: { code: 'lease_expired' },
    });
    // not before the lease ran out, within a reaper interval (+ slack) after it, ready 1 s later
    expect(Date.parse(rq.at)).toBeGreaterThanOrEqual(Math.max(...known));
    expect(Date.parse(rq.at)).toBeLessThanOrEqual(killedAt + LEASE + REAPER_MS + SLACK_MS);
    expect(Date.parse(rq.data.availableAt) - Date.parse(rq.at)).toBe(1000);
    expect(reclaimedAt).toBeGreaterThanOrEqual(Date.parse(rq.data.availableAt));
    // the dead worker's step events stay in the history, before the requeue
    expect(evs.filter((e) => e.type === 'workflow:step:progress' && e.seq < rq.seq).length).toBeGreaterThan(
      0,
    );

    // the new owner finishes it
    const tok = lease(res.body.leaseToken);
    for (const s of ['a', 'b'])
      expectStatus(await api.post(`/api/workflows/crash-1/steps/${s}/complete`, {}, tok), 200);
    expect((await api.get('/api/workflows/crash-1')).body).toMatchObject({ status: 'completed', attempt: 2 });
  }, 40_000);

  it('a worker frozen (SIGSTOP) past its lease and resumed gets 409 lease_lost on every write', async () => {
    await create(api, 'frozen', 'frozen-1', { queue: 'frozen', maxAttempts: 2 });
    const w = worker('frozen', { WORKER_ID: 'sleepy', LEASE_MS: 1500, HEARTBEAT_MS: 400, PROGRESS_MS: 150 });
    const claimed = await w.waitFor('the claim', (ls) => ls.find((l) => l.event === 'claimed'));
    await w.waitFor(
      'two heartbeats',
      (ls) => ls.filter((l) => l.event === 'heartbeat' && l.status === 200)[1],
    );
    w.signal('SIGSTOP');
    const stoppedAt = Date.now();

    // its lease runs out while it sleeps: requeued, and someone else takes over
    const { res } = await claimWithin(api, 'frozen', 15_000);
    expect(res.body).toMatchObject({ attempt: 2, workflow: { id: 'frozen-1', attempt: 2 } });
    expect(res.body.leaseToken).not.toBe(claimed.leaseToken);
    const tok = lease(res.body.leaseToken);
    expectStatus(
      await api.post('/api/workflows/frozen-1/steps/a/progress', { progress: 10, message: 'mine' }, tok),
      200,
    );
    expect(Date.now() - stoppedAt).toBeGreaterThan(1000);

    w.signal('SIGCONT');
    const resumedAt = Date.now();
    w.send('probe');
    const probe = await w.waitFor('the probe', (ls) => ls.find((l) => l.event === 'probe'));
    expect(probe.results).toEqual({
      progress: { status: 409, code: 'lease_lost' },
      complete: { status: 409, code: 'lease_lost' },
      log: { status: 409, code: 'lease_lost' },
      heartbeat: { status: 409, code: 'lease_lost' },
      batch: { status: 200, code: 'lease_lost' },
    });
    // and so does every timer-driven write it sent after waking up: wait until its timers have answered both a
    // progress and a heartbeat sent after the wake-up (rather than for a fixed while)
    await w.waitFor('a progress and a heartbeat sent after the wake-up', (ls) => {
      const sentAfter = (event: string) => ls.find((l) => l.event === event && l.sent >= resumedAt);
      return sentAfter('progress') && sentAfter('heartbeat');
    });
    const afterWake = w.lines.filter(
      (l) => (l.event === 'progress' || l.event === 'heartbeat') && l.sent >= resumedAt,
    );
    expect(afterWake.length).toBeGreaterThan(0);
    for (const l of afterWake) expect(l).toMatchObject({ status: 409, code: 'lease_lost' });

    // nothing of the zombie's landed: the new owner's state is intact
    const wf = (await api.get('/api/workflows/frozen-1')).body;
    expect(wf).toMatchObject({ status: 'running', attempt: 2 });
    expect(wf.steps[0]).toMatchObject({ status: 'running', progress: 10, message: 'mine' });
    const logs = (await api.get('/api/workflows/frozen-1/logs')).body.items;
    expect(logs.filter((l: any) => l.message === 'zombie')).toEqual([]);
    for (const s of ['a', 'b'])
      expectStatus(await api.post(`/api/workflows/frozen-1/steps/${s}/complete`, {}, tok), 200);
    expect((await api.get('/api/workflows/frozen-1')).body.status).toBe('completed');
  }, 40_000);

  it('a long job that heartbeats is never re-leased: other claimers get 204 throughout, attempt stays 1', async () => {
    await create(api, 'long', 'long-1', { queue: 'long', maxAttempts: 3 });
    const w = worker('long', { WORKER_ID: 'steady', LEASE_MS: 1500, HEARTBEAT_MS: 500, PROGRESS_MS: 250 });
    await w.waitFor('the start', (ls) => ls.find((l) => l.event === 'started'));
    const until = Date.now() + 5000;
    let probes = 0;
    while (Date.now() < until) {
      const res = await api.post('/api/queues/long/claim', { workerId: 'greedy', leaseMs: 1000 });
      expectStatus(res, 204);
      probes++;
      await sleep(200);
    }
    expect(probes).toBeGreaterThan(15);
    const beats = w.of('heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(8);
    for (const b of beats) expect(b.status).toBe(200);
    for (const p of w.of('progress')) expect(p.status).toBe(200);
    expect((await api.get('/api/workflows/long-1')).body).toMatchObject({ status: 'running', attempt: 1 });
    expect((await events(api, 'long', 'long-1')).filter((e) => e.type === 'workflow:requeued')).toEqual([]);

    w.send('finish');
    const fin = await w.waitFor('the finish', (ls) => ls.find((l) => l.event === 'finished'));
    expect(fin.statuses).toEqual([200, 200]);
    expect((await api.get('/api/workflows/long-1')).body).toMatchObject({ status: 'completed', attempt: 1 });
  }, 30_000);

  it('a poison workflow whose lease keeps expiring: backoffs 1 s, 2 s, 4 s, then failed; its queue keeps flowing', async () => {
    const LEASE = 1000;
    const MAX = 4;
    await create(api, 'poison', 'poison-1', { queue: 'poison', maxAttempts: MAX }, ['a']);
    const tStart = Date.now();

    // producers keep adding ordinary work to the same queue meanwhile
    const goods: string[] = [];
    const producing = (async () => {
      for (let i = 1; i <= 6; i++) {
        await sleep(1500);
        await create(api, 'poison', `good-${i}`, { queue: 'poison' }, ['a']);
        goods.push(`good-${i}`);
      }
    })();

    // one worker: it crashes on poison-1 every time (claims, starts, never comes back) and does the rest
    const poisonClaims: { attempt: number; at: number; leaseExpiresAt: number }[] = [];
    const completed = new Map<string, number>();
    const deadline = Date.now() + 40_000;
    let poisonDone = false;
    while (!(poisonDone && completed.size === 6)) {
      if (Date.now() > deadline) throw new Error('the poison queue did not settle in 40 s');
      const res = await api.post('/api/queues/poison/claim', {
        workerId: 'fragile',
        leaseMs: LEASE,
        waitMs: 250,
      });
      if (res.status === 200) {
        const id = res.body.workflow.id as string;
        const tok = lease(res.body.leaseToken);
        if (id === 'poison-1') {
          poisonClaims.push({
            attempt: res.body.attempt,
            at: Date.now(),
            leaseExpiresAt: Date.parse(res.body.leaseExpiresAt),
          });
          expectStatus(await api.post('/api/workflows/poison-1/steps/a/start', {}, tok), 200);
        } else {
          expect(res.body.attempt).toBe(1);
          expectStatus(
            await api.post(`/api/workflows/${id}/steps/a/complete`, { result: { ok: true } }, tok),
            200,
          );
          completed.set(id, Date.now());
        }
      } else expectStatus(res, 204);
      if (!poisonDone) poisonDone = (await api.get('/api/workflows/poison-1')).body.status === 'failed';
    }
    await producing;

    expect(poisonClaims.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    const final = (await api.get('/api/workflows/poison-1')).body;
    expect(final).toMatchObject({ status: 'failed', attempt: MAX, error: { code: 'lease_expired' } });

    const evs = await events(api, 'poison', 'poison-1');
    const requeued = evs.filter((e) => e.type === 'workflow:requeued');
    const failed = evs.filter((e) => e.type === 'workflow:failed');
    expect(requeued.map((e) => e.data.attempt)).toEqual([2, 3, 4]);
    expect(failed).toHaveLength(1);
    expect(failed[0].data.error).toMatchObject({ code: 'lease_expired' });

    // the schedule, server-side and exact: availableAt − at of each requeue
    const backoffs = requeued.map((e) => Date.parse(e.data.availableAt) - Date.parse(e.at));
    process.stdout.write(`[worker-crash] poison backoffs ${backoffs.join(', ')} ms\n`);
    [1000, 2000, 4000].forEach((want, i) => {
      expect(backoffs[i]).toBeGreaterThanOrEqual(want * 0.9);
      expect(backoffs[i]).toBeLessThanOrEqual(want * 1.1);
    });
    // each expiry after its lease and within a reaper interval (+ slack); each re-claim only once ready
    const expiries = [...requeued, failed[0]];
    expiries.forEach((e, i) => {
      expect(Date.parse(e.at)).toBeGreaterThanOrEqual(poisonClaims[i].leaseExpiresAt);
      expect(Date.parse(e.at)).toBeLessThanOrEqual(poisonClaims[i].leaseExpiresAt + REAPER_MS + SLACK_MS);
    });
    requeued.forEach((e, i) => {
      const ready = Date.parse(e.data.availableAt);
      expect(poisonClaims[i + 1].at).toBeGreaterThanOrEqual(ready);
      expect(poisonClaims[i + 1].at).toBeLessThanOrEqual(ready + SLACK_MS);
    });

    // the other work was claimed and completed meanwhile, first try, not held up by the poison
    expect([...completed.keys()].sort()).toEqual(goods.slice().sort());
    const failedAt = Date.parse(failed[0].at);
    const meanwhile = [...completed.values()].filter((t) => t > tStart && t < failedAt);
    expect(meanwhile.length).toBeGreaterThanOrEqual(4);
    for (const id of goods)
      expect((await api.get(`/api/workflows/${id}`)).body).toMatchObject({ status: 'completed', attempt: 1 });
    const q = (await api.get('/api/queues')).body.items.find((i: any) => i.name === 'poison');
    expect(q).toMatchObject({ queued: 0, running: 0, failedLastMinute: 1, completedLastMinute: 6 });
  }, 60_000);

  it('a step failed with retryable: true is retried with the same backoff, then fails with the step error', async () => {
    await create(api, 'retry', 'retry-1', { queue: 'retry', maxAttempts: 3 });
    const error = { message: 'upstream timed out', code: 'E_UPSTREAM' };
    const claims: { attempt: number; at: number }[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { res, at } = await claimWithin(api, 'retry', 10_000, { workerId: 'retrier' });
      claims.push({ attempt: res.body.attempt, at });
      const tok = lease(res.body.leaseToken);
      expectStatus(await api.post('/api/workflows/retry-1/steps/a/progress', { progress: 50 }, tok), 200);
      const failed = await api.post('/api/workflows/retry-1/steps/a/fail', { error, retryable: true }, tok);
      expectStatus(failed, 200);
      expect(failed.body.status).toBe(attempt < 3 ? 'queued' : 'failed');
      // the old token is spent either way
      expectStatus(
        await api.post('/api/workflows/retry-1/steps/b/start', {}, tok),
        409,
        attempt < 3 ? 'lease_lost' : 'invalid_transition',
      );
    }
    expect(claims.map((c) => c.attempt)).toEqual([1, 2, 3]);
    const final = (await api.get('/api/workflows/retry-1')).body;
    expect(final).toMatchObject({ status: 'failed', attempt: 3, error });

    const evs = await events(api, 'retry', 'retry-1');
    const requeued = evs.filter((e) => e.type === 'workflow:requeued');
    expect(requeued.map((e) => [e.data.attempt, e.data.reason])).toEqual([
      [2, 'step_failed'],
      [3, 'step_failed'],
    ]);
    expect(requeued.map((e) => e.data.error)).toEqual([error, error]);
    const backoffs = requeued.map((e) => Date.parse(e.data.availableAt) - Date.parse(e.at));
    expect(backoffs[0]).toBeGreaterThanOrEqual(900);
    expect(backoffs[0]).toBeLessThanOrEqual(1100);
    expect(backoffs[1]).toBeGreaterThanOrEqual(1800);
    expect(backoffs[1]).toBeLessThanOrEqual(2200);
    requeued.forEach((e, i) =>
      expect(claims[i + 1].at).toBeGreaterThanOrEqual(Date.parse(e.data.availableAt)),
    );
    expect(evs.filter((e) => e.type === 'workflow:step:failed')).toHaveLength(3);
    expect(evs.filter((e) => e.type === 'workflow:failed')).toHaveLength(1);
  }, 30_000);
});
