import { Client, createKey } from './support/http';
import { useServer } from './support/fixture';

/** CONTRACT §2: workflows and steps over REST, against the real built server. */

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let admin: Client;
let counter = 0;
/** A project id of its own for each test. */
const project = (name: string) => `wf-${name}-${++counter}`;

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

/** The workflow without its ETA, which is computed at read time. */
function stable(wf: any): any {
  const { eta: _eta, ...rest } = wf;
  return rest;
}

async function events(projectId: string, after = 0): Promise<{ items: any[]; lastSeq: number }> {
  const res = await admin.get(`/api/projects/${projectId}/events?after=${after}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function lastSeq(projectId: string): Promise<number> {
  return (await events(projectId)).lastSeq;
}

async function create(projectId: string, body: Record<string, unknown>): Promise<any> {
  const res = await admin.post(`/api/projects/${projectId}/workflows`, body);
  expect(res.status).toBe(201);
  return res.body;
}

async function getWorkflow(id: string): Promise<any> {
  const res = await admin.get(`/api/workflows/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

const step = (wf: any, id: string) => wf.steps.find((s: any) => s.id === id);

/** POSTs a step transition and expects 200. */
async function transition(
  workflowId: string,
  stepId: string,
  action: string,
  body: unknown = {},
): Promise<any> {
  const res = await admin.post(`/api/workflows/${workflowId}/steps/${stepId}/${action}`, body);
  expect({ action, status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({
    action,
    status: 200,
    body: 'ok',
  });
  return res.body;
}

describe('POST /api/projects/:projectId/workflows', () => {
  it('creates a workflow (201) with the documented defaults and a workflow:created event', async () => {
    const p = project('create');
    const res = await admin.post(`/api/projects/${p}/workflows`, {
      type: 'document-processing',
      steps: [{ id: 'parsing' }, { id: 'analyzing', name: 'Analyzing', weight: 60 }],
    });
    expect(res.status).toBe(201);
    const wf = res.body;
    expect(wf.id).toMatch(ID_PATTERN);
    expect(wf).toEqual({
      id: wf.id,
      projectId: p,
      type: 'document-processing',
      name: null,
      status: 'queued',
      progress: 0,
      steps: [
        {
          id: 'parsing',
          name: expect.any(String),
          weight: 1,
          status: 'pending',
          progress: 0,
          current: null,
          total: null,
          message: null,
          startedAt: null,
          finishedAt: null,
          durationMs: null,
          result: null,
          error: null,
          metrics: null,
          children: [], // v2 §14: a step's child workflows
        },
        expect.objectContaining({
          id: 'analyzing',
          name: 'Analyzing',
          weight: 60,
          status: 'pending',
          progress: 0,
        }),
      ],
      queue: null,
      attempt: 1,
      maxAttempts: 1,
      sessionId: null,
      metadata: {},
      error: null,
      eta: { remainingMs: null, finishAt: null, basis: 'none', remainingP90Ms: null, queueWaitMs: null },
      createdAt: expect.stringMatching(ISO),
      startedAt: null,
      finishedAt: null,
      updatedAt: expect.stringMatching(ISO),
      lastSeq: 1,
      parent: null, // v2 §14: a root workflow has no parent
    });
    const log = await events(p);
    expect(log.lastSeq).toBe(1);
    expect(log.items.map((e) => [e.seq, e.type, e.workflowId])).toEqual([[1, 'workflow:created', wf.id]]);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(wf));
  });

  it('keeps the client id, name, maxAttempts and metadata it is given', async () => {
    const p = project('create-fields');
    const wf = await create(p, {
      id: 'job-1',
      type: 'ingest',
      name: 'Nightly ingest',
      steps: [{ id: 'a', weight: 0.5 }],
      maxAttempts: 3,
      metadata: { owner: 'team-x', tags: ['a', 'b'], nested: { n: 1 } },
    });
    expect(wf).toMatchObject({
      id: 'job-1',
      projectId: p,
      name: 'Nightly ingest',
      maxAttempts: 3,
      attempt: 1,
      metadata: { owner: 'team-x', tags: ['a', 'b'], nested: { n: 1 } },
      steps: [expect.objectContaining({ id: 'a', weight: 0.5 })],
    });
  });

  it('answers the same id and body again with 200 and the existing workflow, and no new event', async () => {
    const p = project('idem');
    const body = {
      id: 'same-1',
      type: 't',
      name: 'n',
      steps: [{ id: 'a', weight: 2 }, { id: 'b' }],
      metadata: { k: 1 },
    };
    const first = await create(p, body);
    const again = await admin.post(`/api/projects/${p}/workflows`, body);
    expect(again.status).toBe(200);
    expect(stable(again.body)).toEqual(stable(first));
    // the same JSON object, with its keys in another order, is the same body
    const reordered = await admin.post(`/api/projects/${p}/workflows`, {
      metadata: { k: 1 },
      steps: [{ weight: 2, id: 'a' }, { id: 'b' }],
      name: 'n',
      type: 't',
      id: 'same-1',
    });
    expect(reordered.status).toBe(200);
    expect(await lastSeq(p)).toBe(1);

    // after it has moved on, the same create answers with its current state, still without an event
    await transition('same-1', 'a', 'start');
    const seqAfterStart = await lastSeq(p);
    const later = await admin.post(`/api/projects/${p}/workflows`, body);
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ id: 'same-1', status: 'running', lastSeq: seqAfterStart });
    expect(await lastSeq(p)).toBe(seqAfterStart);
  });

  it('answers the same id with a different body with 409 conflict and changes nothing', async () => {
    const p = project('conflict');
    const body = { id: 'dup-1', type: 't', steps: [{ id: 'a' }] };
    const first = await create(p, body);
    for (const other of [
      { ...body, type: 'u' },
      { ...body, steps: [{ id: 'a' }, { id: 'b' }] },
      { ...body, steps: [{ id: 'a', weight: 2 }] },
      { ...body, name: 'named' },
      { ...body, metadata: { x: 1 } },
    ]) {
      const res = await admin.post(`/api/projects/${p}/workflows`, other);
      expectError(res, 409, 'conflict');
    }
    expect(await lastSeq(p)).toBe(1);
    expect(stable(await getWorkflow('dup-1'))).toEqual(stable(first));
  });

  it('accepts the boundaries: 100 steps, 64-character ids, metadata just under 16 KiB', async () => {
    const p = project('bounds');
    const id64 = `A${'b'.repeat(63)}`;
    const wf = await create(p, {
      id: id64,
      type: 'x.y:z_w-1',
      steps: Array.from({ length: 100 }, (_, i) => ({ id: i === 0 ? id64 : `s${i}` })),
      metadata: { blob: 'm'.repeat(16 * 1024 - 20) },
    });
    expect(wf.id).toBe(id64);
    expect(wf.steps).toHaveLength(100);
    expect(wf.steps[0].id).toBe(id64);
  });

  it.each([
    ['missing type', { steps: [{ id: 'a' }] }, 'type'],
    ['type not an id', { type: 'has space', steps: [{ id: 'a' }] }, 'type'],
    ['id starting with a dash', { id: '-abc', type: 't', steps: [{ id: 'a' }] }, 'id'],
    ['id of 65 characters', { id: 'a'.repeat(65), type: 't', steps: [{ id: 'a' }] }, 'id'],
    ['id with a slash', { id: 'a/b', type: 't', steps: [{ id: 'a' }] }, 'id'],
    ['missing steps', { type: 't' }, 'steps'],
    ['no steps', { type: 't', steps: [] }, 'steps'],
    ['101 steps', { type: 't', steps: Array.from({ length: 101 }, (_, i) => ({ id: `s${i}` })) }, 'steps'],
    ['duplicate step ids', { type: 't', steps: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] }, 'steps'],
    ['step id not an id', { type: 't', steps: [{ id: 'bad id' }] }, 'steps.0.id'],
    ['weight 0', { type: 't', steps: [{ id: 'a', weight: 0 }] }, 'steps.0.weight'],
    ['negative weight', { type: 't', steps: [{ id: 'a' }, { id: 'b', weight: -1 }] }, 'steps.1.weight'],
    ['weight as a string', { type: 't', steps: [{ id: 'a', weight: '3' }] }, 'steps.0.weight'],
    [
      'metadata over 16 KiB',
      { type: 't', steps: [{ id: 'a' }], metadata: { blob: 'm'.repeat(17 * 1024) } },
      'metadata',
    ],
    ['metadata not an object', { type: 't', steps: [{ id: 'a' }], metadata: [1, 2] }, 'metadata'],
    ['unknown field', { type: 't', steps: [{ id: 'a' }], colour: 'blue' }, 'colour'],
    ['unknown step field', { type: 't', steps: [{ id: 'a', colour: 'blue' }] }, 'steps.0.colour'],
    ['a step that is not an object', { type: 't', steps: [[]] }, 'steps'],
    ['a step that is null', { type: 't', steps: [{ id: 'a' }, null] }, 'steps'],
  ])(
    'rejects %s with 400 validation_failed naming the field, and writes nothing',
    async (_name, body, field) => {
      const p = project('invalid');
      const res = await admin.post(`/api/projects/${p}/workflows`, body);
      expectError(res, 400, 'validation_failed');
      expect(Array.isArray(res.body.details)).toBe(true);
      for (const d of res.body.details)
        expect(d).toEqual({ field: expect.any(String), message: expect.any(String) });
      expect(res.body.details.map((d: any) => d.field)).toContain(field);
      expect(await events(p)).toEqual({ items: [], lastSeq: 0 });
      expect((await admin.get(`/api/projects/${p}/workflows`)).body.items).toEqual([]);
    },
  );

  it('rejects a project id that is not an id with 400 validation_failed', async () => {
    const res = await admin.post(`/api/projects/${encodeURIComponent('bad project')}/workflows`, {
      type: 't',
      steps: [{ id: 'a' }],
    });
    expectError(res, 400, 'validation_failed');
  });
});

