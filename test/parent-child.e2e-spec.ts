import type { ServerFixture } from './support/fixture';
import { useServer } from './support/fixture';
import { createKey, expectStatus, type Client } from './support/http';
import { restEvents, type Envelope } from './support/live-clients';
import type { RunningServer } from './support/server';
import { usingMysql } from './support/test-db';
import { client } from './support/http';

/**
 * CONTRACT §14: a child workflow drives its parent step in the same commit as the child's own change.
 * "Same commit" is seen from outside as one run of consecutive seqs: the child's event, then its parent's
 * (and grandparent's) events, with no other event in between.
 */
describe('parent and child workflows (§14)', () => {
  let api: Client;
  useServer((f) => {
    api = f.admin;
  });

  let n = 0;
  const uid = (tag: string) => `${tag}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  async function create(projectId: string, body: Record<string, unknown>): Promise<any> {
    const res = await api.post(`/api/projects/${projectId}/workflows`, { type: 'split', ...body });
    expectStatus(res, 201);
    return res.body;
  }
  const child = (projectId: string, parentId: string, stepId: string, extra: Record<string, unknown> = {}) =>
    create(projectId, {
      id: uid('child'),
      steps: [{ id: 'work' }],
      parent: { workflowId: parentId, stepId },
      ...extra,
    });
  const write = async (path: string, body: unknown = {}) => {
    const res = await api.post(path, body);
    expectStatus(res, 200);
    return res.body;
  };
  const get = async (id: string) => (await api.get(`/api/workflows/${id}`)).body;
  /** The events of one commit: those with the seq of `first` and the ones right after it with its `at`. */
  const sameCommit = (events: Envelope[], first: Envelope) => {
    const i = events.indexOf(first);
    const out = [first];
    for (
      let j = i + 1;
      j < events.length && events[j].at === first.at && events[j].seq === out[out.length - 1].seq + 1;
      j++
    )
      out.push(events[j]);
    return out;
  };

  it('creates a child under a step: the child names its parent, the step lists its children in creation order', async () => {
    const p = uid('proj');
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 'split' }, { id: 'merge' }] });
    expect(parent.parent).toBeNull();
    const a = await child(p, parent.id, 'split');
    const b = await child(p, parent.id, 'split');
    expect(a.parent).toEqual({ workflowId: parent.id, stepId: 'split' });
    const after = await get(parent.id);
    expect(after.steps[0].children).toEqual([a.id, b.id]);
    expect(after.steps[1].children).toEqual([]);
  });

  it('refuses a bad parent with the contract codes, writing nothing', async () => {
    const p = uid('proj');
    const other = uid('proj');
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 's' }, { id: 't' }] });
    const elsewhere = await create(other, { id: uid('parent'), steps: [{ id: 's' }] });
    const before = (await restEvents(api, p)).length;
    const attempt = (body: Record<string, unknown>) =>
      api.post(`/api/projects/${p}/workflows`, {
        id: uid('bad'),
        type: 'split',
        steps: [{ id: 'w' }],
        ...body,
      });

    expectStatus(
      await attempt({ parent: { workflowId: 'no-such-workflow', stepId: 's' } }),
      404,
      'not_found',
    );
    expectStatus(
      await attempt({ parent: { workflowId: parent.id, stepId: 'no-such-step' } }),
      404,
      'not_found',
    );
    expectStatus(await attempt({ parent: { workflowId: elsewhere.id, stepId: 's' } }), 404, 'not_found');
    expectStatus(await attempt({ parent: { workflowId: parent.id } }), 400, 'validation_failed');
    expectStatus(
      await attempt({ parent: { workflowId: parent.id, stepId: 's', extra: 1 } }),
      400,
      'validation_failed',
    );
    await write(`/api/workflows/${parent.id}/steps/t/complete`);
    expectStatus(
      await attempt({ parent: { workflowId: parent.id, stepId: 't' } }),
      409,
      'invalid_transition',
    );
    await write(`/api/workflows/${parent.id}/cancel`);
    expectStatus(
      await attempt({ parent: { workflowId: parent.id, stepId: 's' } }),
      409,
      'invalid_transition',
    );

    const events = await restEvents(api, p);
    // only the complete and the cancel wrote: no workflow:created of a refused child
    expect(events.slice(before).map((e) => e.type)).toEqual([
      'workflow:started',
      'workflow:step:started',
      'workflow:step:completed',
      'workflow:cancelled',
    ]);
  });

  it('allows a root and 4 generations below it, and refuses a sixth level', async () => {
    const p = uid('proj');
    let id = (await create(p, { id: uid('l0'), steps: [{ id: 'work' }] })).id;
    for (let level = 1; level <= 4; level++) id = (await child(p, id, 'work')).id;
    const res = await api.post(`/api/projects/${p}/workflows`, {
      id: uid('l5'),
      type: 'split',
      steps: [{ id: 'work' }],
      parent: { workflowId: id, stepId: 'work' },
    });
    expectStatus(res, 409, 'invalid_transition');
  });

  it('rolls a child up into its parent step in the child commit: start, floor(mean) progress, completion', async () => {
    const p = uid('proj');
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 'split' }] });
    const a = await child(p, parent.id, 'split');
    const b = await child(p, parent.id, 'split');
    const base = (await restEvents(api, p)).length;

    await write(`/api/workflows/${a.id}/steps/work/start`);
    let wf = await get(parent.id);
    expect(wf.status).toBe('running');
    expect(wf.steps[0].status).toBe('running');

    await write(`/api/workflows/${a.id}/steps/work/progress`, { progress: 51 });
    expect((await get(parent.id)).steps[0].progress).toBe(25); // floor((51 + 0) / 2)
    await write(`/api/workflows/${b.id}/steps/work/progress`, { progress: 30 });
    expect((await get(parent.id)).steps[0].progress).toBe(40); // floor((51 + 30) / 2)

    // the parent step follows its children only
    expectStatus(
      await api.post(`/api/workflows/${parent.id}/steps/split/progress`, { progress: 90 }),
      409,
      'invalid_transition',
    );
    expectStatus(
      await api.post(`/api/workflows/${parent.id}/steps/split/complete`, {}),
      409,
      'invalid_transition',
    );

    await write(`/api/workflows/${a.id}/steps/work/complete`);
    wf = await get(parent.id);
    expect(wf.steps[0].status).toBe('running');
    expect(wf.steps[0].progress).toBe(65); // floor((100 + 30) / 2)
    await write(`/api/workflows/${b.id}/steps/work/complete`);
    wf = await get(parent.id);
    expect(wf.steps[0].status).toBe('completed');
    expect(wf.status).toBe('completed');

    const events = (await restEvents(api, p)).slice(base);
    // the child's start and the parent's start are one commit
    const aStarted = events.find((e) => e.workflowId === a.id && e.type === 'workflow:started')!;
    expect(sameCommit(events, aStarted).map((e) => [e.workflowId, e.type])).toEqual([
      [a.id, 'workflow:started'],
      [a.id, 'workflow:step:started'],
      [parent.id, 'workflow:started'],
      [parent.id, 'workflow:step:started'],
    ]);
    // the last child's completion completes the parent step and the parent in the same commit
    const bCompleted = events.find((e) => e.workflowId === b.id && e.type === 'workflow:step:completed')!;
    expect(sameCommit(events, bCompleted).map((e) => [e.workflowId, e.type])).toEqual([
      [b.id, 'workflow:step:completed'],
      [b.id, 'workflow:completed'],
      [parent.id, 'workflow:step:completed'],
      [parent.id, 'workflow:completed'],
    ]);
  });

  it('carries a grandchild change to the grandparent in the same commit, through the middle', async () => {
    const p = uid('proj');
    const root = await create(p, { id: uid('root'), steps: [{ id: 'work' }] });
    const mid = await child(p, root.id, 'work');
    const leaf = await child(p, mid.id, 'work');
    const base = (await restEvents(api, p)).length;
    await write(`/api/workflows/${leaf.id}/steps/work/progress`, { progress: 40 });
    const events = (await restEvents(api, p)).slice(base);
    expect(sameCommit(events, events[0]).map((e) => [e.workflowId, e.type, e.data.progress])).toEqual([
      [leaf.id, 'workflow:started', 0],
      [leaf.id, 'workflow:step:started', 0],
      [leaf.id, 'workflow:step:progress', 40],
      [mid.id, 'workflow:started', 0],
      [mid.id, 'workflow:step:started', 0],
      [mid.id, 'workflow:step:progress', 40],
      [root.id, 'workflow:started', 0],
      [root.id, 'workflow:step:started', 0],
      [root.id, 'workflow:step:progress', 40],
    ]);
    expect((await get(root.id)).progress).toBe(40);
  });

  it('cancels the non-terminal descendants of a cancelled parent in the same commit', async () => {
    const p = uid('proj');
    const root = await create(p, { id: uid('root'), steps: [{ id: 'work' }] });
    const a = await child(p, root.id, 'work');
    const done = await child(p, root.id, 'work');
    const grandchild = await child(p, a.id, 'work');
    await write(`/api/workflows/${done.id}/steps/work/complete`);
    const base = (await restEvents(api, p)).length;
    const answer = await write(`/api/workflows/${root.id}/cancel`, { reason: 'enough' });
    expect(answer.status).toBe('cancelled');
    expect((await get(a.id)).status).toBe('cancelled');
    expect((await get(grandchild.id)).status).toBe('cancelled');
    expect((await get(done.id)).status).toBe('completed');
    const events = (await restEvents(api, p)).slice(base);
    expect(sameCommit(events, events[0]).length).toBe(events.length);
    expect(
      events
        .filter((e) => e.type === 'workflow:cancelled')
        .map((e) => e.workflowId)
        .sort(),
    ).toEqual([root.id, a.id, grandchild.id].sort());
  });

  it('fails the parent step with child_failed and the child id when a child fails for good', async () => {
    const p = uid('proj');
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 'split' }, { id: 'after' }] });
    const a = await child(p, parent.id, 'split');
    await child(p, parent.id, 'split');
    await write(`/api/workflows/${a.id}/steps/work/fail`, { error: { message: 'disk full', code: 'io' } });
    const wf = await get(parent.id);
    expect(wf.status).toBe('failed');
    expect(wf.steps[0].status).toBe('failed');
    expect(wf.steps[0].error).toMatchObject({ code: 'child_failed', childId: a.id });
    expect(wf.error).toMatchObject({ code: 'child_failed', childId: a.id });
  });

  it('does not fail the parent for a requeued child: the child is queued again and the step keeps running', async () => {
    const p = uid('proj');
    const queue = uid('q');
    const producer = api.withToken(await createKey(api, 'producer', [p]));
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 'split' }] });
    const a = await child(p, parent.id, 'split', { queue, maxAttempts: 3 });
    const b = await child(p, parent.id, 'split');
    await write(`/api/workflows/${b.id}/steps/work/progress`, { progress: 50 });
    const claim = await producer.post(`/api/queues/${queue}/claim`, { workerId: 'w1' });
    expectStatus(claim, 200);
    const lease = { 'x-lease-token': claim.body.leaseToken };
    expectStatus(
      await producer.post(`/api/workflows/${a.id}/steps/work/progress`, { progress: 80 }, lease),
      200,
    );
    expect((await get(parent.id)).steps[0].progress).toBe(65);
    const failed = await producer.post(
      `/api/workflows/${a.id}/steps/work/fail`,
      { error: { message: 'flaky' }, retryable: true },
      lease,
    );
    expectStatus(failed, 200);
    expect(failed.body.status).toBe('queued');
    expect(failed.body.attempt).toBe(2);
    const wf = await get(parent.id);
    expect(wf.status).toBe('running');
    expect(wf.steps[0].status).toBe('running');
    expect(wf.steps[0].progress).toBe(25); // the requeued child starts over at 0
  });

  it('keeps the parent progress at floor(mean) at every seq while 20 children are written concurrently', async () => {
    const p = uid('proj');
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 'split' }] });
    const kids: string[] = [];
    for (let i = 0; i < 20; i++) kids.push((await child(p, parent.id, 'split')).id);
    await Promise.all(
      kids.map(async (id, i) => {
        for (let v = 1; v <= 10; v++)
          await write(`/api/workflows/${id}/steps/work/progress`, {
            progress: Math.min(100, v * 10 - (i % 3)),
          });
        await write(`/api/workflows/${id}/steps/work/complete`);
      }),
    );
    const events = await restEvents(api, p);
    const progress = new Map(kids.map((k) => [k, 0]));
    let checked = 0;
    for (const e of events) {
      if (progress.has(e.workflowId!) && typeof e.data.workflowProgress === 'number')
        progress.set(e.workflowId!, e.data.workflowProgress as number);
      if (e.workflowId === parent.id && e.stepId === 'split' && typeof e.data.progress === 'number') {
        const sum = [...progress.values()].reduce((s, v) => s + v, 0);
        expect(e.data.progress).toBe(Math.floor(sum / kids.length));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    const wf = await get(parent.id);
    expect(wf.status).toBe('completed');
  });

  it('counts the children in the parent ETA: at least as long as its slowest active child', async () => {
    const p = uid('proj');
    const parent = await create(p, { id: uid('parent'), steps: [{ id: 'split' }] });
    const fast = await child(p, parent.id, 'split');
    const slow = await child(p, parent.id, 'split');
    await write(`/api/workflows/${fast.id}/steps/work/progress`, { progress: 96 });
    await write(`/api/workflows/${slow.id}/steps/work/progress`, { progress: 4 });
    // pacing, not a quiet window: the slow child needs elapsed time for a rate of its own
    await new Promise((r) => setTimeout(r, 300));
    const slowWf = await write(`/api/workflows/${slow.id}/steps/work/progress`, { progress: 5 });
    const wf = await get(parent.id);
    // the parent's own rate (50 % done in about the same time) says about as long again as it has run; the
    // slow child (5 %) says about 19 times that: the parent shows the child's
    expect(slowWf.eta.basis).toBe('rate');
    expect(wf.progress).toBe(50);
    expect(wf.eta.remainingMs).toBeGreaterThanOrEqual(slowWf.eta.remainingMs);
    expect(Date.parse(wf.eta.finishAt)).toBeGreaterThanOrEqual(Date.parse(slowWf.eta.finishAt));
  });
});

const mysqlOnly = usingMysql() ? describe : describe.skip;

mysqlOnly('parent and child across two instances (REDIS_URL)', () => {
  let fx: ServerFixture;
  let second: RunningServer;
  useServer(
    (f) => {
      fx = f;
    },
    { REDIS_URL: 'redis://127.0.0.1:6379' },
  );
  beforeAll(async () => {
    second = await fx.start(); // the fixture's env: the same REDIS_URL, the same database
  });

  it('rolls up children written through both instances into one parent, each commit whole', async () => {
    const a = fx.admin;
    const b = client(second.url);
    const p = `xi-${Math.random().toString(36).slice(2, 8)}`;
    const parent = (await a.post(`/api/projects/${p}/workflows`, { type: 'split', steps: [{ id: 'split' }] }))
      .body;
    const kids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const api = i % 2 ? b : a;
      const res = await api.post(`/api/projects/${p}/workflows`, {
        type: 'split',
        steps: [{ id: 'work' }],
        parent: { workflowId: parent.id, stepId: 'split' },
      });
      expectStatus(res, 201);
      kids.push(res.body.id);
    }
    await Promise.all(
      kids.map(async (id, i) => {
        const api = i % 2 ? b : a;
        for (const v of [20, 60])
          expectStatus(await api.post(`/api/workflows/${id}/steps/work/progress`, { progress: v }), 200);
        expectStatus(await api.post(`/api/workflows/${id}/steps/work/complete`, {}), 200);
      }),
    );
    const wf = (await b.get(`/api/workflows/${parent.id}`)).body;
    expect(wf.status).toBe('completed');
    const events = await restEvents(a, p);
    const progress = new Map(kids.map((k) => [k, 0]));
    for (const e of events) {
      if (progress.has(e.workflowId!) && typeof e.data.workflowProgress === 'number')
        progress.set(e.workflowId!, e.data.workflowProgress as number);
      if (e.workflowId === parent.id && e.type === 'workflow:step:progress') {
        const sum = [...progress.values()].reduce((s, v) => s + v, 0);
        expect(e.data.progress).toBe(Math.floor(sum / kids.length));
      }
    }
  });
});
