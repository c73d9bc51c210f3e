import { Client, createKey } from './support/http';
import { useServer } from './support/fixture';

/** CONTRACT §1: keys, roles, project scope, and existence that never leaks across projects. */

let admin: Client;
let counter = 0;
const project = (name: string) => `auth-${name}-${++counter}`;

useServer((fx) => (admin = fx.admin));

function expectError(res: { status: number; body: any }, status: number, code: string, what = ''): void {
  expect({ what, status: res.status, code: res.body?.code }).toEqual({ what, status, code });
  expect(res.body).toMatchObject({
    statusCode: status,
    code,
    error: expect.any(String),
    message: expect.any(String),
  });
}

function stable(wf: any): any {
  const { eta: _eta, ...rest } = wf;
  return rest;
}

async function lastSeq(projectId: string): Promise<number> {
  const res = await admin.get(`/api/projects/${projectId}/events`);
  expect(res.status).toBe(200);
  return res.body.lastSeq;
}

async function create(projectId: string, body: Record<string, unknown>, as: Client = admin): Promise<any> {
  const res = await as.post(`/api/projects/${projectId}/workflows`, body);
  expect(res.status).toBe(201);
  return res.body;
}

async function getAsAdmin(id: string): Promise<any> {
  const res = await admin.get(`/api/workflows/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Every write a producer can make to one workflow, with a valid body. */
const writesTo = (id: string): [string, string, unknown][] => [
  ['start', `/api/workflows/${id}/steps/a/start`, {}],
  ['progress', `/api/workflows/${id}/steps/a/progress`, { progress: 10 }],
  ['complete', `/api/workflows/${id}/steps/a/complete`, { result: 1 }],
  ['fail', `/api/workflows/${id}/steps/a/fail`, { error: { message: 'x' } }],
  ['skip', `/api/workflows/${id}/steps/a/skip`, {}],
  ['cancel', `/api/workflows/${id}/cancel`, {}],
  ['log', `/api/workflows/${id}/logs`, { level: 'info', message: 'hello' }],
  ['batch', `/api/progress`, { updates: [{ workflowId: id, stepId: 'a', progress: 10 }] }],
];

describe('authentication (401)', () => {
  it('refuses a missing, unknown or malformed key with 401 unauthorized on every /api route', async () => {
    const p = project('401');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] });
    // '' and not undefined: an undefined token falls back to the admin token by default
    const anonymous = admin.withToken('');
    const unknown = admin.withToken('stl_not-a-real-key');
    const paths: [string, string, unknown?][] = [
      ['GET', '/api/projects'],
      ['GET', `/api/projects/${p}/workflows`],
      ['GET', `/api/projects/${p}/events`],
      ['GET', `/api/workflows/${wf.id}`],
      ['GET', `/api/workflows/${wf.id}/logs`],
      ['GET', '/api/keys'],
      ['POST', '/api/keys', { name: 'x', role: 'viewer', projects: ['*'] }],
      ['POST', `/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 'a' }] }],
      ...writesTo(wf.id).map(([, path, body]): [string, string, unknown] => ['POST', path, body]),
    ];
    for (const c of [anonymous, unknown]) {
      for (const [method, path, body] of paths) {
        const res = await c.request(method, path, body);
        expectError(res, 401, 'unauthorized', `${method} ${path}`);
        expect(res.body.error).toBe('Unauthorized');
      }
    }
    for (const header of ['Basic dGVzdDp0ZXN0', 'Bearer', `Token ${'x'.repeat(20)}`]) {
      const res = await anonymous.request('GET', '/api/projects', undefined, { authorization: header });
      expectError(res, 401, 'unauthorized', header);
    }
    expect(await lastSeq(p)).toBe(1);
    expect(stable(await getAsAdmin(wf.id))).toEqual(stable(wf));
  });
});

