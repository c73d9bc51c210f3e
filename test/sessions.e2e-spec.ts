import { ApiResponse, Client, createKey, expectStatus } from './support/http';
import { ServerFixture, useServer } from './support/fixture';

/**
 * Session analysis (CONTRACT §5) on top of queues (§6), against the real server on the database of the run:
 * one analysis at a time per session under 50 simultaneous submissions, session_busy for §2 workflows, the
 * session freed in the commit that ends its workflow, a restart that keeps lock, messages and lease, and an
 * external worker written with plain HTTP that answers a question end to end.
 */

const QUEUE = 'session-analysis';
const lease = (token: string) => ({ 'x-lease-token': token });

const submit = (api: Client, p: string, s: string, question: unknown = 'What happened here?') =>
  api.post(`/api/projects/${p}/sessions/${s}/analysis`, { question });

async function accepted(api: Client, p: string, s: string, question?: string) {
  const res = await submit(api, p, s, question);
  expectStatus(res, 202);
  return res.body as { messageId: string; workflowId: string; status: string };
}

async function analysisStatus(api: Client, p: string, s: string) {
  const res = await api.get(`/api/projects/${p}/sessions/${s}/analysis-status`);
  expectStatus(res, 200);
  return res.body;
}

async function messages(api: Client, p: string, s: string): Promise<any[]> {
  const res = await api.get(`/api/projects/${p}/sessions/${s}/messages`);
  expectStatus(res, 200);
  return res.body.items;
}

/** Claims the project's session analysis with a key scoped to that project (the queue is shared). */
async function claimAnalysis(worker: Client, leaseMs = 30_000) {
  const res = await worker.post(`/api/queues/${QUEUE}/claim`, {
    workerId: 'answerer',
    leaseMs,
    waitMs: 5000,
  });
  expectStatus(res, 200);
  return res.body as { workflow: any; leaseToken: string; leaseExpiresAt: string; attempt: number };
}

async function completeAll(api: Client, workflowId: string, token: string): Promise<ApiResponse> {
  let last!: ApiResponse;
  for (const step of ['context', 'analyze', 'generate']) {
    last = await api.post(
      `/api/workflows/${workflowId}/steps/${step}/complete`,
      { result: { step } },
      lease(token),
    );
    expectStatus(last, 200);
  }
  return last;
}

