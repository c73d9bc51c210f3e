import { Client } from './support/http';
import { useServer } from './support/fixture';

/** CONTRACT §3 (the per-project event log over REST), and §2's batch progress and logs. */

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Any ETA (its values depend on the clock; expectEta checks its shape). */
const ETA = expect.objectContaining({ basis: expect.stringMatching(/^(none|rate|history)$/) });

let admin: Client;
let counter = 0;
const project = (name: string) => `ebl-${name}-${++counter}`;

useServer((fx) => (admin = fx.admin));

function expectError(res: { status: number; body: any }, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.body).toMatchObject({
    statusCode: status,
    code,
    error: expect.any(String),
    message: expect.any(String),
  });
}

async function events(
  projectId: string,
  query = '',
): Promise<{ items: any[]; lastSeq: number; reset?: boolean }> {
  const res = await admin.get(`/api/projects/${projectId}/events${query}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function create(projectId: string, body: Record<string, unknown>): Promise<any> {
  const res = await admin.post(`/api/projects/${projectId}/workflows`, body);
  expect(res.status).toBe(201);
  return res.body;
}

async function post(path: string, body: unknown, status = 200): Promise<any> {
  const res = await admin.post(path, body);
  expect({ path, status: res.status }).toEqual({ path, status });
  return res.body;
}

async function getWorkflow(id: string): Promise<any> {
  const res = await admin.get(`/api/workflows/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** eta is null-or-value: check its shape without depending on the clock. */
function expectEta(eta: any): void {
  expect(Object.keys(eta).sort()).toEqual([
    'basis',
    'finishAt',
    'queueWaitMs',
    'remainingMs',
    'remainingP90Ms',
  ]);
  expect(['none', 'rate', 'history']).toContain(eta.basis);
  expect(eta.remainingMs === null || typeof eta.remainingMs === 'number').toBe(true);
  expect(eta.finishAt === null || ISO.test(eta.finishAt)).toBe(true);
}

describe('GET /api/projects/:projectId/events', () => {
  it('records every transition in order, with contiguous seqs from 1, the envelope and the documented data', async () => {
    const p = project('lifecycle');
    const wf = await create(p, {
      id: 'life',
      type: 'doc',
      steps: [{ id: 'a', weight: 2 }, { id: 'b' }, { id: 'c' }],
    });
    await post('/api/workflows/life/steps/a/start', { message: 'go' });
    await post('/api/workflows/life/steps/a/progress', { progress: 50, message: 'half' });
    await post('/api/workflows/life/steps/a/complete', { result: { pages: 3 }, message: 'done' });
    await post('/api/workflows/life/steps/b/progress', { current: 1, total: 4 }); // implicit start
    const log = await post(
      '/api/workflows/life/logs',
      { level: 'warning', message: 'slow disk', stepId: 'b' },
      201,
    );
    await post('/api/workflows/life/steps/c/skip', { message: 'not needed' });
    const failed = await post('/api/workflows/life/steps/b/fail', {
      error: { message: 'boom', code: 'E_BOOM' },
    });

    const page = await events(p);
    const types = page.items.map((e) => [e.seq, e.type, e.stepId]);
    expect(types).toEqual([
      [1, 'workflow:created', null],
      [2, 'workflow:started', null],
      [3, 'workflow:step:started', 'a'],
      [4, 'workflow:step:progress', 'a'],
      [5, 'workflow:step:completed', 'a'],
      [6, 'workflow:step:started', 'b'],
      [7, 'workflow:step:progress', 'b'],
      [8, 'workflow:log', 'b'],
      [9, 'workflow:step:skipped', 'c'],
      [10, 'workflow:step:failed', 'b'],
      [11, 'workflow:failed', null],
    ]);
    expect(page.lastSeq).toBe(11);
    expect(failed.lastSeq).toBe(11);

    for (const e of page.items) {
      expect(Object.keys(e).sort()).toEqual([
        'at',
        'attempt',
        'data',
        'projectId',
        'seq',
        'stepId',
        'type',
        'workflowId',
      ]);
      expect(e).toMatchObject({
        projectId: p,
        workflowId: wf.id,
        attempt: 1,
        at: expect.stringMatching(ISO),
      });
      if (e.type !== 'workflow:log') expectEta(e.data.eta);
    }
    const [
      created,
      started,
      aStarted,
      aProgress,
      aCompleted,
      bStarted,
      bProgress,
      logged,
      cSkipped,
      bFailed,
      wfFailed,
    ] = page.items.map((e) => e.data);
    expect(created).toMatchObject({ status: 'queued', progress: 0, eta: ETA });
    expect(started).toMatchObject({ status: 'running', progress: 0, eta: ETA });
    expect(aStarted).toEqual({
      status: 'running',
      progress: 0,
      current: null,
      total: null,
      message: 'go',
      workflowProgress: 0,
      eta: ETA,
    });
    expect(aProgress).toEqual({
      status: 'running',
      progress: 50,
      current: null,
      total: null,
      message: 'half',
      workflowProgress: 25,
      eta: ETA,
    });
    expect(aCompleted).toEqual({
      status: 'completed',
      progress: 100,
      current: null,
      total: null,
      message: 'done',
      workflowProgress: 50,
      eta: ETA,
      result: { pages: 3 },
    });
    expect(bStarted).toMatchObject({ status: 'running', progress: 0, workflowProgress: 50 });
    expect(bProgress).toEqual({
      status: 'running',
      progress: 25,
      current: 1,
      total: 4,
      message: null,
      workflowProgress: 56,
      eta: ETA,
    });
    expect(logged).toEqual(log);
    expect(cSkipped).toEqual({
      status: 'skipped',
      progress: 0,
      current: null,
      total: null,
      message: 'not needed',
      workflowProgress: 81,
      eta: ETA,
    });
    expect(bFailed).toEqual({
      status: 'failed',
      progress: 25,
      current: 1,
      total: 4,
      message: null,
      workflowProgress: expect.any(Number),
      eta: ETA,
      error: { message: 'boom', code: 'E_BOOM' },
    });
    expect(wfFailed).toMatchObject({
      status: 'failed',
      progress: expect.any(Number),
      eta: ETA,
      error: { message: 'boom', code: 'E_BOOM' },
    });
    expect(wfFailed.progress).toBe(failed.progress);
  });

  it('emits workflow:completed after the last step, and workflow:cancelled on cancel', async () => {
    const p = project('ends');
    const a = await create(p, { type: 't', steps: [{ id: 's' }, { id: 'u' }] });
    await post(`/api/workflows/${a.id}/steps/s/complete`, {});
    const done = await post(`/api/workflows/${a.id}/steps/u/complete`, {});
    const b = await create(p, { type: 't', steps: [{ id: 's' }] });
    await post(`/api/workflows/${b.id}/steps/s/progress`, { progress: 10 });
    const cancelled = await post(`/api/workflows/${b.id}/cancel`, { reason: 'user' });

    const page = await events(p);
    const rows = page.items.map((e) => [e.seq, e.type, e.workflowId]);
    expect(rows).toEqual([
      [1, 'workflow:created', a.id],
      [2, 'workflow:started', a.id],
      // completing a pending step starts it first, so a watcher sees started → completed
      [3, 'workflow:step:started', a.id],
      [4, 'workflow:step:completed', a.id],
      [5, 'workflow:step:started', a.id],
      [6, 'workflow:step:completed', a.id],
      [7, 'workflow:completed', a.id],
      [8, 'workflow:created', b.id],
      [9, 'workflow:started', b.id],
      [10, 'workflow:step:started', b.id],
      [11, 'workflow:step:progress', b.id],
      [12, 'workflow:cancelled', b.id],
    ]);
    expect(page.items[5].data).toMatchObject({ status: 'completed', progress: 100, workflowProgress: 100 });
    expect(page.items[6].data).toMatchObject({ status: 'completed', progress: 100, eta: ETA });
    expect(page.items[11].data).toMatchObject({
      status: 'cancelled',
      progress: cancelled.progress,
      eta: ETA,
    });
    expect(done.lastSeq).toBe(7);
    expect(cancelled.lastSeq).toBe(12);
    expect((await getWorkflow(a.id)).lastSeq).toBe(7);
  });

  it('workflow:started comes before the step event when a progress, complete or start begins a queued workflow', async () => {
    const p = project('started-first');
    for (const [action, body] of [
      ['start', {}],
      ['progress', { progress: 5 }],
      ['complete', {}],
    ] as const) {
      const wf = await create(p, { type: 't', steps: [{ id: 's' }, { id: 'u' }] });
      const before = (await events(p)).lastSeq;
      await post(`/api/workflows/${wf.id}/steps/s/${action}`, body);
      const types = (await events(p, `?after=${before}`)).items.map((e) => e.type);
      expect(types[0]).toBe('workflow:started');
      expect(types.slice(1)).toEqual(
        {
          start: ['workflow:step:started'],
          progress: ['workflow:step:started', 'workflow:step:progress'],
          complete: expect.arrayContaining(['workflow:step:completed']),
        }[action],
      );
    }
  });

  it('pages with after and limit; after = lastSeq gives nothing; a project never written has lastSeq 0', async () => {
    const p = project('paging');
    const wf = await create(p, { type: 't', steps: [{ id: 's' }] });
    for (const v of [10, 20, 30, 40, 50, 60])
      await post(`/api/workflows/${wf.id}/steps/s/progress`, { progress: v });
    // 1 created + started + step started + 6 progress = 9
    const all = await events(p);
    expect(all.lastSeq).toBe(9);
    expect(all.items.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const mid = await events(p, '?after=3&limit=2');
    expect(mid.items.map((e) => e.seq)).toEqual([4, 5]);
    expect(mid.lastSeq).toBe(9);
    expect(mid.items).toEqual(all.items.slice(3, 5));

    const walked: any[] = [];
    let after = 0;
    for (let i = 0; i < 20 && after < all.lastSeq; i++) {
      const page = await events(p, `?after=${after}&limit=4`);
      expect(page.items.length).toBeGreaterThan(0);
      expect(page.items.length).toBeLessThanOrEqual(4);
      walked.push(...page.items);
      after = page.items[page.items.length - 1].seq;
    }
    expect(walked).toEqual(all.items);

    expect(await events(p, '?after=9')).toEqual({ items: [], lastSeq: 9 });
    expect(await events(p, '?after=100')).toMatchObject({ items: [], lastSeq: 9 });
    expect(await events(project('never'))).toEqual({ items: [], lastSeq: 0 });

    for (const q of ['?after=-1', '?after=abc', '?limit=0', '?limit=1001']) {
      expectError(await admin.get(`/api/projects/${p}/events${q}`), 400, 'validation_failed');
    }
  });

  it('seqs are per project: two projects each count from 1', async () => {
    const p1 = project('seq-a');
    const p2 = project('seq-b');
    const a = await create(p1, { type: 't', steps: [{ id: 's' }] });
    const b = await create(p2, { type: 't', steps: [{ id: 's' }] });
    await post(`/api/workflows/${a.id}/steps/s/start`, {});
    await post(`/api/workflows/${b.id}/steps/s/complete`, {});
    await post(`/api/workflows/${a.id}/steps/s/progress`, { progress: 1 });
    expect((await events(p1)).items.map((e) => [e.seq, e.workflowId])).toEqual([
      [1, a.id],
      [2, a.id],
      [3, a.id],
      [4, a.id],
    ]);
    expect((await events(p2)).items.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]); // created, started, step started, step completed, completed
  });
});

describe('logs', () => {
  it('POST /api/workflows/:id/logs → 201 Log; the log is a workflow:log event; GET lists them in order with after/limit', async () => {
    const p = project('logs');
    const wf = await create(p, { type: 't', steps: [{ id: 'parse' }, { id: 'render' }] });
    const first = await post(`/api/workflows/${wf.id}/logs`, { level: 'info', message: 'starting' }, 201);
    expect(first).toEqual({
      id: expect.any(Number),
      workflowId: wf.id,
      stepId: null,
      level: 'info',
      message: 'starting',
      details: null,
      at: expect.stringMatching(ISO),
    });

    const levels = ['debug', 'success', 'warning', 'error'] as const;
    const more: any[] = [];
    for (const [i, level] of levels.entries()) {
      more.push(
        await post(
          `/api/workflows/${wf.id}/logs`,
          {
            level,
            message: `line ${i}`,
            stepId: 'parse',
            details: { i, list: [1, 'two'], nested: { ok: true } },
          },
          201,
        ),
      );
    }
    expect(more[0]).toMatchObject({
      stepId: 'parse',
      level: 'debug',
      details: { i: 0, list: [1, 'two'], nested: { ok: true } },
    });
    const logs = [first, ...more];
    for (let i = 1; i < logs.length; i++) expect(logs[i].id).toBeGreaterThan(logs[i - 1].id);

    // each log is a workflow:log event whose data is the Log
    const page = await events(p);
    const logEvents = page.items.filter((e) => e.type === 'workflow:log');
    expect(logEvents.map((e) => e.data)).toEqual(logs);
    expect(logEvents.map((e) => e.stepId)).toEqual([null, 'parse', 'parse', 'parse', 'parse']);
    expect(logEvents.map((e) => e.workflowId)).toEqual(logs.map(() => wf.id));

    const list = await admin.get(`/api/workflows/${wf.id}/logs`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: logs });
    expect((await admin.get(`/api/workflows/${wf.id}/logs?after=${logs[1].id}`)).body.items).toEqual(
      logs.slice(2),
    );
    expect((await admin.get(`/api/workflows/${wf.id}/logs?after=${logs[0].id}&limit=2`)).body.items).toEqual(
      logs.slice(1, 3),
    );
    expect((await admin.get(`/api/workflows/${wf.id}/logs?limit=1`)).body.items).toEqual(logs.slice(0, 1));
    expect((await admin.get(`/api/workflows/${wf.id}/logs?after=${logs[4].id}`)).body.items).toEqual([]);

    // another workflow's logs are its own
    const other = await create(p, { type: 't', steps: [{ id: 's' }] });
    expect((await admin.get(`/api/workflows/${other.id}/logs`)).body).toEqual({ items: [] });
  });

  it('validates logs and refuses them for unknown steps, unknown workflows and terminal workflows', async () => {
    const p = project('logs-invalid');
    const wf = await create(p, { type: 't', steps: [{ id: 's' }] });
    for (const body of [
      { message: 'no level' },
      { level: 'fatal', message: 'x' },
      { level: 'info' },
      { level: 'info', message: '' },
      { level: 'info', message: 'x', stepId: 'not an id' },
      { level: 'info', message: 'x', details: { blob: 'd'.repeat(17 * 1024) } },
      { level: 'info', message: 'x', extra: 1 },
    ]) {
      expectError(await admin.post(`/api/workflows/${wf.id}/logs`, body), 400, 'validation_failed');
    }
    expectError(
      await admin.post(`/api/workflows/${wf.id}/logs`, { level: 'info', message: 'x', stepId: 'nope' }),
      404,
      'not_found',
    );
    expectError(
      await admin.post('/api/workflows/no-such/logs', { level: 'info', message: 'x' }),
      404,
      'not_found',
    );
    expectError(await admin.get('/api/workflows/no-such/logs'), 404, 'not_found');
    for (const q of ['?after=-1', '?limit=0', '?limit=abc']) {
      expectError(await admin.get(`/api/workflows/${wf.id}/logs${q}`), 400, 'validation_failed');
    }
    await post(`/api/workflows/${wf.id}/steps/s/complete`, {});
    const seq = (await events(p)).lastSeq;
    expectError(
      await admin.post(`/api/workflows/${wf.id}/logs`, { level: 'info', message: 'too late' }),
      409,
      'invalid_transition',
    );
    expect((await events(p)).lastSeq).toBe(seq);
    expect((await admin.get(`/api/workflows/${wf.id}/logs`)).body.items).toEqual([]);
  });
});

describe('POST /api/progress (batch)', () => {
  it('answers per update, in order: ok, not_found, progress_regression, invalid_transition', async () => {
    const p = project('batch');
    const a = await create(p, { type: 't', steps: [{ id: 's' }, { id: 'u' }] });
    const b = await create(p, { type: 't', steps: [{ id: 's' }, { id: 'u' }] });
    await post(`/api/workflows/${b.id}/steps/s/progress`, { progress: 60 });
    await post(`/api/workflows/${b.id}/steps/u/complete`, {});
    const seq = (await events(p)).lastSeq;

    const res = await admin.post('/api/progress', {
      updates: [
        { workflowId: a.id, stepId: 's', progress: 10, message: 'ten' },
        { workflowId: 'no-such-workflow', stepId: 's', progress: 10 },
        { workflowId: b.id, stepId: 's', progress: 40 },
        { workflowId: b.id, stepId: 'u', progress: 50 },
        { workflowId: a.id, stepId: 'nope', progress: 10 },
        { workflowId: a.id, stepId: 'u', current: 3, total: 8 },
        { workflowId: b.id, stepId: 's', progress: 70 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      results: [
        { ok: true },
        { ok: false, code: 'not_found', message: expect.any(String) },
        { ok: false, code: 'progress_regression', message: expect.any(String) },
        { ok: false, code: 'invalid_transition', message: expect.any(String) },
        { ok: false, code: 'not_found', message: expect.any(String) },
        { ok: true },
        { ok: true },
      ],
    });

    const wa = await getWorkflow(a.id);
    expect(wa.status).toBe('running');
    expect(wa.steps.map((s: any) => [s.status, s.progress, s.current, s.total, s.message])).toEqual([
      ['running', 10, null, null, 'ten'],
      ['running', 37, 3, 8, null],
    ]);
    const wb = await getWorkflow(b.id);
    expect(wb.steps.map((s: any) => [s.status, s.progress])).toEqual([
      ['running', 70],
      ['completed', 100],
    ]);

    // only the accepted updates are in the log
    const added = (await events(p, `?after=${seq}`)).items.map((e) => [e.type, e.workflowId, e.stepId]);
    expect(added).toEqual([
      ['workflow:started', a.id, null],
      ['workflow:step:started', a.id, 's'],
      ['workflow:step:progress', a.id, 's'],
      ['workflow:step:started', a.id, 'u'],
      ['workflow:step:progress', a.id, 'u'],
      ['workflow:step:progress', b.id, 's'],
    ]);
  });

  it('applies updates in order: later ones see earlier ones; the same value again is ok without an event', async () => {
    const p = project('batch-order');
    const wf = await create(p, { type: 't', steps: [{ id: 's' }] });
    const res = await admin.post('/api/progress', {
      updates: [10, 20, 15, 20, 30].map((progress) => ({ workflowId: wf.id, stepId: 's', progress })),
    });
    expect(res.body.results.map((r: any) => (r.ok ? 'ok' : r.code))).toEqual([
      'ok',
      'ok',
      'progress_regression',
      'ok',
      'ok',
    ]);
    const page = await events(p);
    expect(page.items.filter((e) => e.type === 'workflow:step:progress').map((e) => e.data.progress)).toEqual(
      [10, 20, 30],
    );
    expect(page.items.map((e) => e.seq)).toEqual(page.items.map((_, i) => i + 1));
    expect((await getWorkflow(wf.id)).steps[0].progress).toBe(30);
  });

  it('spans workflows of several projects', async () => {
    const p1 = project('batch-p1');
    const p2 = project('batch-p2');
    const a = await create(p1, { type: 't', steps: [{ id: 's' }] });
    const b = await create(p2, { type: 't', steps: [{ id: 's' }] });
    const res = await admin.post('/api/progress', {
      updates: [
        { workflowId: a.id, stepId: 's', progress: 5 },
        { workflowId: b.id, stepId: 's', progress: 6 },
        { workflowId: a.id, stepId: 's', progress: 7 },
      ],
    });
    expect(res.body.results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(
      (await events(p1)).items.filter((e) => e.type === 'workflow:step:progress').map((e) => e.data.progress),
    ).toEqual([5, 7]);
    expect(
      (await events(p2)).items.filter((e) => e.type === 'workflow:step:progress').map((e) => e.data.progress),
    ).toEqual([6]);
  });

  it('takes 1 to 1000 updates, each an object: 0, 1001 or a non-object → 400 validation_failed and nothing applied', async () => {
    const p = project('batch-bounds');
    const wf = await create(p, { type: 't', steps: [{ id: 's' }] });
    const update = (progress: number) => ({ workflowId: wf.id, stepId: 's', progress });

    expectError(await admin.post('/api/progress', { updates: [] }), 400, 'validation_failed');
    expectError(await admin.post('/api/progress', {}), 400, 'validation_failed');
    expectError(await admin.post('/api/progress', { updates: 'all' }), 400, 'validation_failed');
    expectError(
      await admin.post('/api/progress', { updates: Array.from({ length: 1001 }, () => update(5)) }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.post('/api/progress', { updates: [update(5)], extra: true }),
      400,
      'validation_failed',
    );
    for (const bad of [
      { stepId: 's', progress: 5 },
      { workflowId: wf.id, progress: 5 },
      { workflowId: wf.id, stepId: 's' },
      { workflowId: wf.id, stepId: 's', progress: 101 },
      { workflowId: wf.id, stepId: 's', current: 5 },
      { workflowId: wf.id, stepId: 's', progress: 5, metrics: {} },
      { workflowId: 'bad id', stepId: 's', progress: 5 },
    ]) {
      const res = await admin.post('/api/progress', { updates: [update(5), bad] });
      expectError(res, 400, 'validation_failed');
      expect(res.body.details.some((d: any) => d.field.startsWith('updates.1'))).toBe(true);
    }
    expect((await events(p)).lastSeq).toBe(1);
    expect((await getWorkflow(wf.id)).steps[0].progress).toBe(0);

    // each update must be an object: a nested array is not a (vacuously valid) update
    for (const updates of [[[]], [[update(5)]], [update(5), []], [update(5), null], [update(5), 7]]) {
      const res = await admin.post('/api/progress', { updates });
      expectError(res, 400, 'validation_failed');
      expect(res.body.details.some((d: any) => d.field.startsWith('updates'))).toBe(true);
    }
    expect((await events(p)).lastSeq).toBe(1);
    expect((await getWorkflow(wf.id)).steps[0].progress).toBe(0);

    const max = await admin.post('/api/progress', {
      updates: Array.from({ length: 1000 }, (_, i) => update(Math.floor(i / 10))),
    });
    expect(max.status).toBe(200);
    expect(max.body.results).toHaveLength(1000);
    expect(max.body.results.every((r: any) => r.ok === true)).toBe(true);
    expect((await getWorkflow(wf.id)).steps[0].progress).toBe(99);
    // created, workflow started, step started, then one event per distinct value 0..99 (0 included: first write)
    const progressEvents = (await events(p)).items.filter((e) => e.type === 'workflow:step:progress');
    expect(progressEvents.map((e) => e.data.progress)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
