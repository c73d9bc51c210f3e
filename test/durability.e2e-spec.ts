import { ApiResponse, client, Client, createKey } from './support/http';
import { ServerFixture, useServer } from './support/fixture';

/**
 * Durability of the one write path, against the real server process on the database of the run
 * (SQLite, or MariaDB when DATABASE_URL is mysql://): gapless per-project seqs under concurrent writers,
 * acknowledged writes surviving a SIGKILL, the stalled reaper, and event retention keeping the counter.
 */

interface Envelope {
  seq: number;
  type: string;
  projectId: string;
  workflowId: string | null;
  stepId: string | null;
  at: string;
  data: any;
}

/** Every event of a project, paging with after/limit as a client that catches up would. */
async function allEvents(
  api: Client,
  projectId: string,
  limit = 97,
): Promise<{ items: Envelope[]; lastSeq: number }> {
  const items: Envelope[] = [];
  let after = 0;
  let lastSeq: number;
  for (;;) {
    const res = await api.get(`/api/projects/${projectId}/events?after=${after}&limit=${limit}`);
    expect(res.status).toBe(200);
    expect(res.body.reset).toBeUndefined();
    lastSeq = res.body.lastSeq;
    items.push(...(res.body.items as Envelope[]));
    if (res.body.items.length < limit) break;
    after = res.body.items[res.body.items.length - 1].seq;
  }
  return { items, lastSeq };
}

function expectContiguous(items: Envelope[]): void {
  const seqs = items.map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
}

async function projectLastSeq(api: Client, projectId: string): Promise<number> {
  const res = await api.get('/api/projects');
  expect(res.status).toBe(200);
  const item = (res.body.items as Array<{ id: string; lastSeq: number }>).find((p) => p.id === projectId);
  expect(item).toBeDefined();
  return item!.lastSeq;
}

function expectOk(res: ApiResponse, status = 200): void {
  if (res.status !== status)
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Polls `check` until it returns a value (not undefined), at most `attempts` times `intervalMs` apart. */
async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  attempts = 150,
  intervalMs = 100,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('durability: concurrent writers keep one gapless seq per project', () => {
  let fx: ServerFixture;
  let api: Client;

  useServer((f) => (fx = f));
  beforeAll(async () => {
    api = client(fx.server.url, await createKey(fx.admin, 'producer', ['dur-conc']));
  });

  it('32 concurrent progress writers over 4 workflows: seqs 1..N, N = events committed, final progress = max accepted', async () => {
    const project = 'dur-conc';
    const WORKFLOWS = 4;
    const WRITERS_PER_WORKFLOW = 8;
    const WRITES_PER_WRITER = 12;
    const ids = Array.from({ length: WORKFLOWS }, (_, i) => `wf-${i}`);

    // setup, serially: created + started + step started per workflow
    let setupSeq = 0;
    for (const id of ids) {
      expectOk(
        await api.post(`/api/projects/${project}/workflows`, {
          id,
          type: 'conc',
          steps: [{ id: 'work' }, { id: 'tail' }],
        }),
        201,
      );
      const started = await api.post(`/api/workflows/${id}/steps/work/start`);
      expectOk(started);
      setupSeq = started.body.lastSeq;
    }
    expect(setupSeq).toBe(3 * WORKFLOWS);

    // writer j of a workflow posts j+1, j+1+8, j+1+16, …: distinct values, each writer rising, writers racing
    interface Write {
      workflowId: string;
      value: number;
      res: ApiResponse;
    }
    const writes: Write[] = [];
    const writer = async (workflowId: string, j: number) => {
      for (let i = 0; i < WRITES_PER_WRITER; i++) {
        const value = i * WRITERS_PER_WORKFLOW + j + 1;
        const res = await api.post(`/api/workflows/${workflowId}/steps/work/progress`, { progress: value });
        writes.push({ workflowId, value, res });
      }
    };
    await Promise.all(
      ids.flatMap((id) => Array.from({ length: WRITERS_PER_WORKFLOW }, (_, j) => writer(id, j))),
    );
    expect(writes).toHaveLength(WORKFLOWS * WRITERS_PER_WORKFLOW * WRITES_PER_WRITER);

    const accepted = writes.filter((w) => w.res.status === 200);
    for (const w of writes) {
      if (w.res.status === 200) continue;
      expect({ status: w.res.status, code: w.res.body?.code }).toEqual({
        status: 409,
        code: 'progress_regression',
      });
    }
    // every accepted write changed something (values are distinct): its answer shows it and names its own event
    for (const w of accepted)
      expect(w.res.body.steps.find((s: any) => s.id === 'work').progress).toBe(w.value);
    expect(accepted.length).toBeGreaterThanOrEqual(WORKFLOWS); // at least the highest value of each wins

    const { items, lastSeq } = await allEvents(api, project);
    const N = setupSeq + accepted.length;
    expectContiguous(items);
    expect(items).toHaveLength(N);
    expect(lastSeq).toBe(N);
    expect(await projectLastSeq(api, project)).toBe(N);

    const bySeq = new Map(items.map((e) => [e.seq, e]));
    const progressEvents = items.filter((e) => e.type === 'workflow:step:progress');
    expect(progressEvents).toHaveLength(accepted.length);
    expect(new Set(accepted.map((w) => w.res.body.lastSeq)).size).toBe(accepted.length);
    for (const w of accepted) {
      const e = bySeq.get(w.res.body.lastSeq);
      expect({
        type: e?.type,
        workflowId: e?.workflowId,
        stepId: e?.stepId,
        progress: e?.data.progress,
      }).toEqual({
        type: 'workflow:step:progress',
        workflowId: w.workflowId,
        stepId: 'work',
        progress: w.value,
      });
    }

    for (const id of ids) {
      const mine = accepted.filter((w) => w.workflowId === id);
      const max = Math.max(...mine.map((w) => w.value));
      // commit order is seq order: accepted values rise along the seqs, so the last accepted write is the max
      const values = progressEvents.filter((e) => e.workflowId === id).map((e) => e.data.progress as number);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values[values.length - 1]).toBe(max);
      const last = mine.reduce((a, b) => (b.res.body.lastSeq > a.res.body.lastSeq ? b : a));
      expect(last.value).toBe(max);

      const wf = await api.get(`/api/workflows/${id}`);
      expectOk(wf);
      expect(wf.body.steps.find((s: any) => s.id === 'work').progress).toBe(max);
      expect(wf.body.lastSeq).toBe(Math.max(...items.filter((e) => e.workflowId === id).map((e) => e.seq)));
    }
  });
});