describe('session analysis (§5)', () => {
  let fx: ServerFixture;
  let api: Client;
  const workerFor = async (project: string) => api.withToken(await createKey(api, 'producer', [project]));

  useServer((f) => ({ admin: api } = fx = f));

  it('of 50 simultaneous submissions for one session exactly one is accepted; the rest 409 with the same activeMessageId', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => submit(api, 'race', 'sess-1', `question ${i}`)),
    );
    expect(answers.filter((r) => r.status >= 500)).toEqual([]);
    const ok = answers.filter((r) => r.status === 202);
    expect(ok).toHaveLength(1);
    const { messageId, workflowId, status } = ok[0].body;
    expect(status).toBe('pending');
    expect(typeof messageId).toBe('string');
    expect(typeof workflowId).toBe('string');
    const busy = answers.filter((r) => r.status !== 202);
    expect(busy).toHaveLength(49);
    for (const r of busy)
      expect(r.body).toMatchObject({
        statusCode: 409,
        error: 'Conflict',
        code: 'analysis_in_progress',
        activeMessageId: messageId,
      });

    // the rejected ones wrote nothing: one question, one analysis, one workflow
    const items = await messages(api, 'race', 'sess-1');
    expect(items.map((m) => m.type)).toEqual(['user', 'analysis']);
    expect(items[1]).toMatchObject({ id: messageId, workflowId, status: 'pending' });
    const evs = (await api.get('/api/projects/race/events?after=0&limit=1000')).body.items;
    expect(evs.map((e: any) => e.type)).toEqual(['workflow:created']);
    const wf = (await api.get(`/api/workflows/${workflowId}`)).body;
    expect(wf).toMatchObject({
      type: 'session-analysis',
      queue: QUEUE,
      sessionId: 'sess-1',
      status: 'queued',
      maxAttempts: 3,
    });
    expect(wf.steps.map((s: any) => s.id)).toEqual(['context', 'analyze', 'generate']);

    // a §2 workflow on the busy session → 409 session_busy naming the active workflow
    const busyCreate = await api.post('/api/projects/race/workflows', {
      type: 'other',
      steps: [{ id: 's' }],
      sessionId: 'sess-1',
    });
    expectStatus(busyCreate, 409, 'session_busy');
    expect(busyCreate.body.activeWorkflowId).toBe(workflowId);

    // the lock is per project and session: other sessions, and the same session elsewhere, are free
    await accepted(api, 'race', 'sess-2');
    await accepted(api, 'race-elsewhere', 'sess-1');
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(api, 'race', `many-${i}`)));
    expect(many.map((r) => r.status)).toEqual(Array(20).fill(202));

    // and a session held by a §2 workflow refuses an analysis too
    expectStatus(
      await api.post('/api/projects/race/workflows', {
        type: 'other',
        steps: [{ id: 's' }],
        sessionId: 'sess-3',
      }),
      201,
    );
    const held = await submit(api, 'race', 'sess-3');
    expectStatus(held, 409, 'analysis_in_progress');
    expect(held.body.activeMessageId).toBeNull();
  });

  it('an external worker answers a question over plain HTTP; status and messages follow every stage', async () => {
    const P = 'answers';
    const S = 'chat-42';
    const worker = await workerFor(P);
    const question = 'Why did the nightly build fail?';
    const sub = await accepted(api, P, S, question);
    expect(sub.status).toBe('pending');

    expect(await analysisStatus(api, P, S)).toEqual({
      isAnalyzing: true,
      messageId: sub.messageId,
      status: 'pending',
      progressLogs: [],
    });
    let items = await messages(api, P, S);
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ type: 'user', content: question, workflowId: sub.workflowId, logs: [] });
    expect(items[0].id).not.toBe(sub.messageId);
    expect(items[1]).toMatchObject({
      id: sub.messageId,
      type: 'analysis',
      status: 'pending',
      workflowId: sub.workflowId,
      logs: [],
      result: null,
    });
    for (const m of items) expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt);

    // the answering service claims it
    const c = await claimAnalysis(worker);
    expect(c.attempt).toBe(1);
    expect(c.workflow).toMatchObject({
      id: sub.workflowId,
      projectId: P,
      type: 'session-analysis',
      queue: QUEUE,
      sessionId: S,
      status: 'queued',
    });
    expect(c.workflow.steps.map((s: any) => s.id)).toEqual(['context', 'analyze', 'generate']);
    expect((await analysisStatus(api, P, S)).status).toBe('pending'); // claimed, not started
    const tok = lease(c.leaseToken);
    const W = `/api/workflows/${sub.workflowId}`;

    const results: Record<string, unknown> = {
      context: { files: 3, tokens: 1200 },
      analyze: { findings: ['flaky test', 'disk full'] },
      generate: { answer: 'The runner ran out of disk space.', confidence: 0.8 },
    };
    let logCount = 0;
    for (const [i, step] of ['context', 'analyze', 'generate'].entries()) {
      expectStatus(await worker.post(`${W}/steps/${step}/start`, { message: `${step}…` }, tok), 200);
      expectStatus(
        await worker.post(`${W}/logs`, { level: 'info', message: `${step} started`, stepId: step }, tok),
        201,
      );
      logCount++;
      expectStatus(await worker.post(`${W}/steps/${step}/progress`, { current: 1, total: 2 }, tok), 200);
      expectStatus(
        await worker.post(
          `${W}/logs`,
          { level: 'success', message: `${step} half way`, stepId: step, details: { i } },
          tok,
        ),
        201,
      );
      logCount++;

      const st = await analysisStatus(api, P, S);
      expect(st).toMatchObject({ isAnalyzing: true, messageId: sub.messageId, status: 'running' });
      expect(st.progressLogs).toHaveLength(logCount);
      expect(st.progressLogs[logCount - 1]).toMatchObject({
        workflowId: sub.workflowId,
        stepId: step,
        level: 'success',
        message: `${step} half way`,
        details: { i },
      });
      items = await messages(api, P, S);
      expect(items[1]).toMatchObject({ status: 'running', result: null });
      expect(items[1].logs).toEqual(st.progressLogs);

      const done = await worker.post(`${W}/steps/${step}/complete`, { result: results[step] }, tok);
      expectStatus(done, 200);
      if (step !== 'generate') {
        expect(done.body.status).toBe('running');
        // the analysis message carries the result of the LAST step: nothing yet
        expect((await messages(api, P, S))[1].result).toBeNull();
      } else expect(done.body.status).toBe('completed');
    }

    expect(await analysisStatus(api, P, S)).toMatchObject({
      isAnalyzing: false,
      messageId: null,
      progressLogs: [],
    });
    items = await messages(api, P, S);
    expect(items.map((m) => m.type)).toEqual(['user', 'analysis']);
    expect(items[1]).toMatchObject({ id: sub.messageId, status: 'completed', result: results.generate });
    expect(items[1].logs.map((l: any) => l.message)).toEqual([
      'context started',
      'context half way',
      'analyze started',
      'analyze half way',
      'generate started',
      'generate half way',
    ]);
    const ids = items[1].logs.map((l: any) => l.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    // the next question is accepted and appended after the first exchange
    const next = await accepted(api, P, S, 'And the one before?');
    items = await messages(api, P, S);
    expect(items.map((m) => [m.type, m.status])).toEqual([
      ['user', expect.any(String)],
      ['analysis', 'completed'],
      ['user', expect.any(String)],
      ['analysis', 'pending'],
    ]);
    expect(items[3].id).toBe(next.messageId);
    expect(items[2].content).toBe('And the one before?');
  });

  it('the session frees in the commit that ends its workflow: complete, fail or cancel', async () => {
    const P = 'frees';
    const worker = await workerFor(P);

    // complete: right after the answer to the last step, a new question is accepted
    const a = await accepted(api, P, 's-complete');
    const ca = await claimAnalysis(worker);
    expect(ca.workflow.id).toBe(a.workflowId);
    const last = await completeAll(worker, a.workflowId, ca.leaseToken);
    expect(last.body.status).toBe('completed');
    const a2 = await accepted(api, P, 's-complete');
    expect(a2.messageId).not.toBe(a.messageId);
    expect((await analysisStatus(api, P, 's-complete')).messageId).toBe(a2.messageId);
    expectStatus(await api.post(`/api/workflows/${a2.workflowId}/cancel`, {}), 200);

    // a retryable failure with attempts left keeps the session busy; a final failure frees it
    const b = await accepted(api, P, 's-fail');
    const cb = await claimAnalysis(worker);
    expect(cb.workflow.id).toBe(b.workflowId);
    const retry = await worker.post(
      `/api/workflows/${b.workflowId}/steps/context/fail`,
      { error: { message: 'model overloaded' }, retryable: true },
      lease(cb.leaseToken),
    );
    expectStatus(retry, 200);
    expect(retry.body).toMatchObject({ status: 'queued', attempt: 2 });
    const stillBusy = await submit(api, P, 's-fail');
    expectStatus(stillBusy, 409, 'analysis_in_progress');
    expect(stillBusy.body.activeMessageId).toBe(b.messageId);
    expect(await analysisStatus(api, P, 's-fail')).toMatchObject({ isAnalyzing: true, status: 'pending' });
    const cb2 = await claimAnalysis(worker);
    expect(cb2).toMatchObject({ attempt: 2, workflow: { id: b.workflowId } });
    const failed = await worker.post(
      `/api/workflows/${b.workflowId}/steps/analyze/fail`,
      { error: { message: 'cannot answer', code: 'E_MODEL' } },
      lease(cb2.leaseToken),
    );
    expectStatus(failed, 200);
    expect(failed.body.status).toBe('failed');
    const b2 = await accepted(api, P, 's-fail');
    const bMsgs = await messages(api, P, 's-fail');
    expect(bMsgs.map((m) => [m.type, m.status])).toEqual([
      ['user', expect.any(String)],
      ['analysis', 'failed'],
      ['user', expect.any(String)],
      ['analysis', 'pending'],
    ]);
    expect(bMsgs[1].result).toBeNull();

    // cancel needs no token: an unclaimed analysis is cancelled and the session is free at once
    expectStatus(await api.post(`/api/workflows/${b2.workflowId}/cancel`, {}), 200);
    const b3 = await accepted(api, P, 's-fail');
    expectStatus(await api.post(`/api/workflows/${b3.workflowId}/cancel`, {}), 200);

    // ... and so is a claimed, running one; the worker's next write gets invalid_transition
    const c = await accepted(api, P, 's-cancel');
    const cc = await claimAnalysis(worker);
    expect(cc.workflow.id).toBe(c.workflowId);
    expectStatus(
      await worker.post(`/api/workflows/${c.workflowId}/steps/context/start`, {}, lease(cc.leaseToken)),
      200,
    );
    const cancelled = await api.post(`/api/workflows/${c.workflowId}/cancel`, { reason: 'user left' });
    expectStatus(cancelled, 200);
    expect(cancelled.body.status).toBe('cancelled');
    const c2 = await accepted(api, P, 's-cancel');
    const cMsgs = await messages(api, P, 's-cancel');
    expect(cMsgs.map((m) => m.status).filter((_, i) => i % 2 === 1)).toEqual(['cancelled', 'pending']);
    expectStatus(
      await worker.post(
        `/api/workflows/${c.workflowId}/steps/context/progress`,
        { progress: 5 },
        lease(cc.leaseToken),
      ),
      409,
      'invalid_transition',
    );
    expectStatus(await api.post(`/api/workflows/${c2.workflowId}/cancel`, {}), 200);
  });

  it('validation: question 1..4000 chars, a valid sessionId, producer role', async () => {
    const P = 'valid';
    for (const q of ['', 'x'.repeat(4001), 42, null]) {
      const res = await submit(api, P, 'v-1', q);
      expectStatus(res, 400, 'validation_failed');
      expect(res.body.details.map((d: any) => d.field)).toContain('question');
    }
    expectStatus(await api.post(`/api/projects/${P}/sessions/v-1/analysis`, {}), 400, 'validation_failed');
    expectStatus(
      await api.post(`/api/projects/${P}/sessions/v-1/analysis`, { question: 'ok', extra: true }),
      400,
      'validation_failed',
    );
    // nothing was written by any of those
    expect(await messages(api, P, 'v-1')).toEqual([]);
    expect((await analysisStatus(api, P, 'v-1')).isAnalyzing).toBe(false);

    for (const bad of ['-leading-dash', 'has%20space', 'x'.repeat(65), 'a%2Fb']) {
      for (const res of [
        await submit(api, P, bad),
        await api.get(`/api/projects/${P}/sessions/${bad}/analysis-status`),
        await api.get(`/api/projects/${P}/sessions/${bad}/messages`),
      ]) {
        expectStatus(res, 400, 'validation_failed');
      }
    }
    expectStatus(await submit(api, 'bad%20project', 'v-1'), 400, 'validation_failed');

    // the bounds themselves are accepted: 1 char and 4000 chars
    await accepted(api, P, 'v-one', '?');
    const long = await accepted(api, P, 'v-long', 'y'.repeat(4000));
    expect((await messages(api, P, 'v-long'))[0].content).toHaveLength(4000);
    expect(long.status).toBe('pending');

    const viewer = api.withToken(await createKey(api, 'viewer', [P]));
    expectStatus(await submit(viewer, P, 'v-2'), 403, 'forbidden');
    expectStatus(await viewer.get(`/api/projects/${P}/sessions/v-long/analysis-status`), 200);
    expectStatus(await viewer.get(`/api/projects/${P}/sessions/v-long/messages`), 200);
    const stranger = api.withToken(await createKey(api, 'producer', ['not-valid']));
    expectStatus(await submit(stranger, P, 'v-2'), 403, 'forbidden');
    expectStatus(await stranger.get(`/api/projects/${P}/sessions/v-long/messages`), 403, 'forbidden');
    expectStatus(await submit(api.withToken(''), P, 'v-2'), 401, 'unauthorized');
  });

  it('a restart mid-analysis keeps the lock, the messages and the lease', async () => {
    const P = 'restart';
    const S = 'long-question';
    const worker = await workerFor(P);
    const sub = await accepted(api, P, S, 'Summarise the quarter');
    const c = await claimAnalysis(worker, 120_000);
    const tok = lease(c.leaseToken);
    const W = `/api/workflows/${sub.workflowId}`;
    expectStatus(await worker.post(`${W}/steps/context/start`, {}, tok), 200);
    expectStatus(
      await worker.post(`${W}/steps/context/progress`, { progress: 40, message: 'reading' }, tok),
      200,
    );
    expectStatus(
      await worker.post(`${W}/logs`, { level: 'info', message: 'before restart', stepId: 'context' }, tok),
      201,
    );
    const before = await analysisStatus(api, P, S);
    const msgsBefore = await messages(api, P, S);

    await fx.restart();
    api = fx.admin;

    // same lock, same status, same messages
    const busy = await submit(api, P, S);
    expectStatus(busy, 409, 'analysis_in_progress');
    expect(busy.body.activeMessageId).toBe(sub.messageId);
    expect(await analysisStatus(api, P, S)).toEqual(before);
    expect(before).toMatchObject({ isAnalyzing: true, messageId: sub.messageId, status: 'running' });
    expect(before.progressLogs.map((l: any) => l.message)).toEqual(['before restart']);
    expect(await messages(api, P, S)).toEqual(msgsBefore);
    const wf = (await api.get(W)).body;
    expect(wf).toMatchObject({ status: 'running', attempt: 1 });
    expect(wf.steps[0]).toMatchObject({ status: 'running', progress: 40, message: 'reading' });

    // the lease survived too: nobody else can claim the analysis
    expectStatus(await worker.post(`/api/queues/${QUEUE}/claim`, { workerId: 'intruder' }), 204);

    // the worker carries on with its token against the restarted service (same URL)
    expectStatus(await worker.post(`${W}/steps/context/progress`, { progress: 80 }, tok), 200);
    expectStatus(await worker.post(`${W}/logs`, { level: 'info', message: 'after restart' }, tok), 201);
    expectStatus(await worker.post(`${W}/heartbeat`, { leaseToken: c.leaseToken }), 200);
    const last = await completeAll(worker, sub.workflowId, c.leaseToken);
    expect(last.body).toMatchObject({ status: 'completed', attempt: 1 });
    const items = await messages(api, P, S);
    expect(items[1]).toMatchObject({ status: 'completed', result: { step: 'generate' } });
    expect(items[1].logs.map((l: any) => l.message)).toEqual(['before restart', 'after restart']);
    await accepted(api, P, S);
  }, 60_000);
});
