import {
  Stepline,
  type AbortReason,
  type WorkHandler,
  type Worker,
  type WorkOptions,
  type Workflow,
  type WorkflowHandle,
} from '@stepline/client';
import { useServer } from './support/fixture';
import { Client, expectStatus } from './support/http';
import { waitFor } from './support/live-clients';
import { ADMIN_TOKEN } from './support/server';

/**
 * CONTRACT §16, workers: `sl.work(queue, handler, options)` against the real server: heartbeats keep a job
 * longer than its lease alive, a cancel and a lost lease abort `signal`, a throw fails the running step
 * with `retryable: true` (the workflow is requeued), and `close()` stops claiming, lets running jobs finish,
 * and gives leases back after its timeout.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const reasonOf = (signal: AbortSignal): AbortReason | undefined =>
  (signal.reason as { reason?: AbortReason } | undefined)?.reason;
/** Resolves when `signal` aborts, with the reason the worker gave. */
const untilAborted = (signal: AbortSignal): Promise<AbortReason | undefined> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(reasonOf(signal));
    signal.addEventListener('abort', () => resolve(reasonOf(signal)), { once: true });
  });

/** Every worker a test starts is closed after it, even when the test fails (its long polls keep jest alive). */
const started: Worker[] = [];
function working(client: Stepline, queue: string, handler: WorkHandler, opts?: WorkOptions): Worker {
  const w = client.work(queue, handler, opts);
  started.push(w);
  return w;
}
afterEach(() => Promise.all(started.splice(0).map((w) => w.close(1000))));

