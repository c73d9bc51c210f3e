import { Client, createKey } from './support/http';
import {
  closeAllStreams,
  createWorkflow,
  EVENT_TYPES,
  progress,
  projectLastSeq,
  rangeProblems,
  rawStream,
  restEvents,
  settle,
  SseClient,
  sseFrames,
  waitFor,
  writeConcurrently,
  writeMarker,
} from './support/live-clients';
import { useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * CONTRACT §4, Server-Sent Events: `GET /api/projects/:projectId/status`, with the `eventsource` package's
 * EventSource and a raw streaming reader: auth (header and ?access_token=), errors, the frames, resume
 * after Last-Event-ID or ?since= with no gap and no duplicate under concurrent writes, isolation, and
 * revocation (§1).
 */

let server: RunningServer;
let admin: Client;
let counter = 0;
const project = (name: string) => `rtsse-${name}-${++counter}`;
const statusUrl = (projectId: string, query = '') => `${server.url}/api/projects/${projectId}/status${query}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

useServer((fx) => ({ server, admin } = fx));

afterEach(() => closeAllStreams());

afterAll(() => closeAllStreams());

function expectJsonError(
  res: { status: number; headers: Headers; json: () => any },
  status: number,
  code: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.json()).toMatchObject({
    statusCode: status,
    code,
    error: expect.any(String),
    message: expect.any(String),
  });
}

/** A raw stream's whole (JSON) body, once the server has finished it. */
async function finished(url: string, headers: Record<string, string> = {}) {
  const res = await rawStream(url, headers);
  await waitFor(() => res.ended(), `the response of ${url}`);
  return res;
}

describe('auth and errors', () => {
  it('streams with a key in the Authorization header or in ?access_token=', async () => {
    const p = project('auth');
    const viewer = await createKey(admin, 'viewer', [p]);
    for (const [url, headers] of [
      [statusUrl(p), bearer(viewer)],
      [statusUrl(p, `?access_token=${viewer}`), {}],
    ] as const) {
      const res = await rawStream(url, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('cache-control')).toMatch(/no-cache/);
      await waitFor(() => res.text().includes('retry: 2000'), 'the first frame');
      res.close();
    }
  });

  it('answers 401 without a key or with a bad one, 403 for a project outside the key, as JSON errors', async () => {
    const mine = project('mine');
    const theirs = project('theirs');
    await createWorkflow(admin, theirs, `${theirs}-w`);
    const viewer = await createKey(admin, 'viewer', [mine]);
    expectJsonError(await finished(statusUrl(mine)), 401, 'unauthorized');
    expectJsonError(await finished(statusUrl(mine), bearer('not-a-key')), 401, 'unauthorized');
    expectJsonError(await finished(statusUrl(mine, '?access_token=not-a-key')), 401, 'unauthorized');
    expectJsonError(await finished(statusUrl(mine, '?access_token=')), 401, 'unauthorized');
    expectJsonError(await finished(statusUrl(theirs), bearer(viewer)), 403, 'forbidden');
    expectJsonError(await finished(statusUrl(theirs, `?access_token=${viewer}`)), 403, 'forbidden');
    expectJsonError(await finished(statusUrl(project('unknown')), bearer(viewer)), 403, 'forbidden');
  });

  it('rejects a malformed since or Last-Event-ID with 400 validation_failed', async () => {
    const p = project('bad-since');
    for (const [query, headers] of [
      ['?since=-1', {}],
      ['?since=abc', {}],
      ['?since=1.5', {}],
      ['', { 'last-event-id': 'abc' }],
      ['', { 'last-event-id': '-3' }],
    ] as const) {
      const res = await finished(statusUrl(p, query), { ...bearer(ADMIN_TOKEN), ...headers });
      expectJsonError(res, 400, 'validation_failed');
    }
  });

  it('an EventSource refused with 401 or 403 gives up (no retry loop)', async () => {
    const p = project('es-refused');
    const viewer = await createKey(admin, 'viewer', [project('other')]);
    const noKey = new SseClient(statusUrl(p));
    const forbidden = new SseClient(statusUrl(p), { token: viewer });
    await waitFor(() => noKey.es.readyState === noKey.es.CLOSED, 'the 401 EventSource to close');
    await waitFor(() => forbidden.es.readyState === forbidden.es.CLOSED, 'the 403 EventSource to close');
    expect(noKey.errors.map((e) => e.code)).toEqual([401]);
    expect(forbidden.errors.map((e) => e.code)).toEqual([403]);
    expect(noKey.opens + forbidden.opens).toBe(0);
  });
});

describe('frames', () => {
  it('starts with retry: 2000, then one id/event/data frame per event with the envelope', async () => {
    const p = project('frames');
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf, ['a', 'b']);
    await progress(admin, wf, 'a', { progress: 30, message: 'line one' });
    await admin.post(`/api/workflows/${wf}/logs`, {
      level: 'info',
      message: 'multi\nline\nlog',
      stepId: 'a',
    });
    const res = await rawStream(statusUrl(p, '?since=0'), bearer(ADMIN_TOKEN));
    expect(res.status).toBe(200);
    // a live one after the replay
    await admin.post(`/api/workflows/${wf}/steps/a/complete`, { result: { n: 1 } });
    const rest = await restEvents(admin, p);
    const last = rest[rest.length - 1].seq;
    await waitFor(() => res.text().includes(`id: ${last}\n`), `frame ${last}`);
    // the sentinel: a marker frame; every frame sent before it is in the text once it is
    const marker = await writeMarker(admin, p);
    const isMarker = (f: string[]) =>
      f.some((l) => {
        try {
          return l.startsWith('data: ') && marker.matches(JSON.parse(l.slice('data: '.length)));
        } catch {
          return false; // not all there yet
        }
      });
    await waitFor(() => sseFrames(res.text()).some(isMarker), 'the marker frame');

    const frames = sseFrames(res.text()).filter((f) => !isMarker(f));
    expect(frames[0]).toEqual(['retry: 2000']);
    const events = frames.slice(1).filter((f) => !f[0].startsWith(':'));
    expect(events).toHaveLength(rest.length);
    events.forEach((f, i) => {
      const e = rest[i];
      expect(f).toEqual([`id: ${e.seq}`, `event: ${e.type}`, expect.stringMatching(/^data: \{/)]);
      expect(JSON.parse(f[2].slice('data: '.length))).toEqual(e);
    });
    expect(rest.map((e) => e.type)).toContain('workflow:log');
  });

  it('the EventSource sees each event under its type, with id = seq and the envelope as data; live only without Last-Event-ID', async () => {
    const p = project('es');
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf, ['a', 'b']);
    await progress(admin, wf, 'a', { progress: 10 });
    const before = await projectLastSeq(admin, p);
    const viewer = await createKey(admin, 'viewer', [p]);
    const es = new SseClient(statusUrl(p), { token: viewer });
    await es.waitOpen();
    const marker = await es.settle(admin, p);
    expect(es.events).toEqual([]);

    await admin.post(`/api/workflows/${wf}/steps/a/complete`, {});
    await admin.post(`/api/workflows/${wf}/steps/b/skip`, {});
    const rest = (await restEvents(admin, p, before)).filter((e) => !marker.matches(e));
    const last = rest[rest.length - 1].seq;
    await es.waitForSeq(last);
    await es.settle(admin, p);
    expect(es.events).toEqual(rest);
    expect(es.names).toEqual(rest.map((e) => e.type));
    expect(es.ids).toEqual(rest.map((e) => String(e.seq)));
    expect(es.names.every((n) => (EVENT_TYPES as readonly string[]).includes(n))).toBe(true);
    expect(es.names).toContain('workflow:completed');
  });
});

describe('resume with no gap and no duplicate', () => {
  it('streams opened with Last-Event-ID or ?since= while 4 writers post 500 updates get since+1..lastSeq', async () => {
    const p = project('concurrent');
    const viewer = await createKey(admin, 'viewer', [p]);
    const run = await writeConcurrently(admin, p, { writers: 4, total: 500 });
    let writing = true;
    run.done.then(
      () => (writing = false),
      () => (writing = false),
    );
    await waitFor(() => run.written() >= 20, 'the first writes');
    const streams: { es: SseClient; since: number; how: string }[] = [];
    const BACK = [1, 30, 4, 120, 9, 60];
    // streams keep opening while the writes go on, half resuming by Last-Event-ID, half by ?since=
    while (writing && streams.length < 24) {
      const since = Math.max(0, (await projectLastSeq(admin, p)) - BACK[streams.length % BACK.length]);
      const byHeader = streams.length % 2 === 0;
      const es = byHeader
        ? new SseClient(statusUrl(p), { token: viewer, lastEventId: String(since) })
        : new SseClient(statusUrl(p, `?since=${since}&access_token=${viewer}`));
      streams.push({ es, since, how: byHeader ? 'Last-Event-ID' : '?since=' });
      await es.waitOpen();
    }
    await run.done;
    const final = await projectLastSeq(admin, p);
    expect(final).toBeGreaterThanOrEqual(500);
    expect(streams.length).toBeGreaterThanOrEqual(3);
    const rest = await restEvents(admin, p);
    for (const s of streams) await s.es.waitForSeq(final);
    await settle(
      admin,
      p,
      streams.map((s) => s.es),
    );
    for (const s of streams) {
      expect({
        how: s.how,
        since: s.since,
        problems: rangeProblems(s.es.seqs(), s.since + 1, final),
      }).toEqual({
        how: s.how,
        since: s.since,
        problems: [],
      });
      expect(s.es.events).toEqual(rest.slice(s.since));
      expect(s.es.requests).toHaveLength(1);
    }
    // at least some of them were opened before the writes were over
    expect(streams.filter((s) => s.since + 1 < final - 100).length).toBeGreaterThanOrEqual(2);
  });

  it('an EventSource whose connection drops mid-stream reconnects with Last-Event-ID: the union is contiguous', async () => {
    const p = project('drop');
    const viewer = await createKey(admin, 'viewer', [p]);
    await createWorkflow(admin, p, `${p}-first`);
    // one resumes by header, one was opened with ?since=0 (its reconnect carries both: Last-Event-ID wins)
    const byHeader = new SseClient(statusUrl(p), { token: viewer, lastEventId: '0' });
    const bySince = new SseClient(statusUrl(p, `?since=0&access_token=${viewer}`));
    await byHeader.waitOpen();
    await bySince.waitOpen();
    const run = await writeConcurrently(admin, p, { writers: 4, total: 500 });
    await waitFor(() => byHeader.events.length >= 100 && bySince.events.length >= 100, '100 events each');
    const dropped = [byHeader.lastSeq(), bySince.lastSeq()];
    byHeader.dropConnection();
    bySince.dropConnection();
    await waitFor(() => byHeader.requests.length === 2 && bySince.requests.length === 2, 'the reconnects', {
      timeoutMs: 10_000,
    });
    await run.done;
    const final = await projectLastSeq(admin, p);
    await byHeader.waitForSeq(final);
    await bySince.waitForSeq(final);
    const rest = await restEvents(admin, p);
    await settle(admin, p, [byHeader, bySince]);

    for (const [i, es] of [byHeader, bySince].entries()) {
      // the EventSource itself resumed after the last id it had seen
      expect(es.errors.length).toBeGreaterThanOrEqual(1);
      expect(Number(es.requests[1]['Last-Event-ID'])).toBeGreaterThanOrEqual(dropped[i]);
      expect(rangeProblems(es.seqs(), 1, final)).toEqual([]);
      expect(es.events).toEqual(rest);
      expect(es.es.readyState).toBe(es.es.OPEN);
    }
  });
});

describe('isolation', () => {
  it('a stream of project A carries nothing of project B', async () => {
    const a = project('iso-a');
    const b = project('iso-b');
    const viewerA = await createKey(admin, 'viewer', [a]);
    const es = new SseClient(statusUrl(a), { token: viewerA });
    const control = new SseClient(statusUrl(b), { token: ADMIN_TOKEN });
    await es.waitOpen();
    await control.waitOpen();
    const runA = await writeConcurrently(admin, a, { writers: 2, total: 100 });
    const runB = await writeConcurrently(admin, b, { writers: 2, total: 200 });
    await Promise.all([runA.done, runB.done]);
    const lastA = await projectLastSeq(admin, a);
    const lastB = await projectLastSeq(admin, b);
    await es.waitForSeq(lastA);
    await control.waitForSeq(lastB);
    // B's marker first, then A's: a B event leaking to the A stream would be there before A's marker
    await control.settle(admin, b);
    await es.settle(admin, a);
    expect(es.events.filter((e) => e.projectId !== a)).toEqual([]);
    expect(rangeProblems(es.seqs(), 1, lastA)).toEqual([]);
    expect(rangeProblems(control.seqs(), 1, lastB)).toEqual([]);
  });
});

describe('revocation (§1)', () => {
  it("closes a revoked key's streams within 5 s; the EventSource then gets 401 and stops", async () => {
    const p = project('revoke');
    const created = await admin.post('/api/keys', { name: 'sse-revoke', role: 'viewer', projects: [p] });
    expect(created.status).toBe(201);
    const { id, key } = created.body;
    const es = new SseClient(statusUrl(p), { token: key });
    const raw = await rawStream(statusUrl(p, `?access_token=${key}`));
    expect(raw.status).toBe(200);
    await es.waitOpen();
    await waitFor(() => raw.text().includes('retry:'), 'the raw stream to start');

    expect((await admin.del(`/api/keys/${id}`)).status).toBe(200);
    await waitFor(() => raw.ended() && es.errors.length > 0, 'the revoked streams to close', {
      timeoutMs: 5_000,
    });
    // the EventSource retries after `retry` (2 s) and is refused for good
    await waitFor(() => es.es.readyState === es.es.CLOSED, 'the EventSource to give up', {
      timeoutMs: 10_000,
    });
    expect(es.errors[es.errors.length - 1].code).toBe(401);
    expectJsonError(await finished(statusUrl(p), bearer(key)), 401, 'unauthorized');
  });
});
