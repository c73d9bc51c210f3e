import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { ApiResponse, Client, createKey } from './support/http';
import { ServerFixture, useServer } from './support/fixture';
import { ADMIN_TOKEN } from './support/server';

/**
 * CONTRACT §0 and §1: the error body, malformed and oversized bodies, unknown routes, and the rule that a
 * rejected request writes nothing and emits nothing. Also the service endpoints (/health, /metrics, docs).
 */

const MiB = 1024 * 1024;

let admin: Client;
let counter = 0;
const project = (name: string) => `err-${name}-${++counter}`;

let fixture: ServerFixture;
useServer((fx) => {
  fixture = fx;
  admin = fx.admin;
});

/** The contract's error body: statusCode, error (the status text), code, message; JSON. */
function expectErrorBody(res: ApiResponse, status: number, code: string, what = ''): void {
  expect({ what, status: res.status, code: res.body?.code }).toEqual({ what, status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({
    statusCode: status,
    error: STATUS_CODES[status],
    code,
    message: expect.any(String),
  });
  expect(res.body.message.length).toBeGreaterThan(0);
  if (code === 'validation_failed' && res.body.details !== undefined) {
    expect(Array.isArray(res.body.details)).toBe(true);
    for (const d of res.body.details)
      expect(d).toEqual({ field: expect.any(String), message: expect.any(String) });
  }
}

function stable(wf: any): any {
  const { eta: _eta, ...rest } = wf;
  return rest;
}

async function projectState(projectId: string): Promise<{ lastSeq: number; workflows: any[] }> {
  const events = await admin.get(`/api/projects/${projectId}/events`);
  const list = await admin.get(`/api/projects/${projectId}/workflows?limit=500`);
  expect([events.status, list.status]).toEqual([200, 200]);
  return { lastSeq: events.body.lastSeq, workflows: list.body.items.map(stable) };
}

async function create(projectId: string, body: Record<string, unknown>): Promise<any> {
  const res = await admin.post(`/api/projects/${projectId}/workflows`, body);
  expect(res.status).toBe(201);
  return res.body;
}

async function ok(res: Promise<ApiResponse>): Promise<any> {
  const r = await res;
  expect([200, 201]).toContain(r.status);
  return r.body;
}

describe('error bodies', () => {
  it('every error is JSON with statusCode, error, code and message (and details for validation)', async () => {
    const p = project('shape');
    const wf = await create(p, { id: `shape-${counter}`, type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    await ok(admin.post(`/api/workflows/${wf.id}/steps/a/progress`, { progress: 50 }));
    await ok(admin.post(`/api/workflows/${wf.id}/steps/b/complete`, {}));
    const viewer = admin.withToken(await createKey(admin, 'viewer', [p]));

    const validation = await admin.post(`/api/projects/${p}/workflows`, { type: 't', steps: [] });
    expectErrorBody(validation, 400, 'validation_failed');
    expect(validation.body.details).toEqual(
      expect.arrayContaining([{ field: 'steps', message: expect.any(String) }]),
    );

    const cases: [string, Promise<ApiResponse>, number, string][] = [
      ['malformed', admin.post(`/api/projects/${p}/workflows`, '{"type": "t",'), 400, 'malformed_json'],
      ['no key', admin.withToken('').get('/api/projects'), 401, 'unauthorized'],
      ['viewer write', viewer.post(`/api/workflows/${wf.id}/cancel`, {}), 403, 'forbidden'],
      ['unknown workflow', admin.get('/api/workflows/nope'), 404, 'not_found'],
      ['unknown route', admin.get('/api/nothing-here'), 404, 'not_found'],
      [
        'conflict',
        admin.post(`/api/projects/${p}/workflows`, { id: wf.id, type: 'other', steps: [{ id: 'a' }] }),
        409,
        'conflict',
      ],
      [
        'invalid transition',
        admin.post(`/api/workflows/${wf.id}/steps/b/start`, {}),
        409,
        'invalid_transition',
      ],
      [
        'regression',
        admin.post(`/api/workflows/${wf.id}/steps/a/progress`, { progress: 10 }),
        409,
        'progress_regression',
      ],
      [
        'too large',
        admin.post(`/api/projects/${p}/workflows`, JSON.stringify({ type: 't', pad: 'x'.repeat(MiB) })),
        413,
        'payload_too_large',
      ],
    ];
    for (const [what, res, status, code] of cases) expectErrorBody(await res, status, code, what);
  });

  it('malformed JSON → 400 malformed_json on every write route, and nothing is written', async () => {
    const p = project('malformed');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] });
    const before = await projectState(p);
    for (const path of [
      `/api/projects/${p}/workflows`,
      `/api/workflows/${wf.id}/steps/a/start`,
      `/api/workflows/${wf.id}/steps/a/progress`,
      `/api/workflows/${wf.id}/steps/a/complete`,
      `/api/workflows/${wf.id}/steps/a/fail`,
      `/api/workflows/${wf.id}/steps/a/skip`,
      `/api/workflows/${wf.id}/cancel`,
      `/api/workflows/${wf.id}/logs`,
      '/api/progress',
      '/api/keys',
    ]) {
      for (const body of ['{', '{"progress": 5,}', "{'progress': 5}", 'progress=5', '{"a":1}}']) {
        expectErrorBody(await admin.post(path, body), 400, 'malformed_json', `${path} ${body}`);
      }
    }
    expect(await projectState(p)).toEqual(before);
  });

  it('only an application/json body in UTF-8 is read: other types, charsets and encodings are refused, nothing written', async () => {
    const p = project('types');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    const before = await projectState(p);
    const path = `/api/workflows/${wf.id}/steps/a/progress`;
    const body = JSON.stringify({ progress: 5 });
    // another type is not parsed: the route sees no body, and validation refuses it
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx'])
      expectErrorBody(await admin.post(path, body, { 'content-type': type }), 400, 'validation_failed', type);
    // a Content-Type that is not a media type at all (no `/`, or two) is bad input too, never a 500
    for (const type of ['garbage', 'json', ';', 'a/b/c']) {
      const res = await admin.post(path, body, { 'content-type': type });
      expectErrorBody(res, 400, 'validation_failed', type);
      expect(res.body.details).toEqual([
        { field: 'content-type', message: expect.stringMatching(/content type/) },
      ]);
    }
    expectErrorBody(
      await admin.post(path, body, { 'content-type': 'application/json; charset=latin1' }),
      400,
      'validation_failed',
      'charset',
    );
    expectErrorBody(
      await admin.post(path, body, { 'content-type': 'application/json', 'content-encoding': 'x-unknown' }),
      400,
      'validation_failed',
      'encoding',
    );
    expect(await projectState(p)).toEqual(before);
    // the media type's parameters and case do not matter; an empty JSON body is {}
    const ok = await admin.post(path, body, { 'content-type': 'Application/JSON; charset=UTF-8' });
    expect(ok.status).toBe(200);
    expect(ok.body.steps[0].progress).toBe(5);
    const empty = await admin.post(`/api/workflows/${wf.id}/steps/b/start`, '');
    expect(empty.status).toBe(200);
  });

  it('routes match as before: a trailing slash and the case of the path do not matter', async () => {
    expect((await admin.get('/api/keys/')).status).toBe(200);
    expect((await admin.get('/API/Keys')).status).toBe(200);
    expectErrorBody(await admin.get('/api/keyz'), 404, 'not_found');
  });

  it('a body over 1 MiB → 413 payload_too_large; a large body under the limit is judged on its content', async () => {
    const p = project('large');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] });
    const before = await projectState(p);

    const justOver = JSON.stringify({ result: 'r'.repeat(MiB - 12) });
    expect(Buffer.byteLength(justOver)).toBe(MiB + 1);
    expectErrorBody(
      await admin.post(`/api/workflows/${wf.id}/steps/a/complete`, justOver),
      413,
      'payload_too_large',
    );
    const big = JSON.stringify({ type: 't', steps: [{ id: 'a' }], metadata: { blob: 'm'.repeat(2 * MiB) } });
    expectErrorBody(await admin.post(`/api/projects/${p}/workflows`, big), 413, 'payload_too_large');
    const bigBatch = {
      updates: Array.from({ length: 1000 }, () => ({
        workflowId: wf.id,
        stepId: 'a',
        progress: 1,
        message: 'x'.repeat(1000),
      })),
    };
    expectErrorBody(await admin.post('/api/progress', bigBatch), 413, 'payload_too_large');
    expect(await projectState(p)).toEqual(before);

    // under 1 MiB the body is parsed: a result over 256 KiB is a validation failure, not a 413
    const underLimit = JSON.stringify({ result: 'r'.repeat(MiB - 100) });
    expect(Buffer.byteLength(underLimit)).toBeLessThan(MiB);
    const res = await admin.post(`/api/workflows/${wf.id}/steps/a/complete`, underLimit);
    expectErrorBody(res, 400, 'validation_failed');
    expect(res.body.details.map((d: any) => d.field)).toContain('result');
    expect(await projectState(p)).toEqual(before);

    // and a 200 KiB result is accepted
    const done = await ok(
      admin.post(`/api/workflows/${wf.id}/steps/a/complete`, { result: { blob: 'r'.repeat(200 * 1024) } }),
    );
    expect(done.steps[0].result.blob).toHaveLength(200 * 1024);
  });

  it('an unknown route → 404 not_found', async () => {
    const cases: [string, string][] = [
      ['GET', '/api/nothing-here'],
      ['GET', '/nothing-here'],
      ['POST', '/api/workflows/x/steps/y/teleport'],
      ['DELETE', '/api/projects'],
      ['PUT', '/api/progress'],
    ];
    for (const [method, path] of cases) {
      expectErrorBody(
        await admin.request(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}),
        404,
        'not_found',
        `${method} ${path}`,
      );
    }
  });
});