describe('durability: acknowledged writes survive SIGKILL', () => {
  let fx: ServerFixture;
  useServer((f) => (fx = f));

  it('kills the server right after a burst of 300 acknowledged writes; after a restart every one is there', async () => {
    const project = 'dur-crash';
    const key = await createKey(fx.admin, 'producer', [project]);
    let api = client(fx.server.url, key);

    const WORKFLOWS = 20;
    const STEPS = ['a', 'b', 'c'];
    const VALUES = [17, 42, 63]; // per step, one chain of rising values
    const LOGS_PER_WORKFLOW = 6; // 20·3·3 progress + 20·6 logs = 300 writes
    const ids = Array.from({ length: WORKFLOWS }, (_, i) => `crash-${i}`);
    for (const id of ids)
      expectOk(
        await api.post(`/api/projects/${project}/workflows`, {
          id,
          type: 'crash',
          steps: STEPS.map((s) => ({ id: s })),
        }),
        201,
      );

    interface Ack {
      kind: 'progress' | 'log';
      workflowId: string;
      stepId: string | null;
      value: number | string;
      seq: number;
    }
    const acks: Ack[] = [];
    const progressChain = async (workflowId: string, stepId: string) => {
      for (const value of VALUES) {
        const res = await api.post(`/api/workflows/${workflowId}/steps/${stepId}/progress`, {
          progress: value,
        });
        expectOk(res);
        acks.push({ kind: 'progress', workflowId, stepId, value, seq: res.body.lastSeq });
      }
    };
    const log = async (workflowId: string, n: number) => {
      const message = `line ${n} of ${workflowId}`;
      const res = await api.post(`/api/workflows/${workflowId}/logs`, {
        level: 'info',
        message,
        stepId: STEPS[n % STEPS.length],
      });
      expectOk(res, 201);
      acks.push({
        kind: 'log',
        workflowId,
        stepId: STEPS[n % STEPS.length],
        value: message,
        seq: res.body.id,
      });
    };
    await Promise.all([
      ...ids.flatMap((id) => STEPS.map((s) => progressChain(id, s))),
      ...ids.flatMap((id) => Array.from({ length: LOGS_PER_WORKFLOW }, (_, n) => log(id, n))),
    ]);
    expect(acks).toHaveLength(300);

    await fx.restart({ crash: true });
    api = client(fx.server.url, key); // the key itself was committed too

    const maxAck = Math.max(...acks.map((a) => a.seq));
    const { items, lastSeq } = await allEvents(api, project, 1000);
    expectContiguous(items);
    expect(lastSeq).toBe(maxAck); // nothing was written that was not acknowledged, nothing acknowledged is missing
    expect(items).toHaveLength(maxAck);
    expect(await projectLastSeq(api, project)).toBe(maxAck);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(acks.length);

    const bySeq = new Map(items.map((e) => [e.seq, e]));
    for (const a of acks) {
      const e = bySeq.get(a.seq);
      if (a.kind === 'progress')
        expect({ type: e?.type, workflowId: e?.workflowId, stepId: e?.stepId, v: e?.data.progress }).toEqual({
          type: 'workflow:step:progress',
          workflowId: a.workflowId,
          stepId: a.stepId,
          v: a.value,
        });
      else
        expect({
          type: e?.type,
          workflowId: e?.workflowId,
          stepId: e?.stepId,
          v: e?.data.message,
          id: e?.data.id,
        }).toEqual({
          type: 'workflow:log',
          workflowId: a.workflowId,
          stepId: a.stepId,
          v: a.value,
          id: a.seq,
        });
    }

    for (const id of ids) {
      const wf = await api.get(`/api/workflows/${id}`);
      expectOk(wf);
      expect(wf.body.status).toBe('running');
      for (const s of wf.body.steps)
        expect({ id: s.id, status: s.status, progress: s.progress }).toEqual({
          id: s.id,
          status: 'running',
          progress: VALUES[VALUES.length - 1],
        });
      expect(wf.body.progress).toBe(VALUES[VALUES.length - 1]);
      expect(wf.body.lastSeq).toBe(Math.max(...items.filter((e) => e.workflowId === id).map((e) => e.seq)));

      const logs = await api.get(`/api/workflows/${id}/logs?after=0&limit=100`);
      expectOk(logs);
      const expected = acks
        .filter((a) => a.kind === 'log' && a.workflowId === id)
        .sort((x, y) => x.seq - y.seq)
        .map((a) => ({ id: a.seq, message: a.value }));
      expect(logs.body.items.map((l: any) => ({ id: l.id, message: l.message }))).toEqual(expected);
    }

    // and the counter goes on from there
    const next = await api.post(`/api/workflows/${ids[0]}/logs`, {
      level: 'info',
      message: 'after the crash',
    });
    expectOk(next, 201);
    expect(next.body.id).toBe(maxAck + 1);
  });
});