describe('step transitions', () => {
  it('start: pending → running; the first start moves the workflow queued → running; several steps may run', async () => {
    const p = project('start');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    const afterA = await transition(wf.id, 'a', 'start', { message: 'warming up' });
    expect(afterA.status).toBe('running');
    expect(afterA.startedAt).toMatch(ISO);
    expect(step(afterA, 'a')).toMatchObject({
      status: 'running',
      message: 'warming up',
      startedAt: expect.stringMatching(ISO),
    });
    expect(step(afterA, 'b').status).toBe('pending');

    const afterB = await transition(wf.id, 'b', 'start');
    expect(afterB.startedAt).toBe(afterA.startedAt);
    expect(afterB.steps.map((s: any) => s.status)).toEqual(['running', 'running', 'pending']);

    const seq = await lastSeq(p);
    expectError(await admin.post(`/api/workflows/${wf.id}/steps/a/start`, {}), 409, 'invalid_transition');
    expect(await lastSeq(p)).toBe(seq);
  });

  it('progress: from current/total (floored), implicit start of a pending step, regression 409, same value 200 without an event', async () => {
    const p = project('progress');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });

    // a pending step is started first, and the workflow with it
    const r1 = await transition(wf.id, 'a', 'progress', { current: 1, total: 3, message: 'one of three' });
    expect(r1.status).toBe('running');
    expect(step(r1, 'a')).toMatchObject({
      status: 'running',
      progress: 33,
      current: 1,
      total: 3,
      message: 'one of three',
    });
    expect(step(r1, 'a').startedAt).toMatch(ISO);

    const r2 = await transition(wf.id, 'a', 'progress', { current: 2, total: 3 });
    expect(step(r2, 'a')).toMatchObject({ progress: 66, current: 2, total: 3 });

    const r3 = await transition(wf.id, 'a', 'progress', { progress: 70, metrics: { rows: 700 } });
    expect(step(r3, 'a')).toMatchObject({ progress: 70, metrics: { rows: 700 } });
    expect(r3.lastSeq).toBe(await lastSeq(p));

    // the same value again: 200, nothing new
    const seq = await lastSeq(p);
    const same = await transition(wf.id, 'a', 'progress', { progress: 70 });
    expect(same.lastSeq).toBe(seq);
    expect(step(same, 'a').progress).toBe(70);
    expect(await lastSeq(p)).toBe(seq);

    // going back: 409 progress_regression, nothing written
    const before = await getWorkflow(wf.id);
    expectError(
      await admin.post(`/api/workflows/${wf.id}/steps/a/progress`, { progress: 69 }),
      409,
      'progress_regression',
    );
    expectError(
      await admin.post(`/api/workflows/${wf.id}/steps/a/progress`, { current: 1, total: 2 }),
      409,
      'progress_regression',
    );
    expect(await lastSeq(p)).toBe(seq);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(before));

    const r4 = await transition(wf.id, 'a', 'progress', { progress: 100 });
    expect(step(r4, 'a')).toMatchObject({ status: 'running', progress: 100 });
    expect(r4.status).toBe('running');
  });

  it.each([
    ['neither progress nor current+total', { message: 'hi' }],
    ['current without total', { current: 3 }],
    ['total without current', { total: 3 }],
    ['current above total', { current: 4, total: 3 }],
    ['progress above 100', { progress: 101 }],
    ['negative progress', { progress: -1 }],
    ['negative current', { current: -1, total: 3 }],
    ['total 0', { current: 0, total: 0 }],
    ['fractional current', { current: 1.5, total: 3 }],
    ['message over 1000 characters', { progress: 5, message: 'x'.repeat(1001) }],
    ['metrics not an object', { progress: 5, metrics: 'fast' }],
    ['unknown field', { progress: 5, speed: 3 }],
  ])('progress rejects %s with 400 validation_failed and writes nothing', async (_name, body) => {
    const p = project('progress-invalid');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] });
    const res = await admin.post(`/api/workflows/${wf.id}/steps/a/progress`, body);
    expectError(res, 400, 'validation_failed');
    expect(res.body.details.length).toBeGreaterThan(0);
    expect(await lastSeq(p)).toBe(1);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(wf));
  });

  it('weighted workflow progress: floor(Σ w·p / Σ w), completed and skipped steps at 100', async () => {
    const p = project('weights');
    const wf = await create(p, {
      type: 't',
      steps: [
        { id: 'parse', weight: 15 },
        { id: 'analyze', weight: 60 },
        { id: 'render', weight: 25 },
      ],
    });
    expect((await transition(wf.id, 'parse', 'progress', { progress: 50 })).progress).toBe(7); // 750/100 = 7.5
    expect((await transition(wf.id, 'parse', 'complete')).progress).toBe(15);
    expect((await transition(wf.id, 'analyze', 'progress', { progress: 33 })).progress).toBe(34); // (1500+1980)/100 = 34.8
    const skipped = await transition(wf.id, 'render', 'skip', { message: 'not needed' });
    expect(skipped.progress).toBe(59); // (1500+1980+2500)/100 = 59.8
    expect(skipped.status).toBe('running');
    expect(step(skipped, 'render')).toMatchObject({ status: 'skipped', message: 'not needed' });
    const done = await transition(wf.id, 'analyze', 'complete');
    expect(done).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('workflow progress reaches 100 only when every step is done', async () => {
    const p = project('hundred');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    await transition(wf.id, 'a', 'complete');
    await transition(wf.id, 'b', 'complete');
    const almost = await transition(wf.id, 'c', 'progress', { progress: 100 });
    expect(almost.status).toBe('running');
    expect(almost.progress).toBeLessThan(100);
    expect(almost.progress).toBe(99);
    expect(almost.finishedAt).toBeNull();
  });

  it('complete: pending|running → completed with progress 100, result and message; the last one completes the workflow in the same commit', async () => {
    const p = project('complete');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    await transition(wf.id, 'a', 'progress', { current: 3, total: 10 });
    const r1 = await transition(wf.id, 'a', 'complete', {
      result: { pages: 12, ok: true },
      message: 'parsed',
    });
    expect(r1.status).toBe('running');
    expect(step(r1, 'a')).toMatchObject({
      status: 'completed',
      progress: 100,
      current: 10,
      total: 10,
      message: 'parsed',
      result: { pages: 12, ok: true },
      finishedAt: expect.stringMatching(ISO),
      durationMs: expect.any(Number),
    });
    expect(step(r1, 'a').durationMs).toBeGreaterThanOrEqual(0);

    // a pending step may be completed directly: it is the last one, so the workflow completes with it
    const seqBefore = await lastSeq(p);
    const r2 = await transition(wf.id, 'b', 'complete', { result: [1, 2, 3] });
    expect(r2).toMatchObject({ status: 'completed', progress: 100, finishedAt: expect.stringMatching(ISO) });
    expect(step(r2, 'b')).toMatchObject({ status: 'completed', progress: 100, result: [1, 2, 3] });
    const log = await events(p, seqBefore);
    expect(log.items.map((e) => e.type)).toEqual([
      'workflow:step:started',
      'workflow:step:completed',
      'workflow:completed',
    ]);
    expect(r2.lastSeq).toBe(log.lastSeq);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(r2));
  });

  it('skip: pending → skipped; skipping the last open step completes the workflow', async () => {
    const p = project('skip');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    await transition(wf.id, 'a', 'start');
    expectError(await admin.post(`/api/workflows/${wf.id}/steps/a/skip`, {}), 409, 'invalid_transition');
    await transition(wf.id, 'b', 'skip');
    await transition(wf.id, 'a', 'complete');
    expectError(await admin.post(`/api/workflows/${wf.id}/steps/a/skip`, {}), 409, 'invalid_transition');
    const done = await transition(wf.id, 'c', 'skip', { message: 'optional' });
    expect(done).toMatchObject({ status: 'completed', progress: 100 });
    expect(done.steps.map((s: any) => s.status)).toEqual(['completed', 'skipped', 'skipped']);
  });

  it('fail: the step fails and so does the workflow; afterwards every write is 409 invalid_transition', async () => {
    const p = project('fail');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    await transition(wf.id, 'a', 'progress', { progress: 40 });
    const failed = await transition(wf.id, 'a', 'fail', { error: { message: 'disk full', code: 'ENOSPC' } });
    expect(failed).toMatchObject({
      status: 'failed',
      error: { message: 'disk full', code: 'ENOSPC' },
      finishedAt: expect.stringMatching(ISO),
    });
    expect(step(failed, 'a')).toMatchObject({
      status: 'failed',
      error: { message: 'disk full', code: 'ENOSPC' },
    });
    expect(step(failed, 'b').status).not.toBe('pending');
    expect(step(failed, 'b').status).not.toBe('running');

    const seq = await lastSeq(p);
    for (const [path, body] of [
      ['steps/a/progress', { progress: 50 }],
      ['steps/a/complete', {}],
      ['steps/a/fail', { error: { message: 'again' } }],
      ['steps/b/start', {}],
      ['steps/b/progress', { progress: 1 }],
      ['steps/b/complete', {}],
      ['steps/b/skip', {}],
      ['cancel', {}],
    ] as const) {
      const res = await admin.post(`/api/workflows/${wf.id}/${path}`, body);
      expect({ path, code: res.body.code }).toEqual({ path, code: 'invalid_transition' });
      expectError(res, 409, 'invalid_transition');
    }
    expect(await lastSeq(p)).toBe(seq);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(failed));
  });

  it('fail needs an error with a message', async () => {
    const p = project('fail-invalid');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] });
    for (const body of [
      {},
      { error: {} },
      { error: { code: 'X' } },
      { error: 'boom' },
      { error: { message: 'x' }, retryable: 'yes' },
    ]) {
      expectError(await admin.post(`/api/workflows/${wf.id}/steps/a/fail`, body), 400, 'validation_failed');
    }
    expect(await lastSeq(p)).toBe(1);
  });

  it('cancel: a non-terminal workflow → cancelled, its pending and running steps → cancelled, done steps stay', async () => {
    const p = project('cancel');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }] });
    await transition(wf.id, 'a', 'complete');
    await transition(wf.id, 'b', 'skip');
    await transition(wf.id, 'c', 'progress', { progress: 30 });
    const res = await admin.post(`/api/workflows/${wf.id}/cancel`, { reason: 'user asked' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'cancelled', finishedAt: expect.stringMatching(ISO) });
    expect(res.body.steps.map((s: any) => s.status)).toEqual([
      'completed',
      'skipped',
      'cancelled',
      'cancelled',
    ]);
    expect(res.body.progress).toBeLessThan(100);

    const seq = await lastSeq(p);
    expectError(await admin.post(`/api/workflows/${wf.id}/cancel`, {}), 409, 'invalid_transition');
    expectError(
      await admin.post(`/api/workflows/${wf.id}/steps/c/progress`, { progress: 40 }),
      409,
      'invalid_transition',
    );
    expectError(await admin.post(`/api/workflows/${wf.id}/steps/d/start`, {}), 409, 'invalid_transition');
    expect(await lastSeq(p)).toBe(seq);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(res.body));
  });

  it('cancels a queued workflow: all its steps → cancelled', async () => {
    const p = project('cancel-queued');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    const res = await admin.post(`/api/workflows/${wf.id}/cancel`, {});
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    expect(res.body.steps.map((s: any) => s.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('a step id the workflow does not have → 404 not_found; an unknown workflow → 404 not_found', async () => {
    const p = project('unknown-step');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] });
    for (const [action, body] of [
      ['start', {}],
      ['progress', { progress: 10 }],
      ['complete', {}],
      ['fail', { error: { message: 'x' } }],
      ['skip', {}],
    ] as const) {
      expectError(await admin.post(`/api/workflows/${wf.id}/steps/nope/${action}`, body), 404, 'not_found');
      expectError(await admin.post(`/api/workflows/no-such-wf/steps/a/${action}`, body), 404, 'not_found');
    }
    expectError(await admin.post(`/api/workflows/no-such-wf/cancel`, {}), 404, 'not_found');
    expectError(await admin.get(`/api/workflows/no-such-wf`), 404, 'not_found');
    expect(await lastSeq(p)).toBe(1);
    expect(stable(await getWorkflow(wf.id))).toEqual(stable(wf));
  });
});