it('a URL the router reads before Nest still gets the contract error body: ids of any length, broken percent-encoding', async () => {
  const long = 'a'.repeat(2000); // Fastify's router answered 414 with its own body past 1,024 characters
  expectErrorBody(await admin.get(`/api/workflows/${long}`), 404, 'not_found', 'GET a long id');
  expectErrorBody(
    await admin.post(`/api/workflows/${long}/steps/a/progress`, { progress: 5 }),
    404,
    'not_found',
    'progress on a long id',
  );
  expectErrorBody(
    await admin.post(`/api/projects/${long}/workflows`, { type: 't', steps: [{ id: 'a' }] }),
    400,
    'validation_failed',
    'a long project id',
  );
  // the router refused this one with FST_ERR_BAD_URL and its own body
  const bad = await admin.get('/api/workflows/%E0%A4%A');
  expectErrorBody(bad, 400, 'validation_failed', 'broken percent-encoding');
  expect(bad.body.details).toEqual([]);
});

it('a body declared over 1 MiB is read before the 413 goes out, so a client still sending it reads the 413', async () => {
  // Answering at once and closing made a client still writing fail with EPIPE (seen in this spec's 2 MiB POST)
  const wf = await create(project('drain'), { type: 't', steps: [{ id: 'a' }] });
  const declared = 2 * MiB;
  const socket = connect(fixture.server.port, '127.0.0.1');
  const received: Buffer[] = [];
  let socketError: Error | undefined;
  socket.on('data', (b) => received.push(b));
  socket.on('error', (e) => (socketError = e));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const write = (data: string | Buffer) =>
    new Promise<void>((resolve) => socket.write(data, () => resolve()));
  await write(
    `POST /api/workflows/${wf.id}/steps/a/complete HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Authorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${declared}\r\nConnection: close\r\n\r\n`,
  );
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  await write(chunk);
  // sentinel: two round trips on other connections, so the server has read the headers above and decided
  for (let i = 0; i < 2; i++) expect((await admin.get('/api/keys')).status).toBe(200);
  expect({ answeredBeforeTheBodyWasSent: Buffer.concat(received).length }).toEqual({
    answeredBeforeTheBodyWasSent: 0,
  });
  for (let sent = chunk.length; sent < declared; sent += chunk.length) await write(chunk);
  await ended;
  expect(socketError).toBeUndefined();
  const response = Buffer.concat(received).toString('utf8');
  expect(response).toMatch(/^HTTP\/1\.1 413 /);
  expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toMatchObject({
    statusCode: 413,
    code: 'payload_too_large',
  });
});

