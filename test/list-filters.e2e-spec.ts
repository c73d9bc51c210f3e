import { Stepline } from '@stepline/client';
import { Client, client, createKey, expectStatus } from './support/http';
import { waitFor } from './support/live-clients';
import { useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * What the dashboard's filters and step timeline read, beyond the contract (README, "Where the contract was
 * silent"): `GET /api/projects/:p/workflows` narrowed by `search` (a part of the id or the name, any case,
 * `%` and `_` literal), `typePrefix` and a creation window (`createdFrom` inclusive, `createdTo` exclusive),
 * with the keyset cursor still right; and `GET /api/projects/:p/step-durations?type=` (median, p90 and slow
 * threshold of each step over the type's newest 20 completed runs). Also through `@stepline/client`.
 */

let server: RunningServer;
let api: Client;
let counter = 0;
const project = (name: string) => `lf-${name}-${++counter}`;

useServer((f) => {
  ({ server, admin: api } = f);
});

async function create(p: string, body: Record<string, unknown>): Promise<any> {
  const res = await api.post(`/api/projects/${p}/workflows`, body);
  expectStatus(res, 201);
  return res.body;
}

const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((w) => w.id);

describe('listing workflows with search, type prefix and a creation window', () => {
  it('search matches a part of the id or the name in any case, with % and _ taken literally', async () => {
    const p = project('search');
    await create(p, {
      id: 'invoice-2026-001',
      type: 'billing.run',
      name: 'Monthly invoices',
      steps: [{ id: 'a' }],
    });
    await create(p, {
      id: 'report-7',
      type: 'billing.report',
      name: 'Quarterly REPORT 50%',
      steps: [{ id: 'a' }],
    });
    await create(p, { id: 'sync_users', type: 'sync', name: null, steps: [{ id: 'a' }] });
    await create(p, { id: 'syncXusers', type: 'sync', steps: [{ id: 'a' }] });
    const list = (q: string) => api.get(`/api/projects/${p}/workflows?${q}`);

    expect(ids(await list('search=INVOICE'))).toEqual(['invoice-2026-001']); // id, any case
    expect(ids(await list('search=quarterly%20report'))).toEqual(['report-7']); // name, any case
    expect(ids(await list(`search=${encodeURIComponent('50%')}`))).toEqual(['report-7']);
    expect(ids(await list(`search=${encodeURIComponent('%')}`))).toEqual(['report-7']); // not "anything"
    expect(ids(await list('search=c_u'))).toEqual(['sync_users']); // _ is not "any character"
    expect(ids(await list('search=nothing-like-this'))).toEqual([]);
    // combined with status and type filters
    expect(ids(await list('search=sync&type=sync&status=queued'))).toEqual(['syncXusers', 'sync_users']);
  });

  it('typePrefix keeps the types that start with it; a creation window keeps [createdFrom, createdTo)', async () => {
    const p = project('prefix');
    const a = await create(p, { id: 'a', type: 'billing.run', steps: [{ id: 's' }] });
    // the next workflow is created in a later millisecond, so the window can tell them apart
    while (Date.now() <= Date.parse(a.createdAt)) await new Promise((r) => setImmediate(r));
    const b = await create(p, { id: 'b', type: 'billing.report', steps: [{ id: 's' }] });
    while (Date.now() <= Date.parse(b.createdAt)) await new Promise((r) => setImmediate(r));
    const c = await create(p, { id: 'c', type: 'bill', steps: [{ id: 's' }] });
    const list = (q: string) => api.get(`/api/projects/${p}/workflows?${q}`);

    expect(ids(await list('typePrefix=billing.'))).toEqual(['b', 'a']);
    expect(ids(await list('typePrefix=bill'))).toEqual(['c', 'b', 'a']);
    expect(ids(await list('typePrefix=billing.r'))).toEqual(['b', 'a']);
    expect(ids(await list('typePrefix=billing.rep'))).toEqual(['b']);

    const at = (w: any) => encodeURIComponent(w.createdAt);
    expect(ids(await list(`createdFrom=${at(b)}`))).toEqual(['c', 'b']);
    expect(ids(await list(`createdTo=${at(b)}`))).toEqual(['a']);
    expect(ids(await list(`createdFrom=${at(b)}&createdTo=${at(c)}`))).toEqual(['b']);
    expect(ids(await list(`createdFrom=${at(c)}&createdTo=${at(a)}`))).toEqual([]);

    // the cursor pages through the narrowed list only
    const first = await list('typePrefix=billing&limit=1');
    expect(ids(first)).toEqual(['b']);
    const second = await list(
      `typePrefix=billing&limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    expect(ids(second)).toEqual(['a']);
    expect(second.body.nextCursor).toBeNull();

    // the client passes the same filters
    const sl = new Stepline({ baseUrl: server.url, token: ADMIN_TOKEN });
    const page = await sl.listWorkflows(p, {
      typePrefix: 'billing',
      createdFrom: new Date(Date.parse(b.createdAt)),
    });
    expect(page.items.map((w) => w.id)).toEqual(['b']);
    expect((await sl.listWorkflows(p, { search: 'C' })).items.map((w) => w.id)).toEqual(['c']);
  });

  it('queue keeps the workflows created on that queue (with the other filters and the cursor); a bad name is a 400', async () => {
    const p = project('queue');
    await create(p, { id: 'q1', type: 'job', queue: 'lf-a', steps: [{ id: 's' }] });
    await create(p, { id: 'q2', type: 'job', queue: 'lf-b', steps: [{ id: 's' }] });
    await create(p, { id: 'q3', type: 'job', queue: 'lf-a', steps: [{ id: 's' }] });
    await create(p, { id: 'q4', type: 'job', steps: [{ id: 's' }] });
    const list = (q: string) => api.get(`/api/projects/${p}/workflows?${q}`);

    expect(ids(await list('queue=lf-a'))).toEqual(['q3', 'q1']);
    expect(ids(await list('queue=lf-b'))).toEqual(['q2']);
    expect(ids(await list('queue=lf-none'))).toEqual([]);
    expect(ids(await list('queue=lf-a&search=q1'))).toEqual(['q1']);
    const first = await list('queue=lf-a&limit=1');
    expect(ids(first)).toEqual(['q3']);
    const second = await list(`queue=lf-a&limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(ids(second)).toEqual(['q1']);
    expect(second.body.nextCursor).toBeNull();
    const bad = await list('queue=%20bad');
    expectStatus(bad, 400);
    expect(bad.body.code).toBe('validation_failed');

    const sl = new Stepline({ baseUrl: server.url, token: ADMIN_TOKEN });
    expect((await sl.listWorkflows(p, { queue: 'lf-b' })).items.map((w) => w.id)).toEqual(['q2']);
  });

  it('bad filter values are refused with the field named, and nothing else is answered', async () => {
    const p = project('bad');
    await create(p, { id: 'x', type: 't', steps: [{ id: 's' }] });
    const cases: [string, string][] = [
      [`search=${'s'.repeat(101)}`, 'search'],
      ['search=', 'search'],
      ['typePrefix=-bad', 'typePrefix'],
      [`typePrefix=${'t'.repeat(65)}`, 'typePrefix'],
      ['createdFrom=yesterday', 'createdFrom'],
      ['createdTo=2026-13-45T00:00:00Z', 'createdTo'],
      [`createdFrom=2026-12-05T00:00:00Z${'0'.repeat(40)}`, 'createdFrom'],
    ];
    for (const [q, field] of cases) {
      const res = await api.get(`/api/projects/${p}/workflows?${q}`);
      expect({ q, status: res.status, code: res.body.code }).toEqual({
        q,
        status: 400,
        code: 'validation_failed',
      });
      expect({ q, fields: res.body.details.map((d: any) => d.field) }).toEqual({ q, fields: [field] });
    }
  });
});

describe('step durations of a workflow type', () => {
  it('median, p90 and the slow threshold of each step over the completed runs, in step order', async () => {
    const p = project('durations');
    const empty = await api.get(`/api/projects/${p}/step-durations?type=etl`);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ type: 'etl', runs: 0, steps: [] });

    const done: any[] = [];
    for (let i = 0; i < 6; i++) {
      const wf = await create(p, { id: `run-${i}`, type: 'etl', steps: [{ id: 'extract' }, { id: 'load' }] });
      await api.post(`/api/workflows/${wf.id}/steps/extract/start`, {});
      // a little work per step, different per run
      for (let k = 0; k < 3 + i; k++) await api.get(`/api/workflows/${wf.id}`);
      await api.post(`/api/workflows/${wf.id}/steps/extract/complete`, {});
      await api.post(`/api/workflows/${wf.id}/steps/load/start`, {});
      const last = await api.post(`/api/workflows/${wf.id}/steps/load/complete`, {});
      expectStatus(last, 200);
      expect(last.body.status).toBe('completed');
      done.push(last.body);
    }
    // a run of another type and an unfinished run of this one count for nothing
    await create(p, { id: 'other', type: 'etl2', steps: [{ id: 'extract' }] });
    await create(p, { id: 'running', type: 'etl', steps: [{ id: 'extract' }, { id: 'load' }] });

    const res = await waitFor(async () => {
      const r = await api.get(`/api/projects/${p}/step-durations?type=etl`);
      return r.status === 200 && r.body.runs === 6 ? r : undefined;
    }, 'the six runs recorded');

    const expected = (stepId: string) => {
      const list = done
        .map((wf) => wf.steps.find((s: any) => s.id === stepId).durationMs)
        .sort((x, y) => x - y);
      const q = (f: number) => {
        const pos = (list.length - 1) * f;
        const lo = Math.floor(pos);
        return list[lo] + (list[Math.min(lo + 1, list.length - 1)] - list[lo]) * (pos - lo);
      };
      return { stepId, runs: 6, medianMs: Math.round(q(0.5)), p90Ms: Math.round(q(0.9)) };
    };
    expect(res.body.type).toBe('etl');
    expect(res.body.steps.map((s: any) => s.stepId)).toEqual(['extract', 'load']);
    for (const step of res.body.steps) {
      const { slowAfterMs, ...figures } = step;
      expect(figures).toEqual(expected(step.stepId));
      // §13: max(p95, 1.5 × median), known from 5 runs on
      expect(slowAfterMs).toBeGreaterThanOrEqual(Math.round(1.5 * figures.medianMs) - 1);
    }

    // through the client
    const sl = new Stepline({ baseUrl: server.url, token: ADMIN_TOKEN });
    expect(await sl.stepDurations(p, 'etl')).toEqual(res.body);
  });

  it('needs a valid type and read access to the project', async () => {
    const p = project('durations-access');
    const missing = await api.get(`/api/projects/${p}/step-durations`);
    expect({ status: missing.status, code: missing.body.code }).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    expect(missing.body.details.map((d: any) => d.field)).toEqual(['type']);
    const bad = await api.get(`/api/projects/${p}/step-durations?type=${encodeURIComponent('a b')}`);
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'validation_failed' });
    const viewer = client(server.url, await createKey(api, 'viewer', [project('elsewhere')]));
    const denied = await viewer.get(`/api/projects/${p}/step-durations?type=etl`);
    expect({ status: denied.status, code: denied.body.code }).toEqual({ status: 403, code: 'forbidden' });
  });
});