describe('reading workflows', () => {
  it('GET /api/workflows/:id returns what the last write answered', async () => {
    const p = project('get');
    const wf = await create(p, { id: 'get-1', type: 't', steps: [{ id: 'a' }, { id: 'b', weight: 3 }] });
    expect(stable(await getWorkflow('get-1'))).toEqual(stable(wf));
    const last = await transition('get-1', 'a', 'progress', { progress: 10, message: 'reading' });
    const got = await getWorkflow('get-1');
    expect(stable(got)).toEqual(stable(last));
    expect(Object.keys(got.eta).sort()).toEqual([
      'basis',
      'finishAt',
      'queueWaitMs',
      'remainingMs',
      'remainingP90Ms',
    ]);
    expect(['none', 'rate', 'history']).toContain(got.eta.basis);
  });

  it('lists newest first, filtered by status and type', async () => {
    const p = project('list');
    // zero-padded ids in creation order: workflows created in the same millisecond still sort newest first
    const w0 = await create(p, { id: 'l-0', type: 'alpha', steps: [{ id: 's' }] }); // queued
    const w1 = await create(p, { id: 'l-1', type: 'alpha', steps: [{ id: 's' }, { id: 't' }] }); // running
    const w2 = await create(p, { id: 'l-2', type: 'beta', steps: [{ id: 's' }] }); // completed
    const w3 = await create(p, { id: 'l-3', type: 'beta', steps: [{ id: 's' }] }); // cancelled
    const w4 = await create(p, { id: 'l-4', type: 'alpha', steps: [{ id: 's' }] }); // failed
    await transition(w1.id, 's', 'start');
    await transition(w2.id, 's', 'complete');
    expect((await admin.post(`/api/workflows/${w3.id}/cancel`, {})).status).toBe(200);
    await transition(w4.id, 's', 'fail', { error: { message: 'x' } });

    const ids = async (query: string) => {
      const res = await admin.get(`/api/projects/${p}/workflows${query}`);
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      return res.body.items.map((w: any) => w.id);
    };
    expect(await ids('')).toEqual(['l-4', 'l-3', 'l-2', 'l-1', 'l-0']);
    expect(await ids('?status=queued,running')).toEqual(['l-1', 'l-0']);
    expect(await ids('?status=queued')).toEqual(['l-0']);
    expect(await ids('?status=completed,failed,cancelled')).toEqual(['l-4', 'l-3', 'l-2']);
    expect(await ids('?type=beta')).toEqual(['l-3', 'l-2']);
    expect(await ids('?type=alpha&status=running,failed')).toEqual(['l-4', 'l-1']);
    expect(await ids('?type=gamma')).toEqual([]);

    // items are full Workflows
    const all = (await admin.get(`/api/projects/${p}/workflows`)).body.items;
    expect(stable(all.find((w: any) => w.id === 'l-0'))).toEqual(stable(w0));
    expect(all.find((w: any) => w.id === 'l-2')).toMatchObject({
      status: 'completed',
      progress: 100,
      steps: [{ id: 's' }],
    });
  });

  it('pages with limit and nextCursor: the walk covers every workflow exactly once, newest first', async () => {
    const p = project('pages');
    const created: string[] = [];
    for (let i = 0; i < 7; i++)
      created.push(
        (await create(p, { id: `pg-${String(i).padStart(2, '0')}`, type: 't', steps: [{ id: 's' }] })).id,
      );
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const q: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const res = await admin.get(`/api/projects/${p}/workflows${q}`);
      expect(res.status).toBe(200);
      sizes.push(res.body.items.length);
      seen.push(...res.body.items.map((w: any) => w.id));
      cursor = res.body.nextCursor;
      if (cursor === null) break;
      expect(typeof cursor).toBe('string');
    }
    expect(cursor).toBeNull();
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...created].reverse());

    // an exact multiple of the limit still ends with nextCursor null
    const first = await admin.get(`/api/projects/${p}/workflows?limit=7`);
    expect(first.body.items).toHaveLength(7);
    expect(first.body.nextCursor).toBeNull();
  });

  it('rejects bad list parameters with 400 validation_failed', async () => {
    const p = project('list-invalid');
    for (const q of [
      '?status=sleeping',
      '?status=queued,done',
      '?limit=0',
      '?limit=abc',
      '?type=not%20an%20id',
      '?cursor=garbage',
      '?colour=red',
    ]) {
      const res = await admin.get(`/api/projects/${p}/workflows${q}`);
      expect({ q, status: res.status, code: res.body?.code }).toEqual({
        q,
        status: 400,
        code: 'validation_failed',
      });
    }
  });

  it('GET /api/projects: the key’s projects with counts by status and lastSeq', async () => {
    const p1 = project('counts-a');
    const p2 = project('counts-b');
    const never = project('counts-never');
    const a = await create(p1, { type: 't', steps: [{ id: 's' }] });
    const b = await create(p1, { type: 't', steps: [{ id: 's' }] });
    await create(p1, { type: 't', steps: [{ id: 's' }] });
    const d = await create(p1, { type: 't', steps: [{ id: 's' }] });
    const e = await create(p1, { type: 't', steps: [{ id: 's' }, { id: 'u' }] });
    await transition(a.id, 's', 'complete');
    await transition(b.id, 's', 'fail', { error: { message: 'no' } });
    expect((await admin.post(`/api/workflows/${d.id}/cancel`, {})).status).toBe(200);
    await transition(e.id, 's', 'start');
    await create(p2, { type: 't', steps: [{ id: 's' }] });

    const viewer = admin.withToken(await createKey(admin, 'viewer', [p1, p2, never]));
    const res = await viewer.get('/api/projects');
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.items.map((i: any) => [i.id, i]));
    expect(Object.keys(byId).sort()).toEqual([p1, p2, never].sort());
    expect(byId[p1]).toEqual({
      id: p1,
      counts: { queued: 1, running: 1, completed: 1, failed: 1, cancelled: 1 },
      lastSeq: await lastSeq(p1),
      lastEventAt: expect.stringMatching(ISO),
    });
    expect(byId[p2]).toMatchObject({
      counts: { queued: 1, running: 0, completed: 0, failed: 0, cancelled: 0 },
      lastSeq: 1,
    });
    expect(byId[never]).toMatchObject({
      counts: { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
      lastSeq: 0,
    });

    // the admin key sees every project
    const all = await admin.get('/api/projects');
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: any) => i.id)).toEqual(expect.arrayContaining([p1, p2]));
  });
});
