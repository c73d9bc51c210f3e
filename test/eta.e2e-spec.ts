import { Client } from './support/http';
import { ServerFixture, useServer } from './support/fixture';
import { waitFor } from './support/live-clients';

/**
 * CONTRACT §2 ETA: "history" from earlier completed runs of the same type in the project (median of the
 * last 20), "rate" from the run's own progress, "none" otherwise; after 5 completed runs of a type with
 * steady step durations, a new run's estimate at 50 % progress is within ±25 % of the real remaining time.
 */

const PROJECT = 'eta-history';
const TYPE = 'render-job';
/** Three steps of equal weight: at 50 % of the middle one the workflow is at 50 %. */
const STEPS = [
  { id: 'fetch', ms: 200 },
  { id: 'parse', ms: 300 },
  { id: 'render', ms: 300 },
];
const HALF_WAY_STEP = 'parse';

let fx: ServerFixture;
let admin: Client;
let runs = 0;

useServer((f) => ({ admin } = fx = f));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(path: string, body: unknown, status = 200): Promise<any> {
  const res = await admin.post(path, body);
  expect({ path, status: res.status }).toEqual({ path, status });
  return res.body;
}

async function create(id: string): Promise<any> {
  return post(
    `/api/projects/${PROJECT}/workflows`,
    { id, type: TYPE, steps: STEPS.map((s) => ({ id: s.id })) },
    201,
  );
}

interface Run {
  id: string;
  /** The workflow as answered by the progress write that took it to 50 %. */
  halfWay: any;
  completed: any;
}

/** One run driven over HTTP the way a worker would: each step started, worked on (reporting 50 %), completed. */
async function drive(): Promise<Run> {
  const id = `run-${++runs}`;
  await create(id);
  let halfWay: any;
  let completed: any;
  for (const step of STEPS) {
    await post(`/api/workflows/${id}/steps/${step.id}/start`, {});
    await sleep(step.ms / 2);
    const wf = await post(`/api/workflows/${id}/steps/${step.id}/progress`, { progress: 50 });
    if (step.id === HALF_WAY_STEP) halfWay = wf;
    await sleep(step.ms / 2);
    completed = await post(`/api/workflows/${id}/steps/${step.id}/complete`, {});
  }
  expect(halfWay.progress).toBe(50);
  expect(completed.status).toBe('completed');
  return { id, halfWay, completed };
}

/** Real remaining time at the 50 % write, on the server's clock: finishedAt − the write's time. */
const realRemainingMs = (run: Run) =>
  Date.parse(run.completed.finishedAt) - Date.parse(run.halfWay.updatedAt);