describe('durability: stalled reaper', () => {
  let fx: ServerFixture;
  let api: Client;

  useServer((f) => (fx = f), { SWEEP_INTERVAL_MS: '200' });
  beforeAll(async () => {
    api = client(fx.server.url, await createKey(fx.admin, 'producer', ['dur-stall']));
  });

  it('fails a workflow with no write for staleAfterMs with error.code stalled; one that keeps being written does not stall', async () => {
    const project = 'dur-stall';
    const steps = [{ id: 'only' }];
    expectOk(
      await api.post(`/api/projects/${project}/workflows`, {
        id: 'idle',
        type: 'stall',
        steps,
        staleAfterMs: 1000,
      }),
      201,
    );
    expectOk(
      await api.post(`/api/projects/${project}/workflows`, {
        id: 'busy',
        type: 'stall',
        steps,
        staleAfterMs: 1000,
      }),
      201,
    );

    // keep writing to `busy` (far more often than its staleAfterMs) until `idle` is found stalled and a while after
    let stop = false;
    let writes = 0;
    const keepBusy = (async () => {
      let progress = 0;
      while (!stop) {
        progress = Math.min(99, progress + 1);
        const res = await api.post(`/api/workflows/busy/logs`, { level: 'info', message: `tick ${writes}` });
        expectOk(res, 201);
        expectOk(await api.post(`/api/workflows/busy/steps/only/progress`, { progress }));
        writes++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    try {
      const idle = await pollUntil('the idle workflow to fail', async () => {
        const res = await api.get('/api/workflows/idle');
        expectOk(res);
        return res.body.status === 'failed' ? res.body : undefined;
      });
      expect(idle.error).toMatchObject({ code: 'stalled' });

      // give `busy` several more of its stale windows under the same sweeper, still writing
      const seenAt = writes;
      await pollUntil(
        'more writes to the busy workflow',
        () => Promise.resolve(writes >= seenAt + 20 ? true : undefined),
        300,
      );
    } finally {
      stop = true;
      await keepBusy;
    }

    const busy = await api.get('/api/workflows/busy');
    expectOk(busy);
    expect(busy.body.status).toBe('running');
    expect(busy.body.error).toBeNull();

    // the failure is a committed event like any other, and the stalled workflow refuses further writes
    const { items } = await allEvents(api, project, 1000);
    expectContiguous(items);
    const failed = items.filter((e) => e.type === 'workflow:failed');
    expect(failed.map((e) => e.workflowId)).toEqual(['idle']);
    expect(failed[0].data.error).toMatchObject({ code: 'stalled' });
    const late = await api.post('/api/workflows/idle/steps/only/progress', { progress: 5 });
    expect({ status: late.status, code: late.body.code }).toEqual({
      status: 409,
      code: 'invalid_transition',
    });
  });
});

describe('durability: event retention keeps the counter', () => {
  let fx: ServerFixture;
  let api: Client;

  useServer((f) => (fx = f), { SWEEP_INTERVAL_MS: '200', EVENT_RETENTION_HOURS: '0.0005' });
  beforeAll(async () => {
    api = client(fx.server.url, await createKey(fx.admin, 'producer', ['dur-retain']));
  });

  it('after events age out: after=0 → reset with lastSeq; new events continue at lastSeq+1; after=lastSeq → no reset', async () => {
    const project = 'dur-retain';
    expectOk(
      await api.post(`/api/projects/${project}/workflows`, {
        id: 'old',
        type: 'retain',
        steps: [{ id: 's' }, { id: 't' }],
      }),
      201,
    );
    const p = await api.post('/api/workflows/old/steps/s/progress', { progress: 10 });
    expectOk(p);
    const lastSeq = p.body.lastSeq as number;
    expect(lastSeq).toBe(4); // created, started, step started, progress

    const reset = await pollUntil('the events to age out', async () => {
      const res = await api.get(`/api/projects/${project}/events?after=0`);
      expectOk(res);
      return res.body.reset ? res.body : undefined;
    });
    expect(reset).toEqual({ items: [], reset: true, lastSeq, snapshot: expect.any(Object) });

    // caught up: nothing to replay, and no reset
    const caughtUp = await api.get(`/api/projects/${project}/events?after=${lastSeq}`);
    expectOk(caughtUp);
    expect(caughtUp.body).toEqual({ items: [], lastSeq });

    // the counter survived the trim: the next event continues it
    const next = await api.post('/api/workflows/old/steps/s/progress', { progress: 20 });
    expectOk(next);
    expect(next.body.lastSeq).toBe(lastSeq + 1);
    const after = await api.get(`/api/projects/${project}/events?after=${lastSeq}`);
    expectOk(after);
    expect(after.body.reset).toBeUndefined();
    expect(after.body.lastSeq).toBe(lastSeq + 1);
    expect(
      after.body.items.map((e: Envelope) => ({ seq: e.seq, type: e.type, progress: e.data.progress })),
    ).toEqual([{ seq: lastSeq + 1, type: 'workflow:step:progress', progress: 20 }]);
    const fromStart = await api.get(`/api/projects/${project}/events?after=0`);
    expectOk(fromStart);
    expect(fromStart.body).toEqual({
      items: [],
      reset: true,
      lastSeq: lastSeq + 1,
      snapshot: expect.any(Object),
    });
    const tail = await api.get(`/api/projects/${project}/events?after=${lastSeq + 1}`);
    expectOk(tail);
    expect(tail.body).toEqual({ items: [], lastSeq: lastSeq + 1 });
    expect(await projectLastSeq(api, project)).toBe(lastSeq + 1);
  });
});