describe('@stepline/client workers (§16)', () => {
  let url: string;
  let admin: Client;
  let sl: Stepline;
  useServer((fx) => {
    url = fx.server.url;
    admin = fx.admin;
    sl = new Stepline({ baseUrl: url, token: ADMIN_TOKEN });
  });

  const eventTypes = async (projectId: string, workflowId: string) =>
    (await sl.events(projectId, 0, 1000)).items.filter((e) => e.workflowId === workflowId).map((e) => e.type);

  it('heartbeats keep a 4 s job alive with leaseMs 1,500; the job writes with its lease token', async () => {
    const wf = await sl.createWorkflow('wk', {
      type: 'long',
      queue: 'long',
      steps: [{ id: 'a' }, { id: 'b' }],
    });
    // without the lease token the server refuses a write to a claimed workflow: the job's writes carry it
    const done: Workflow[] = [];
    let fenced: unknown[] = [];
    const w = working(
      sl,
      'long',
      async (job, { signal, attempt }) => {
        expect(attempt).toBe(1);
        await job.step('a').start();
        // the same write without the lease token is refused: the handle's writes carry it
        const raw = await admin.post(`/api/workflows/${job.id}/logs`, { level: 'info', message: 'x' });
        fenced = [raw.status, raw.body.code];
        for (let i = 1; i <= 4; i++) {
          await sleep(1000); // the work itself: 4 s, well past the 1.5 s lease
          expect(signal.aborted).toBe(false);
          await job.step('a').progress({ progress: i * 25 });
        }
        await job.step('a').complete();
        done.push(await job.step('b').complete({ result: { ok: true } }));
      },
      { leaseMs: 1500, waitMs: 1000 },
    );
    await waitFor(() => done.length === 1, 'the job to finish', { timeoutMs: 15_000 });
    await w.close();
    expect(done[0]).toMatchObject({ status: 'completed', attempt: 1 });
    expect(await eventTypes('wk', wf.id)).not.toContain('workflow:requeued');
    expect(fenced).toEqual([409, 'lease_lost']);
  });

  it('a cancel aborts signal (reason "cancelled") and the job is not failed or requeued', async () => {
    const wf = await sl.createWorkflow('wk', { type: 'c', queue: 'cancel', steps: [{ id: 'a' }] });
    let started = false;
    let reason: AbortReason | undefined;
    const w = working(
      sl,
      'cancel',
      async (job, { signal }) => {
        await job.step('a').start();
        started = true;
        reason = await untilAborted(signal);
      },
      { leaseMs: 1500, waitMs: 1000 },
    );
    await waitFor(() => started, 'the job to start');
    await sl.workflow(wf.id).cancel('stop');
    await waitFor(() => reason, 'the signal to abort', { timeoutMs: 5000 });
    await w.close();
    expect(reason).toBe('cancelled');
    const types = await eventTypes('wk', wf.id);
    expect(types).toContain('workflow:cancelled');
    expect(types).not.toContain('workflow:requeued');
    expect(types).not.toContain('workflow:step:failed');
  });

  it('a cancel is also noticed at once by the job’s next write', async () => {
    const wf = await sl.createWorkflow('wk', { type: 'c', queue: 'cancel2', steps: [{ id: 'a' }] });
    const seen: { reason?: AbortReason; code?: string } = {};
    let started = false;
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    const w = working(
      sl,
      'cancel2',
      async (job, { signal }) => {
        await job.step('a').start();
        started = true;
        await gate;
        try {
          await job.step('a').progress({ progress: 10 });
        } catch (err) {
          seen.code = (err as { code?: string }).code;
        }
        seen.reason = await untilAborted(signal);
      },
      { leaseMs: 60_000, heartbeatMs: 60_000, waitMs: 1000 },
    );
    await waitFor(() => started, 'the job to start');
    await sl.workflow(wf.id).cancel();
    go();
    await waitFor(() => seen.reason, 'the signal to abort', { timeoutMs: 5000 });
    await w.close();
    expect(seen).toEqual({ code: 'invalid_transition', reason: 'cancelled' });
  });

  it('a thrown error fails the running step with retryable: true, and the workflow runs again', async () => {
    const wf = await sl.createWorkflow('wk', {
      type: 'r',
      queue: 'retry',
      maxAttempts: 2,
      steps: [{ id: 'a' }, { id: 'b' }],
    });
    const attempts: number[] = [];
    const w = working(
      sl,
      'retry',
      async (job, { attempt }) => {
        attempts.push(attempt);
        await job.step('a').start();
        if (attempt === 1) throw new Error('flaky dependency');
        await job.step('a').complete();
        await job.step('b').complete();
      },
      { leaseMs: 5000, waitMs: 1000 },
    );
    const final = await waitFor(
      async () => {
        const x = await sl.workflow(wf.id).get();
        return x.status === 'completed' ? x : undefined;
      },
      'the second attempt to complete',
      { timeoutMs: 15_000 },
    );
    await w.close();
    expect(attempts).toEqual([1, 2]);
    expect(final.attempt).toBe(2);
    const { items } = await sl.events('wk', 0, 1000);
    const failed = items.find((e) => e.workflowId === wf.id && e.type === 'workflow:step:failed');
    expect(failed).toMatchObject({ stepId: 'a', data: { error: { message: 'flaky dependency' } } });
    expect(items.some((e) => e.workflowId === wf.id && e.type === 'workflow:requeued')).toBe(true);
  });

  it('a handler that returns completes what it left open, with its value as the last result', async () => {
    const wf = await sl.createWorkflow('wk', {
      type: 'ret',
      queue: 'ret',
      steps: [{ id: 'a' }, { id: 'b' }],
    });
    const w = working(
      sl,
      'ret',
      async (job) => {
        await job.step('a').progress({ progress: 50 });
        return { answer: 42 };
      },
      { waitMs: 1000 },
    );
    const final = await waitFor(async () => {
      const x = await sl.workflow(wf.id).get();
      return x.status === 'completed' ? x : undefined;
    }, 'completion');
    await w.close();
    expect(final.steps.map((s) => s.status)).toEqual(['completed', 'completed']);
    expect(final.steps[1].result).toEqual({ answer: 42 });
  });

  it('a job’s unawaited progress calls go out as batches that carry the lease token', async () => {
    const writes = { batches: 0, singles: 0 };
    const counting: typeof fetch = (input, init) => {
      const path = new URL(String(input)).pathname;
      if (init?.method === 'POST' && path === '/api/progress') writes.batches++;
      else if (init?.method === 'POST' && path.endsWith('/progress')) writes.singles++;
      return fetch(input, init);
    };
    const client = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, fetch: counting });
    const wf = await sl.createWorkflow('wk', { type: 'b', queue: 'batchq', steps: [{ id: 'a' }] });
    const w = working(
      client,
      'batchq',
      async (job) => {
        const calls = Array.from({ length: 300 }, (_, i) =>
          job.step('a').progress({ current: i + 1, total: 300 }),
        );
        await Promise.all(calls);
        await job.step('a').complete();
      },
      { waitMs: 1000 },
    );
    const final = await waitFor(async () => {
      const x = await sl.workflow(wf.id).get();
      return x.status === 'completed' ? x : undefined;
    }, 'completion');
    await w.close();
    const progress = (await sl.events('wk', 0, 1000)).items.filter(
      (e) => e.workflowId === wf.id && e.type === 'workflow:step:progress',
    );
    expect(progress.map((e) => (e.data as { current: number }).current)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    expect(final.attempt).toBe(1);
    // 300 calls, a handful of requests: the first alone, the rest batched behind it (one call per request
    // would be 300)
    expect(writes.batches).toBeGreaterThan(0);
    expect(writes.batches + writes.singles).toBeLessThanOrEqual(10);
  });

  it('a lost lease aborts signal (reason "lease_lost")', async () => {
    // heartbeats never arrive (the network eats them): the lease runs out
    const noBeats: typeof fetch = (input, init) =>
      String(input).endsWith('/heartbeat')
        ? Promise.reject(new TypeError('fetch failed'))
        : fetch(input, init);
    const client = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, fetch: noBeats });
    const wf = await client.createWorkflow('wk', {
      type: 'l',
      queue: 'lease',
      maxAttempts: 2,
      steps: [{ id: 'a' }],
    });
    let reason: AbortReason | undefined;
    const w = working(
      client,
      'lease',
      async (job, { signal, attempt }) => {
        if (attempt > 1) return; // the requeued run just finishes
        await job.step('a').start();
        reason = await untilAborted(signal);
      },
      { leaseMs: 1000, heartbeatMs: 300, waitMs: 1000 },
    );
    await waitFor(() => reason, 'the signal to abort', { timeoutMs: 10_000 });
    expect(reason).toBe('lease_lost');
    await waitFor(
      async () => (await client.workflow(wf.id).get()).status === 'completed',
      'the next attempt to run',
      { timeoutMs: 15_000 },
    );
    await w.close();
  });

  it('close() stops claiming and lets the running job finish', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let running: WorkflowHandle | undefined;
    const a = await sl.createWorkflow('wk', { type: 'x', queue: 'close', steps: [{ id: 's' }] });
    const w = working(
      sl,
      'close',
      async (job) => {
        running = job;
        await hold;
        await job.step('s').complete();
      },
      { leaseMs: 5000, waitMs: 30_000 },
    );
    await waitFor(() => running, 'the job to start');
    expect(running!.id).toBe(a.id);
    let released = false;
    const closing = w.close().then(() => released);
    // a workflow queued after close(): the closed worker must not take it
    const b = await sl.createWorkflow('wk', { type: 'x', queue: 'close', steps: [{ id: 's' }] });
    released = true;
    release();
    expect(await closing).toBe(true); // close() waited for the running job
    expect((await sl.workflow(a.id).get()).status).toBe('completed');
    // the sentinel: another claimer gets b, so the closed worker did not claim it
    const claim = await admin.post('/api/queues/close/claim', { workerId: 'other', waitMs: 2000 });
    expectStatus(claim, 200);
    expect(claim.body.workflow.id).toBe(b.id);
    expect(claim.body.attempt).toBe(1);
    expect(w.claimed).toBe(1);
  });

  it('close() gives the lease back when a job does not finish in time', async () => {
    const wf = await sl.createWorkflow('wk', {
      type: 'x',
      queue: 'stuck',
      maxAttempts: 3,
      steps: [{ id: 's' }],
    });
    let reason: AbortReason | undefined;
    let started = false;
    const w = working(
      sl,
      'stuck',
      async (job, { signal }) => {
        await job.step('s').start();
        started = true;
        reason = await untilAborted(signal);
      },
      { leaseMs: 60_000, waitMs: 1000 },
    );
    await waitFor(() => started, 'the job to start');
    await w.close(300);
    expect(reason).toBe('closing');
    // the lease was cut to a second: the workflow is requeued without waiting out the 60 s lease
    await waitFor(async () => (await eventTypes('wk', wf.id)).includes('workflow:requeued'), 'the requeue', {
      timeoutMs: 8000,
    });
    const again = await admin.post('/api/queues/stuck/claim', { workerId: 'other', waitMs: 5000 });
    expectStatus(again, 200);
    expect(again.body).toMatchObject({ attempt: 2, workflow: { id: wf.id } });
  });

  it('close(timeout) resolves once the leases are given back, even when a handler never settles', async () => {
    const wf = await sl.createWorkflow('wk', {
      type: 'x',
      queue: 'deaf',
      maxAttempts: 2,
      steps: [{ id: 's' }],
    });
    let started = false;
    const w = working(
      sl,
      'deaf',
      async (job) => {
        await job.step('s').start();
        started = true;
        await new Promise<never>(() => undefined); // ignores its signal, never settles
      },
      { leaseMs: 60_000, waitMs: 1000 },
    );
    await waitFor(() => started, 'the job to start');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      w.close(300).then(() => 'closed'),
      new Promise((r) => (timer = setTimeout(() => r('still waiting after 10 s'), 10_000))),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
    // the lease was given back before close() resolved: another worker gets the workflow again
    const again = await admin.post('/api/queues/deaf/claim', { workerId: 'other', waitMs: 8000 });
    expectStatus(again, 200);
    expect(again.body).toMatchObject({ attempt: 2, workflow: { id: wf.id } });
  });

  it('a lease given back costs the job an attempt: with the default maxAttempts (1) it fails, lease_expired', async () => {
    const wf = await sl.createWorkflow('wk', { type: 'x', queue: 'once', steps: [{ id: 's' }] });
    expect(wf.data?.maxAttempts).toBe(1);
    let reason: AbortReason | undefined;
    let started = false;
    const w = working(
      sl,
      'once',
      async (job, { signal }) => {
        await job.step('s').start();
        started = true;
        reason = await untilAborted(signal);
      },
      { leaseMs: 60_000, waitMs: 1000 },
    );
    await waitFor(() => started, 'the job to start');
    await w.close(300);
    expect(reason).toBe('closing');
    // there is no release in the contract: the lease is cut to a second and expires like a crashed worker's
    const final = await waitFor(
      async () => {
        const x = await sl.workflow(wf.id).get();
        return x.status === 'queued' || x.status === 'running' ? undefined : x;
      },
      'the lease to expire',
      { timeoutMs: 8000 },
    );
    expect(final).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'lease_expired' } });
    const types = await eventTypes('wk', wf.id);
    expect(types).toContain('workflow:failed');
    expect(types).not.toContain('workflow:requeued');
  });
});