describe('ETA', () => {
  it('without history: "none" before any progress, then "rate"; "none" once terminal', async () => {
    const created = await create('first-queued');
    expect(created.eta).toEqual({
      remainingMs: null,
      finishAt: null,
      basis: 'none',
      remainingP90Ms: null,
      queueWaitMs: null,
    });

    const first = await drive();
    expect(first.halfWay.eta.basis).toBe('rate');
    expect(first.halfWay.eta.remainingMs).toBeGreaterThan(0);
    expect(Date.parse(first.halfWay.eta.finishAt)).toBe(
      Date.parse(first.halfWay.updatedAt) + first.halfWay.eta.remainingMs,
    );
    expect(first.completed.eta).toEqual({
      remainingMs: null,
      finishAt: null,
      basis: 'none',
      remainingP90Ms: null,
      queueWaitMs: null,
    });
  });

  it('after 5 completed runs, the estimate at 50 % is history-based and within ±25 % of the real remaining time', async () => {
    while (runs < 5) await drive();

    const probe = await drive();
    const estimate = probe.halfWay.eta.remainingMs as number;
    const real = realRemainingMs(probe);
    const error = Math.abs(estimate - real) / real;
    expect({ basis: probe.halfWay.eta.basis, estimate, real, withinBound: error <= 0.25 }).toEqual({
      basis: 'history',
      estimate,
      real,
      withinBound: true,
    });

    // the same estimate is in the event that change committed (§3: eta in every step event's data)
    const page = await admin.get(`/api/projects/${PROJECT}/events?after=0&limit=1000`);
    const halfWayEvent = page.body.items.find(
      (e: any) =>
        e.workflowId === probe.id &&
        e.type === 'workflow:step:progress' &&
        e.stepId === HALF_WAY_STEP &&
        e.seq === probe.halfWay.lastSeq,
    );
    expect(halfWayEvent.data.eta).toEqual(probe.halfWay.eta);
  });

  it('a new workflow of a known type is estimated from history before it starts, in its view and its events', async () => {
    const created = await create('queued-with-history');
    const total = STEPS.reduce((sum, s) => sum + s.ms, 0);
    // the sum of the step medians, which include request latency: never less than the steps' own work
    const plausible = (eta: any) => ({
      basis: eta.basis,
      plausible: eta.remainingMs >= total * 0.95 && eta.remainingMs < total * 1.5,
    });
    expect(plausible(created.eta)).toEqual({ basis: 'history', plausible: true });

    const page = await admin.get(`/api/projects/${PROJECT}/events?after=${created.lastSeq - 1}`);
    expect(page.body.items[0]).toMatchObject({ type: 'workflow:created', data: { eta: created.eta } });

    // (the last run's history may land in between, so the value may have moved a little)
    const read = await admin.get(`/api/workflows/queued-with-history`);
    expect(plausible(read.body.eta)).toEqual({ basis: 'history', plausible: true });
    const list = await admin.get(`/api/projects/${PROJECT}/workflows?status=queued&type=${TYPE}`);
    expect(list.body.items.map((w: any) => w.eta.basis)).toEqual(['history', 'history']);

    // another project's runs of the same type are its own business
    const other = await post(
      `/api/projects/eta-other/workflows`,
      { type: TYPE, steps: STEPS.map((s) => ({ id: s.id })) },
      201,
    );
    expect(other.eta.basis).toBe('none');
  });

  it('weights far apart (1e-6 and 1e9, both valid) give an ETA capped at 100 years, never a 500', async () => {
    const P = 'eta-weights';
    const steps = [{ id: 'a', weight: 1e-6 }];
    await post(`/api/projects/${P}/workflows`, { id: 'w-tiny', type: 'w', steps }, 201);
    await post('/api/workflows/w-tiny/steps/a/start', {});
    // a history with a duration above 0 (the time per unit of weight is then ~1e7 ms and more)
    await sleep(20);
    expect((await post('/api/workflows/w-tiny/steps/a/complete', {})).status).toBe('completed');
    const HUNDRED_YEARS = 100 * 365 * 24 * 3600 * 1000;
    await post(
      `/api/projects/${P}/workflows`,
      { id: 'w-huge', type: 'w', steps: [...steps, { id: 'b', weight: 1e9 }] },
      201,
    );
    // the run's history is recorded after its commit: a read estimates from it once it has landed
    const read = await waitFor(async () => {
      const res = await admin.get('/api/workflows/w-huge');
      expect(res.status).toBe(200);
      return res.body.eta.basis === 'history' ? res.body : undefined;
    }, 'an estimate from the history');
    expect(read.eta.remainingMs).toBe(HUNDRED_YEARS);
    expect(Date.parse(read.eta.finishAt)).toBeGreaterThan(Date.now());
    // made now, with that history: the create's answer carries the capped estimate too
    const again = await post(
      `/api/projects/${P}/workflows`,
      { id: 'w-huge-2', type: 'w', steps: [...steps, { id: 'b', weight: 1e9 }] },
      201,
    );
    expect(again.eta).toMatchObject({ basis: 'history', remainingMs: HUNDRED_YEARS });
    expect((await admin.get(`/api/projects/${P}/workflows`)).status).toBe(200);
    await post('/api/workflows/w-huge/steps/a/start', {});
  });

  it('the history survives a restart', async () => {
    await fx.restart();
    admin = fx.admin;
    const read = await admin.get(`/api/workflows/queued-with-history`);
    expect(read.status).toBe(200);
    expect(read.body.eta.basis).toBe('history');
    const created = await create('after-restart');
    expect(created.eta.basis).toBe('history');
  });
});
