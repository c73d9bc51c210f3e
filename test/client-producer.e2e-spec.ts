import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Stepline, SteplineError, type SteplineEvent, type Workflow } from '@stepline/client';
import { useServer } from './support/fixture';
import { Client, createKey } from './support/http';
import { rangeProblems } from './support/live-clients';
import { ADMIN_TOKEN } from './support/server';

/**
 * CONTRACT §16, producers: every call of @stepline/client (the built package, resolved from the project root
 * as a user would) against the real server, on the run's database; errors with their codes; and 3,000
 * progress calls fired without awaiting, committed in call order through far fewer requests.
 */

/** A fetch that counts what it sends, by method and path. */
function countingFetch() {
  const counts = new Map<string, number>();
  const fetchFn: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    const k = `${init?.method ?? 'GET'} ${url.pathname}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    return fetch(input, init);
  };
  const total = () => [...counts.values()].reduce((a, b) => a + b, 0);
  return { fetchFn, counts, total };
}

async function rejection(p: Promise<unknown>): Promise<SteplineError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SteplineError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('@stepline/client producers (§16)', () => {
  let url: string;
  let admin: Client;
  let sl: Stepline;
  useServer((fx) => {
    url = fx.server.url;
    admin = fx.admin;
    sl = new Stepline({ baseUrl: url, token: ADMIN_TOKEN });
  });

  it('resolves from the project root as CommonJS and as ESM, with the same API', () => {
    // real Node processes in the project root, as a user's code would load it (not jest's module shim)
    const run = (args: string[]) =>
      execFileSync(process.execPath, args, { cwd: join(__dirname, '..'), encoding: 'utf8' }).trim();
    const probe = 'typeof Stepline, typeof SteplineError, typeof useWorkflow, typeof useProjectWorkflows';
    expect(
      run([
        '-e',
        `const { Stepline, SteplineError } = require('@stepline/client'); const { useWorkflow, useProjectWorkflows } = require('@stepline/client/react'); console.log(${probe})`,
      ]),
    ).toBe('function function function function');
    expect(
      run([
        '--input-type=module',
        '-e',
        `import { Stepline, SteplineError } from '@stepline/client'; import { useWorkflow, useProjectWorkflows } from '@stepline/client/react'; console.log(${probe})`,
      ]),
    ).toBe('function function function function');
  });

  it('createWorkflow, start, progress, complete, skip, log, and each resolves with the committed Workflow', async () => {
    const wf = await sl.createWorkflow('prod', {
      type: 'import',
      name: 'Import',
      steps: [{ id: 'parse', weight: 1 }, { id: 'load', weight: 3 }, { id: 'notify' }],
      metadata: { source: 'test' },
    });
    expect(wf.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(wf.data).toMatchObject({ status: 'queued', projectId: 'prod', type: 'import', progress: 0 });

    let w: Workflow = await wf.step('parse').start('reading');
    expect(w.status).toBe('running');
    expect(w.steps[0]).toMatchObject({ status: 'running', message: 'reading' });

    w = await wf.step('parse').progress({ current: 5, total: 10, message: 'half', metrics: { rows: 5 } });
    expect(w.steps[0]).toMatchObject({ progress: 50, current: 5, total: 10, metrics: { rows: 5 } });

    w = await wf.step('parse').complete({ result: { rows: 10 } });
    expect(w.steps[0]).toMatchObject({ status: 'completed', progress: 100, result: { rows: 10 } });

    w = await wf.log({ level: 'info', message: 'parsed', stepId: 'parse', details: { n: 10 } });
    expect(w.id).toBe(wf.id);
    const logs = await wf.logs();
    expect(logs).toEqual([
      expect.objectContaining({ level: 'info', message: 'parsed', stepId: 'parse', details: { n: 10 } }),
    ]);

    w = await wf.step('load').progress({ progress: 40 }); // a pending step is started by progress
    expect(w.steps[1]).toMatchObject({ status: 'running', progress: 40 });
    w = await wf.step('notify').skip('nobody to tell');
    expect(w.steps[2]).toMatchObject({ status: 'skipped' });
    w = await wf.step('load').complete();
    expect(w).toMatchObject({ status: 'completed', progress: 100 });

    // a handle from an id sees the same workflow
    const again = await sl.workflow(wf.id).get();
    expect(again).toEqual(w);
  });

  it('fail and cancel', async () => {
    const a = await sl.createWorkflow('prod', { type: 't', steps: [{ id: 's1' }, { id: 's2' }] });
    await a.step('s1').start();
    const failed = await a.step('s1').fail({ error: { message: 'boom', code: 'E_BOOM' } });
    expect(failed).toMatchObject({ status: 'failed', error: { message: 'boom', code: 'E_BOOM' } });
    expect(failed.steps[0]).toMatchObject({ status: 'failed', error: { message: 'boom', code: 'E_BOOM' } });

    const b = await sl.createWorkflow('prod', { type: 't', steps: [{ id: 's1' }, { id: 's2' }] });
    await b.step('s1').start();
    const cancelled = await b.cancel('not needed');
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('createWorkflow with the same id and body again is the same workflow; a different body is a conflict', async () => {
    const body = { id: 'fixed-id-1', type: 't', steps: [{ id: 's' }] };
    const a = await sl.createWorkflow('prod', body);
    const b = await sl.createWorkflow('prod', body);
    expect(b.data).toEqual(a.data);
    const err = await rejection(sl.createWorkflow('prod', { ...body, name: 'other' }));
    expect(err).toMatchObject({ status: 409, code: 'conflict' });
  });

  it('rejects with SteplineError carrying status, code, message and details', async () => {
    const v = await rejection(sl.createWorkflow('prod', { type: 't', steps: [] }));
    expect(v).toBeInstanceOf(SteplineError);
    expect(v.status).toBe(400);
    expect(v.code).toBe('validation_failed');
    expect(v.message).toEqual(expect.any(String));
    expect(v.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: expect.any(String) })]),
    );

    const wf = await sl.createWorkflow('prod', { type: 't', steps: [{ id: 's' }, { id: 'u' }] });
    expect(await rejection(wf.step('nope').start())).toMatchObject({ status: 404, code: 'not_found' });
    expect(await rejection(sl.workflow('no-such-workflow').get())).toMatchObject({
      status: 404,
      code: 'not_found',
    });
    await wf.step('s').progress({ progress: 60 });
    expect(await rejection(wf.step('s').progress({ progress: 10 }))).toMatchObject({
      status: 409,
      code: 'progress_regression',
    });
    expect(await rejection(wf.step('s').skip())).toMatchObject({ status: 409, code: 'invalid_transition' });

    const anon = new Stepline({ baseUrl: url, token: 'not-a-key' });
    expect(await rejection(anon.workflow(wf.id).get())).toMatchObject({ status: 401, code: 'unauthorized' });
    const viewer = new Stepline({ baseUrl: url, token: await createKey(admin, 'viewer', ['prod']) });
    expect(await rejection(viewer.workflow(wf.id).step('u').start())).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    const other = new Stepline({ baseUrl: url, token: await createKey(admin, 'producer', ['elsewhere']) });
    expect(await rejection(other.workflow(wf.id).get())).toMatchObject({ status: 404, code: 'not_found' });
    expect(await rejection(other.createWorkflow('prod', { type: 't', steps: [{ id: 's' }] }))).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
  });

  it('a batched progress call that is refused rejects alone; the others around it commit', async () => {
    const counter = countingFetch();
    const client = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, fetch: counter.fetchFn });
    const wf = await client.createWorkflow('prod', { type: 't', steps: [{ id: 's' }] });
    const first = wf.step('s').start(); // in flight: the progress calls below queue behind it
    const calls = [10, 20, 5, 30].map((p) => wf.step('s').progress({ progress: p }));
    const settled = await Promise.allSettled([first, ...calls]);
    // the four went out together: one POST /api/progress, no single-step progress request
    expect(counter.counts.get('POST /api/progress')).toBe(1);
    expect(
      [...counter.counts.keys()].filter((k) => k.endsWith('/progress') && k !== 'POST /api/progress'),
    ).toEqual([]);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((settled[3] as PromiseRejectedResult).reason).toMatchObject({
      status: 409,
      code: 'progress_regression',
    });
    const last = (settled[4] as PromiseFulfilledResult<Workflow>).value;
    expect(last.steps[0].progress).toBe(30);
    // each fulfilled batched call's Workflow includes its own write
    expect((settled[1] as PromiseFulfilledResult<Workflow>).value.steps[0].progress).toBeGreaterThanOrEqual(
      10,
    );
  });

  it('after a retry, a progress_regression is reported, unless a later entry of the batch for that step committed', async () => {
    // `refuse` answers the next matching POST with a 503 that never reaches the server; `lose` lets it commit
    // and loses the answer: both make the client retry
    let refuse: RegExp | undefined;
    let lose: RegExp | undefined;
    const flaky: typeof fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      if (init?.method === 'POST' && refuse?.test(path)) {
        refuse = undefined;
        return new Response(
          JSON.stringify({
            statusCode: 503,
            error: 'Service Unavailable',
            code: 'unavailable',
            message: 'x',
          }),
          { status: 503, headers: { 'content-type': 'application/json' } },
        );
      }
      const res = await fetch(input, init);
      if (init?.method === 'POST' && lose?.test(path)) {
        lose = undefined;
        await res.text();
        throw new TypeError('fetch failed (answer lost)');
      }
      return res;
    };
    const client = new Stepline({
      baseUrl: url,
      token: ADMIN_TOKEN,
      fetch: flaky,
      retry: { minDelayMs: 10 },
    });
    const wf = await client.createWorkflow('regress', {
      type: 't',
      steps: [{ id: 's' }, { id: 't' }, { id: 'u' }, { id: 'v' }],
    });
    await wf.step('s').progress({ progress: 60 });

    // a single write retried after a 503: its 409 is a real regression (a repeat of a committed value is a 200)
    refuse = /\/steps\/s\/progress$/;
    expect(await rejection(wf.step('s').progress({ progress: 10 }))).toMatchObject({
      status: 409,
      code: 'progress_regression',
    });
    expect(refuse).toBeUndefined();

    // a batch retried after a 503: s regresses for real (no later entry for s), t commits
    const inFlight = wf.step('v').start();
    refuse = /^\/api\/progress$/;
    const batch1 = [wf.step('s').progress({ progress: 20 }), wf.step('t').progress({ progress: 50 })];
    const settled1 = await Promise.allSettled([inFlight, ...batch1]);
    expect(refuse).toBeUndefined();
    expect(settled1.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled1[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'progress_regression' });

    // a batch whose answer was lost: sent again, u:10 regresses against the u:20 it committed the first time,
    // and u:20 answers ok: both calls resolve, each value committed once
    const inFlight2 = wf.step('v').progress({ progress: 1 });
    lose = /^\/api\/progress$/;
    const batch2 = [wf.step('u').progress({ progress: 10 }), wf.step('u').progress({ progress: 20 })];
    const settled2 = await Promise.allSettled([inFlight2, ...batch2]);
    expect(lose).toBeUndefined();
    expect(settled2.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const uProgress = (await client.events('regress', 0, 1000)).items.flatMap((e) =>
      e.workflowId === wf.id && e.stepId === 'u' && e.type === 'workflow:step:progress'
        ? [e.data.progress]
        : [],
    );
    expect(uProgress).toEqual([10, 20]);
  });

  it('3,000 progress calls fired without awaiting commit in call order, through far fewer requests', async () => {
    const counter = countingFetch();
    const client = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, fetch: counter.fetchFn });
    const wf = await client.createWorkflow('bulk', { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    const N = 3000;
    const t0 = Date.now();
    const calls: Promise<Workflow>[] = [];
    for (let i = 1; i <= N; i++) {
      // two steps, interleaved: order matters across steps too
      const step = i % 2 === 0 ? 'a' : 'b';
      calls.push(wf.step(step).progress({ current: i, total: N, message: `m${i}` }));
    }
    const results = await Promise.all(calls);
    const ms = Date.now() - t0;
    // every call resolved with a Workflow that already contains its own write
    results.forEach((w, i) => {
      const step = w.steps.find((s) => s.id === ((i + 1) % 2 === 0 ? 'a' : 'b'))!;
      expect(step.current).toBeGreaterThanOrEqual(i + 1);
    });
    const writes = counter.counts.get('POST /api/progress') ?? 0;
    const total = counter.total();
    expect(total).toBeLessThan(N / 50);
    expect(writes).toBeGreaterThan(0);

    // committed in call order: the events of the workflow are exactly 1..N in order, one per call
    const events: SteplineEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await client.events('bulk', after, 1000);
      events.push(...page.items);
      if (page.items.length < 1000) break;
      after = page.items[page.items.length - 1].seq;
    }
    const currents = events.flatMap((e) =>
      (e.type === 'workflow:step:progress' || e.type === 'workflow:step:started') &&
      e.workflowId === wf.id &&
      e.data.current !== null
        ? [e.data.current]
        : [],
    );
    expect(rangeProblems(currents, 1, N)).toEqual([]);
    const final = await wf.get();
    expect(final.steps.map((s) => s.current)).toEqual([N, N - 1]);
    console.log(`3,000 progress calls: ${total} requests (${writes} batches), ${ms} ms`);
  });

  it('a 503 is retried with backoff and commits once', async () => {
    // the first two attempts of every write answer 503 without reaching the server
    let refused = 0;
    const flaky: typeof fetch = (input, init) => {
      if (init?.method === 'POST' && refused < 2) {
        refused++;
        return Promise.resolve(
          new Response(
            JSON.stringify({
              statusCode: 503,
              error: 'Service Unavailable',
              code: 'unavailable',
              message: 'x',
            }),
            {
              status: 503,
              headers: { 'content-type': 'application/json' },
            },
          ),
        );
      }
      return fetch(input, init);
    };
    const client = new Stepline({
      baseUrl: url,
      token: ADMIN_TOKEN,
      fetch: flaky,
      retry: { minDelayMs: 10 },
    });
    const wf = await client.createWorkflow('retry', { type: 't', steps: [{ id: 's' }] });
    expect(refused).toBe(2);
    refused = 0;
    const w = await wf.step('s').start();
    expect(w.steps[0].status).toBe('running');
    expect(refused).toBe(2);
  });

  it('a log line whose answer was lost is looked for only after what the handle knew, within the retry policy', async () => {
    let drop = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && drop > 0) {
        drop--;
        await res.text();
        throw new TypeError('fetch failed (answer lost)');
      }
      return res;
    };
    const client = new Stepline({
      baseUrl: url,
      token: ADMIN_TOKEN,
      fetch: lossy,
      retry: { minDelayMs: 10 },
    });
    const wf = await client.createWorkflow('lossy-log', { type: 't', steps: [{ id: 's' }] });
    await wf.log({ level: 'info', message: 'started' }); // e.g. an earlier attempt's line

    // a fresh handle (a worker's next attempt, another process) writes the same line and loses the answer:
    // the earlier line is not the lost one, so the new line is written
    const fresh = client.workflow(wf.id);
    drop = 1;
    const after = await fresh.log({ level: 'info', message: 'started' });
    expect(after.lastSeq).toBeGreaterThan(wf.data!.lastSeq);
    expect((await fresh.logs()).map((l) => l.message)).toEqual(['started', 'started']);
    // the line whose answer was lost is found by the lookup, not sent again
    drop = 1;
    await fresh.log({ level: 'info', message: 'started' });
    expect((await fresh.logs()).map((l) => l.message)).toEqual(['started', 'started', 'started']);

    // retry: false: a lost answer rejects (the line may have been committed: ambiguous), nothing is resent
    const once = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, fetch: lossy, retry: false });
    const h = once.workflow(wf.id);
    drop = 1;
    const err = await rejection(h.log({ level: 'info', message: 'no retry' }));
    expect(err).toMatchObject({ code: 'network_error', ambiguous: true });
    expect((await h.logs()).map((l) => l.message)).toEqual(['started', 'started', 'started', 'no retry']);
  });

  it('a write whose answer is lost is retried, and its success is not hidden by a 409', async () => {
    // the request reaches the server and commits; the client never sees the answer (a network error)
    let drop = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && drop > 0) {
        drop--;
        await res.text();
        throw new TypeError('fetch failed (answer lost)');
      }
      return res;
    };
    const client = new Stepline({
      baseUrl: url,
      token: ADMIN_TOKEN,
      fetch: lossy,
      retry: { minDelayMs: 10 },
    });
    drop = 1;
    const wf = await client.createWorkflow('lossy', { type: 't', steps: [{ id: 's' }, { id: 't' }] });
    expect(wf.data?.status).toBe('queued');
    drop = 1;
    expect((await wf.step('s').start()).steps[0].status).toBe('running');
    drop = 1;
    expect((await wf.step('s').progress({ progress: 50 })).steps[0].progress).toBe(50);
    drop = 1;
    expect((await wf.log({ level: 'info', message: 'once' })).id).toBe(wf.id);
    drop = 1;
    expect((await wf.step('s').complete()).steps[0].status).toBe('completed');
    drop = 1;
    expect((await wf.step('t').skip()).status).toBe('completed');

    // nothing was committed twice: one event per write
    const { items } = await client.events('lossy', 0, 1000);
    const types = items.filter((e) => e.workflowId === wf.id).map((e) => e.type);
    expect(types).toEqual([
      'workflow:created',
      'workflow:started',
      'workflow:step:started',
      'workflow:step:progress',
      'workflow:log',
      'workflow:step:completed',
      'workflow:step:skipped',
      'workflow:completed',
    ]);
    expect((await wf.logs()).map((l) => l.message)).toEqual(['once']);

    const c = await client.createWorkflow('lossy', { type: 't', steps: [{ id: 's' }] });
    drop = 1;
    expect((await c.cancel()).status).toBe('cancelled');
    const f = await client.createWorkflow('lossy', { type: 't', steps: [{ id: 's' }] });
    drop = 1;
    expect((await f.step('s').fail({ error: { message: 'x' } })).status).toBe('failed');
    const all = (await client.events('lossy', 0, 1000)).items;
    for (const id of [c.id, f.id]) {
      const t = all.filter((e) => e.workflowId === id).map((e) => e.type);
      expect(t).toContain('workflow:created');
      expect(t).toContain(id === c.id ? 'workflow:cancelled' : 'workflow:failed');
      expect(new Set(t).size).toBe(t.length);
    }
  });
});