describe('a rejected request writes nothing and emits nothing', () => {
  it('for every kind of rejection of a write to a running workflow', async () => {
    const p = project('rejected');
    const wf = await create(p, {
      id: `rej-${counter}`,
      type: 't',
      steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    });
    await ok(admin.post(`/api/workflows/${wf.id}/steps/a/complete`, { result: { n: 1 } }));
    await ok(
      admin.post(`/api/workflows/${wf.id}/steps/b/progress`, { current: 4, total: 10, message: 'four' }),
    );
    await ok(admin.post(`/api/workflows/${wf.id}/logs`, { level: 'info', message: 'first' }));
    const viewer = admin.withToken(await createKey(admin, 'viewer', [p]));
    const stranger = admin.withToken(await createKey(admin, 'producer', [project('elsewhere')]));
    const before = await projectState(p);
    const logsBefore = (await admin.get(`/api/workflows/${wf.id}/logs`)).body;
    const w = `/api/workflows/${wf.id}`;

    const rejections: [string, () => Promise<ApiResponse>, number, string][] = [
      // 400 validation_failed
      [
        'create: unknown field',
        () => admin.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 'a' }], x: 1 }),
        400,
        'validation_failed',
      ],
      [
        'progress: over 100',
        () => admin.post(`${w}/steps/b/progress`, { progress: 101 }),
        400,
        'validation_failed',
      ],
      [
        'progress: unknown field',
        () => admin.post(`${w}/steps/b/progress`, { progress: 50, eta: 5 }),
        400,
        'validation_failed',
      ],
      [
        'progress: nothing to record',
        () => admin.post(`${w}/steps/b/progress`, { message: 'only words' }),
        400,
        'validation_failed',
      ],
      [
        'progress: current over total',
        () => admin.post(`${w}/steps/b/progress`, { current: 11, total: 10 }),
        400,
        'validation_failed',
      ],
      [
        'start: message too long',
        () => admin.post(`${w}/steps/c/start`, { message: 'x'.repeat(1001) }),
        400,
        'validation_failed',
      ],
      ['fail: no error', () => admin.post(`${w}/steps/b/fail`, {}), 400, 'validation_failed'],
      [
        'fail: error without message',
        () => admin.post(`${w}/steps/b/fail`, { error: { code: 'E' } }),
        400,
        'validation_failed',
      ],
      [
        'cancel: reason not a string',
        () => admin.post(`${w}/cancel`, { reason: 42 }),
        400,
        'validation_failed',
      ],
      [
        'log: bad level',
        () => admin.post(`${w}/logs`, { level: 'fatal', message: 'x' }),
        400,
        'validation_failed',
      ],
      ['log: no message', () => admin.post(`${w}/logs`, { level: 'info' }), 400, 'validation_failed'],
      [
        'batch: one bad item',
        () =>
          admin.post('/api/progress', {
            updates: [
              { workflowId: wf.id, stepId: 'b', progress: 60 },
              { workflowId: wf.id, stepId: 'b', progress: 200 },
            ],
          }),
        400,
        'validation_failed',
      ],
      ['batch: empty', () => admin.post('/api/progress', { updates: [] }), 400, 'validation_failed'],
      // 400 malformed_json, 413
      [
        'progress: malformed',
        () => admin.post(`${w}/steps/b/progress`, '{"progress": 60'),
        400,
        'malformed_json',
      ],
      [
        'complete: too large',
        () => admin.post(`${w}/steps/b/complete`, JSON.stringify({ result: 'x'.repeat(MiB + 1) })),
        413,
        'payload_too_large',
      ],
      // 401, 403, 404
      [
        'no key',
        () => admin.withToken('').post(`${w}/steps/b/progress`, { progress: 60 }),
        401,
        'unauthorized',
      ],
      ['viewer', () => viewer.post(`${w}/steps/b/progress`, { progress: 60 }), 403, 'forbidden'],
      ['viewer log', () => viewer.post(`${w}/logs`, { level: 'info', message: 'x' }), 403, 'forbidden'],
      ['other project key', () => stranger.post(`${w}/steps/b/progress`, { progress: 60 }), 404, 'not_found'],
      [
        'other project key: create here',
        () => stranger.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 'a' }] }),
        403,
        'forbidden',
      ],
      ['unknown step', () => admin.post(`${w}/steps/zz/progress`, { progress: 60 }), 404, 'not_found'],
      [
        'log for an unknown step',
        () => admin.post(`${w}/logs`, { level: 'info', message: 'x', stepId: 'zz' }),
        404,
        'not_found',
      ],
      // 409
      [
        'create: same id, other body',
        () => admin.post(`/api/projects/${p}/workflows`, { id: wf.id, type: 't', steps: [{ id: 'a' }] }),
        409,
        'conflict',
      ],
      [
        'progress: regression',
        () => admin.post(`${w}/steps/b/progress`, { progress: 39 }),
        409,
        'progress_regression',
      ],
      [
        'progress: count regression',
        () => admin.post(`${w}/steps/b/progress`, { current: 3, total: 10 }),
        409,
        'progress_regression',
      ],
      ['start: running step', () => admin.post(`${w}/steps/b/start`, {}), 409, 'invalid_transition'],
      ['start: completed step', () => admin.post(`${w}/steps/a/start`, {}), 409, 'invalid_transition'],
      ['skip: running step', () => admin.post(`${w}/steps/b/skip`, {}), 409, 'invalid_transition'],
      ['complete: completed step', () => admin.post(`${w}/steps/a/complete`, {}), 409, 'invalid_transition'],
      [
        'progress: completed step',
        () => admin.post(`${w}/steps/a/progress`, { progress: 100 }),
        409,
        'invalid_transition',
      ],
      [
        'fail: completed step',
        () => admin.post(`${w}/steps/a/fail`, { error: { message: 'late' } }),
        409,
        'invalid_transition',
      ],
    ];
    for (const [what, send, status, code] of rejections) {
      expectErrorBody(await send(), status, code, what);
      const after = await projectState(p);
      expect({ what, lastSeq: after.lastSeq }).toEqual({ what, lastSeq: before.lastSeq });
      expect(after.workflows).toEqual(before.workflows);
    }
    expect((await admin.get(`/api/workflows/${wf.id}/logs`)).body).toEqual(logsBefore);

    // the workflow still takes valid writes afterwards, and they get the next seq
    const next = await ok(admin.post(`${w}/steps/b/progress`, { progress: 41 }));
    expect(next.lastSeq).toBe(before.lastSeq + 1);
  });

  it('for every write to a terminal workflow (409 invalid_transition)', async () => {
    for (const end of ['completed', 'failed', 'cancelled'] as const) {
      const p = project(`terminal-${end}`);
      const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
      if (end === 'completed') {
        await ok(admin.post(`/api/workflows/${wf.id}/steps/a/complete`, {}));
        await ok(admin.post(`/api/workflows/${wf.id}/steps/b/skip`, {}));
      } else if (end === 'failed') {
        await ok(admin.post(`/api/workflows/${wf.id}/steps/a/fail`, { error: { message: 'boom' } }));
      } else {
        await ok(admin.post(`/api/workflows/${wf.id}/steps/a/start`, {}));
        await ok(admin.post(`/api/workflows/${wf.id}/cancel`, { reason: 'stop' }));
      }
      const before = await projectState(p);
      expect(before.workflows[0].status).toBe(end);
      const w = `/api/workflows/${wf.id}`;
      for (const [what, path, body] of [
        ['start', `${w}/steps/b/start`, {}],
        ['progress', `${w}/steps/b/progress`, { progress: 50 }],
        ['progress a', `${w}/steps/a/progress`, { progress: 100 }],
        ['complete', `${w}/steps/b/complete`, {}],
        ['fail', `${w}/steps/b/fail`, { error: { message: 'x' } }],
        ['skip', `${w}/steps/b/skip`, {}],
        ['cancel', `${w}/cancel`, {}],
        ['log', `${w}/logs`, { level: 'info', message: 'after the end' }],
      ] as const) {
        expectErrorBody(await admin.post(path, body), 409, 'invalid_transition', `${end}: ${what}`);
      }
      const batch = await admin.post('/api/progress', {
        updates: [{ workflowId: wf.id, stepId: 'b', progress: 50 }],
      });
      expect(batch.body.results).toEqual([
        { ok: false, code: 'invalid_transition', message: expect.any(String) },
      ]);
      // the same create again is still answered with the workflow as it is, without an event
      const again = await admin.post(`/api/projects/${p}/workflows`, {
        id: wf.id,
        type: 't',
        steps: [{ id: 'a' }, { id: 'b' }],
      });
      expect(again.status).toBe(200);
      expect(stable(again.body)).toEqual(before.workflows[0]);
      expect(await projectState(p)).toEqual(before);
    }
  });
});

describe('service endpoints', () => {
  it('GET /health → 200 {"status":"ok"} without a key', async () => {
    const res = await admin.withToken('').get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok' });
  });

  it('GET /metrics serves Prometheus text, counting appended events', async () => {
    const scrape = async () => {
      const res = await admin.withToken('').get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(typeof res.body).toBe('string');
      expect(res.body).toContain('# TYPE stepline_events_appended_total counter');
      const m = /^stepline_events_appended_total (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(res.body as string);
      expect(m).not.toBeNull();
      return Number(m![1]);
    };
    const before = await scrape();
    const p = project('metrics');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] }); // 1 event
    await ok(admin.post(`/api/workflows/${wf.id}/steps/a/complete`, {})); // workflow:started, step:completed, workflow:completed
    expect(await scrape()).toBeGreaterThanOrEqual(before + 4);
  });

  it('GET /api/docs serves the OpenAPI UI', async () => {
    const res = await admin.get('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(String(res.body).toLowerCase()).toContain('swagger');
  });
});