describe('keys (admin)', () => {
  it('creates a key (201, secret shown once), lists keys without secrets, and revokes: the next request gets 401', async () => {
    const p = project('keys');
    const created = await admin.post('/api/keys', { name: 'ingest worker', role: 'producer', projects: [p] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      name: 'ingest worker',
      role: 'producer',
      projects: [p],
    });
    expect(typeof created.body.key).toBe('string');
    expect(created.body.key.length).toBeGreaterThanOrEqual(16);
    const secret: string = created.body.key;
    const producer = admin.withToken(secret);

    const list = await admin.get('/api/keys');
    expect(list.status).toBe(200);
    const mine = list.body.items.find((k: any) => k.id === created.body.id);
    expect(mine).toMatchObject({
      id: created.body.id,
      name: 'ingest worker',
      role: 'producer',
      projects: [p],
    });
    expect(mine).not.toHaveProperty('key');
    expect(JSON.stringify(list.body)).not.toContain(secret);
    for (const k of list.body.items) expect(k).not.toHaveProperty('key');

    // the key works until it is revoked
    expect((await producer.get('/api/projects')).status).toBe(200);
    await create(p, { type: 't', steps: [{ id: 'a' }] }, producer);

    const revoked = await admin.del(`/api/keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expectError(await producer.get('/api/projects'), 401, 'unauthorized');
    expectError(
      await producer.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 'a' }] }),
      401,
      'unauthorized',
    );
    expect((await admin.get('/api/keys')).body.items.map((k: any) => k.id)).not.toContain(created.body.id);
    expect(await lastSeq(p)).toBe(1);

    // revoking it again, or an id that never existed: 404
    expectError(await admin.del(`/api/keys/${created.body.id}`), 404, 'not_found');
    expectError(await admin.del('/api/keys/no-such-key'), 404, 'not_found');
  });

  it('each key has its own secret', async () => {
    const a = await createKey(admin, 'viewer', ['*']);
    const b = await createKey(admin, 'viewer', ['*']);
    expect(a).not.toBe(b);
  });

  it.each([
    ['role admin', { name: 'x', role: 'admin', projects: ['p'] }, 'role'],
    ['unknown role', { name: 'x', role: 'owner', projects: ['p'] }, 'role'],
    ['no projects', { name: 'x', role: 'viewer', projects: [] }, 'projects'],
    ['projects not a list', { name: 'x', role: 'viewer', projects: 'p' }, 'projects'],
    ['a project that is not an id', { name: 'x', role: 'viewer', projects: ['bad id'] }, 'projects'],
    ['missing name', { role: 'viewer', projects: ['p'] }, 'name'],
    ['unknown field', { name: 'x', role: 'viewer', projects: ['p'], admin: true }, 'admin'],
  ])('rejects a key with %s: 400 validation_failed', async (_name, body, field) => {
    const before = (await admin.get('/api/keys')).body.items.length;
    const res = await admin.post('/api/keys', body);
    expectError(res, 400, 'validation_failed');
    expect(res.body.details.map((d: any) => d.field)).toContain(field);
    expect((await admin.get('/api/keys')).body.items).toHaveLength(before);
  });

  it('only the admin manages keys: producer and viewer keys get 403 forbidden', async () => {
    const producer = admin.withToken(await createKey(admin, 'producer', ['*']));
    const viewer = admin.withToken(await createKey(admin, 'viewer', ['*']));
    const target = (await admin.post('/api/keys', { name: 'target', role: 'viewer', projects: ['x'] })).body;
    const before = (await admin.get('/api/keys')).body.items.length;
    for (const c of [producer, viewer]) {
      expectError(await c.get('/api/keys'), 403, 'forbidden');
      expectError(
        await c.post('/api/keys', { name: 'sneaky', role: 'producer', projects: ['*'] }),
        403,
        'forbidden',
      );
      expectError(await c.del(`/api/keys/${target.id}`), 403, 'forbidden');
    }
    expect((await admin.get('/api/keys')).body.items).toHaveLength(before);
    expect((await admin.withToken(target.key).get('/api/projects')).status).toBe(200);
  });

  it('GET /api/keys/me tells any key its own role and projects, and nothing else', async () => {
    const p = project('me');
    const created = (await admin.post('/api/keys', { name: 'me-viewer', role: 'viewer', projects: [p] }))
      .body;
    const viewer = admin.withToken(created.key);
    expect((await viewer.get('/api/keys/me')).body).toEqual({
      id: created.id,
      role: 'viewer',
      projects: [p],
    });
    const producer = admin.withToken(await createKey(admin, 'producer', ['*']));
    expect((await producer.get('/api/keys/me')).body).toMatchObject({ role: 'producer', projects: ['*'] });
    expect((await admin.get('/api/keys/me')).body).toMatchObject({ role: 'admin', projects: ['*'] });
    expectError(await admin.withToken('').get('/api/keys/me'), 401, 'unauthorized');
    // still only the admin can revoke: "me" is not taken for a key id
    expectError(await viewer.del('/api/keys/me'), 403, 'forbidden');
  });
});

describe('roles (403)', () => {
  it('a viewer reads its projects but every write is 403 forbidden and writes nothing', async () => {
    const p = project('viewer');
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    const log = await admin.post(`/api/workflows/${wf.id}/logs`, { level: 'info', message: 'hi' });
    expect(log.status).toBe(201);
    const viewer = admin.withToken(await createKey(admin, 'viewer', [p]));

    expect(stable((await viewer.get(`/api/workflows/${wf.id}`)).body)).toEqual(
      stable(await getAsAdmin(wf.id)),
    );
    expect((await viewer.get(`/api/projects/${p}/workflows`)).body.items.map((w: any) => w.id)).toEqual([
      wf.id,
    ]);
    const events = await viewer.get(`/api/projects/${p}/events`);
    expect(events.status).toBe(200);
    expect(events.body.lastSeq).toBe(2);
    expect((await viewer.get(`/api/workflows/${wf.id}/logs`)).body.items).toHaveLength(1);
    expect((await viewer.get('/api/projects')).body.items.map((i: any) => i.id)).toEqual([p]);

    const seq = await lastSeq(p);
    const before = await getAsAdmin(wf.id);
    expectError(
      await viewer.post(`/api/projects/${p}/workflows`, { type: 't', steps: [{ id: 'a' }] }),
      403,
      'forbidden',
    );
    for (const [what, path, body] of writesTo(wf.id))
      expectError(await viewer.post(path, body), 403, 'forbidden', what);
    expect(await lastSeq(p)).toBe(seq);
    expect(stable(await getAsAdmin(wf.id))).toEqual(stable(before));
    expect((await admin.get(`/api/projects/${p}/workflows`)).body.items).toHaveLength(1);
  });

  it('a producer reads and writes in its projects', async () => {
    const p = project('producer');
    const producer = admin.withToken(await createKey(admin, 'producer', [p]));
    const wf = await create(p, { type: 't', steps: [{ id: 'a' }] }, producer);
    expect((await producer.post(`/api/workflows/${wf.id}/steps/a/progress`, { progress: 50 })).status).toBe(
      200,
    );
    expect(
      (await producer.post(`/api/workflows/${wf.id}/logs`, { level: 'info', message: 'm' })).status,
    ).toBe(201);
    const batch = await producer.post('/api/progress', {
      updates: [{ workflowId: wf.id, stepId: 'a', progress: 60 }],
    });
    expect(batch.body).toEqual({ results: [{ ok: true }] });
    const done = await producer.post(`/api/workflows/${wf.id}/steps/a/complete`, {});
    expect(done.body.status).toBe('completed');
    expect((await producer.get(`/api/projects/${p}/events`)).body.lastSeq).toBe(done.body.lastSeq);
  });
});

describe('project scope', () => {
  it('a path naming a project outside the key’s projects → 403 forbidden', async () => {
    const mine = project('scope-mine');
    const other = project('scope-other');
    await create(other, { type: 't', steps: [{ id: 'a' }] });
    const producer = admin.withToken(await createKey(admin, 'producer', [mine]));
    const viewer = admin.withToken(await createKey(admin, 'viewer', [mine]));
    const seq = await lastSeq(other);
    for (const c of [producer, viewer]) {
      expectError(await c.get(`/api/projects/${other}/workflows`), 403, 'forbidden', 'list');
      expectError(await c.get(`/api/projects/${other}/events`), 403, 'forbidden', 'events');
    }
    expectError(
      await producer.post(`/api/projects/${other}/workflows`, { type: 't', steps: [{ id: 'a' }] }),
      403,
      'forbidden',
    );
    // a project nobody has written yet is no different
    expectError(
      await producer.post(`/api/projects/${project('scope-new')}/workflows`, {
        type: 't',
        steps: [{ id: 'a' }],
      }),
      403,
      'forbidden',
    );
    expect(await lastSeq(other)).toBe(seq);
    expect((await admin.get(`/api/projects/${other}/workflows`)).body.items).toHaveLength(1);
    // GET /api/projects lists only the key's own projects
    expect((await producer.get('/api/projects')).body.items.map((i: any) => i.id)).toEqual([mine]);
  });

  it('a workflow that exists only in another project → 404 not_found, exactly like one that does not exist', async () => {
    const mine = project('leak-mine');
    const other = project('leak-other');
    const theirs = await create(other, { id: `hidden-${counter}`, type: 't', steps: [{ id: 'a' }] });
    const ghost = `ghost-${counter}`;
    const producer = admin.withToken(await createKey(admin, 'producer', [mine]));
    const viewer = admin.withToken(await createKey(admin, 'viewer', [mine]));
    const seq = await lastSeq(other);

    for (const c of [producer, viewer]) {
      const hidden = await c.get(`/api/workflows/${theirs.id}`);
      const missing = await c.get(`/api/workflows/${ghost}`);
      expectError(hidden, 404, 'not_found', 'GET');
      expect(missing.status).toBe(404);
      expect(hidden.body.message.replace(theirs.id, 'X')).toBe(missing.body.message.replace(ghost, 'X'));
      expectError(await c.get(`/api/workflows/${theirs.id}/logs`), 404, 'not_found', 'GET logs');
    }
    for (const [what, path, body] of writesTo(theirs.id)) {
      const res = await producer.post(path, body);
      if (what === 'batch') {
        expect(res.status).toBe(200);
        expect(res.body.results).toEqual([{ ok: false, code: 'not_found', message: expect.any(String) }]);
        continue;
      }
      expectError(res, 404, 'not_found', what);
      const [, ghostPath, ghostBody] = writesTo(ghost).find(([w]) => w === what)!;
      const missing = await producer.post(ghostPath, ghostBody);
      expect(missing.status).toBe(404);
      expect(res.body.message.replace(theirs.id, 'X')).toBe(missing.body.message.replace(ghost, 'X'));
    }
    expect(await lastSeq(other)).toBe(seq);
    expect(stable(await getAsAdmin(theirs.id))).toEqual(stable(theirs));
  });

  it('a batch mixing its own and another project’s workflows applies only its own', async () => {
    const mine = project('batch-mine');
    const other = project('batch-other');
    const own = await create(mine, { type: 't', steps: [{ id: 'a' }] });
    const theirs = await create(other, { type: 't', steps: [{ id: 'a' }] });
    const producer = admin.withToken(await createKey(admin, 'producer', [mine]));
    const res = await producer.post('/api/progress', {
      updates: [
        { workflowId: theirs.id, stepId: 'a', progress: 30 },
        { workflowId: own.id, stepId: 'a', progress: 30 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { ok: false, code: 'not_found', message: expect.any(String) },
      { ok: true },
    ]);
    expect((await getAsAdmin(own.id)).steps[0].progress).toBe(30);
    expect(stable(await getAsAdmin(theirs.id))).toEqual(stable(theirs));
    expect(await lastSeq(other)).toBe(1);
  });

  it('["*"] reaches every project, for a producer (read and write) and a viewer (read only)', async () => {
    const p1 = project('star-a');
    const p2 = project('star-b');
    const producer = admin.withToken(await createKey(admin, 'producer', ['*']));
    const viewer = admin.withToken(await createKey(admin, 'viewer', ['*']));
    const w1 = await create(p1, { type: 't', steps: [{ id: 'a' }] }, producer);
    const w2 = await create(p2, { type: 't', steps: [{ id: 'a' }] }, producer);
    expect((await producer.post(`/api/workflows/${w2.id}/steps/a/start`, {})).status).toBe(200);

    for (const c of [producer, viewer]) {
      expect((await c.get(`/api/workflows/${w1.id}`)).status).toBe(200);
      expect((await c.get(`/api/projects/${p2}/events`)).body.lastSeq).toBe(3);
      const projects = (await c.get('/api/projects')).body.items.map((i: any) => i.id);
      expect(projects).toEqual(expect.arrayContaining([p1, p2]));
    }
    expectError(await viewer.post(`/api/workflows/${w1.id}/steps/a/start`, {}), 403, 'forbidden');
    expectError(
      await viewer.post(`/api/projects/${p1}/workflows`, { type: 't', steps: [{ id: 'a' }] }),
      403,
      'forbidden',
    );
    expect(await lastSeq(p1)).toBe(1);
  });
});
