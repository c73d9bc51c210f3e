import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { client, Client, createKey } from './support/http';
import {
  ack,
  closeAllSockets,
  connectErrorMessage,
  connectSocket,
  createWorkflow,
  metric,
  openSocket,
  progress,
  projectLastSeq,
  rangeProblems,
  restEvents,
  settle,
  SocketCollector,
  SocketOpts,
  waitFor,
  writeConcurrently,
} from './support/live-clients';
import { ServerFixture, useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * CONTRACT §4 over Socket.IO, with real `socket.io-client` sockets against the built server: the handshake,
 * every ack and error, delivery under concurrent writes and reconnects, job rooms, project isolation,
 * revocation (§1), slow consumers, the polling transport, and `reset` when the log has aged out.
 */

let server: RunningServer;
let admin: Client;
let counter = 0;
const project = (name: string) => `rts-${name}-${++counter}`;

useServer((fx) => ({ server, admin } = fx));

afterEach(() => closeAllSockets());

afterAll(() => closeAllSockets());

const ENVELOPE_KEYS = ['at', 'attempt', 'data', 'projectId', 'seq', 'stepId', 'type', 'workflowId'];

/** A connected socket with a collector attached before anything is subscribed. */
async function liveWith(opts: SocketOpts, url = server.url) {
  const socket = openSocket(url, opts);
  const col = new SocketCollector(socket);
  await connectSocket(url, {}, socket);
  return { socket, col };
}

const live = (token = ADMIN_TOKEN) => liveWith({ token });

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function subscribeOk(socket: Socket, projectId: string, since?: number) {
  const a = await ack(socket, 'subscribe', since === undefined ? { projectId } : { projectId, since });
  expect(a).toEqual({ ok: true, lastSeq: expect.any(Number), replayed: expect.any(Number) });
  return a as { ok: true; lastSeq: number; replayed: number };
}

async function newKey(role: 'viewer' | 'producer', projects: string[]): Promise<{ id: string; key: string }> {
  const res = await admin.post('/api/keys', { name: `rts-${role}`, role, projects });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

describe('connecting (§4 handshake)', () => {
  it('refuses no key and a bad key, by auth.token or Authorization header, with connect_error "unauthorized"', async () => {
    expect(await connectErrorMessage(server.url, {})).toBe('unauthorized');
    expect(await connectErrorMessage(server.url, { token: '' })).toBe('unauthorized');
    expect(await connectErrorMessage(server.url, { token: 'not-a-key' })).toBe('unauthorized');
    expect(await connectErrorMessage(server.url, { headerToken: 'not-a-key' })).toBe('unauthorized');
    // the same over the polling transport (the handshake is an HTTP request there)
    expect(await connectErrorMessage(server.url, { transports: ['polling'] })).toBe('unauthorized');
    expect(await connectErrorMessage(server.url, { token: 'nope', transports: ['polling'] })).toBe(
      'unauthorized',
    );
    expect(await connectErrorMessage(server.url, { headerToken: 'nope', transports: ['polling'] })).toBe(
      'unauthorized',
    );
  });

  it('accepts a key by auth.token and by Authorization header, on both transports', async () => {
    const viewer = await createKey(admin, 'viewer', ['*']);
    for (const transports of [['websocket'], ['polling']] as const) {
      const a = await connectSocket(server.url, { token: viewer, transports: [...transports] });
      expect(a.connected).toBe(true);
      const b = await connectSocket(server.url, { headerToken: viewer, transports: [...transports] });
      expect(b.connected).toBe(true);
    }
  });
});

describe('subscribe, unsubscribe and their acks', () => {
  it('acks {ok, lastSeq, replayed}: live only without since, the missed events with since', async () => {
    const p = project('ack');
    await createWorkflow(admin, p, `${p}-w`, ['a', 'b']);
    await progress(admin, `${p}-w`, 'a', { progress: 10 });
    const before = await projectLastSeq(admin, p);
    expect(before).toBeGreaterThanOrEqual(3);

    // without since: nothing replayed, only what comes next
    const { socket: s1, col: c1 } = await live();
    expect(await subscribeOk(s1, p)).toEqual({ ok: true, lastSeq: before, replayed: 0 });
    // with since: everything after it, first
    const { socket: s2, col: c2 } = await live();
    expect(await subscribeOk(s2, p, 1)).toEqual({ ok: true, lastSeq: before, replayed: before - 1 });
    expect(c2.seqs()).toEqual(Array.from({ length: before - 1 }, (_, i) => i + 2));
    // since: 0 on a project nobody wrote to yet, and since beyond the log: both fine, nothing replayed
    const { socket: s3, col: c3 } = await live();
    expect(await subscribeOk(s3, project('empty'), 0)).toEqual({ ok: true, lastSeq: 0, replayed: 0 });
    expect(await subscribeOk(s3, p, before + 100)).toMatchObject({ ok: true, replayed: 0 });

    await progress(admin, `${p}-w`, 'a', { progress: 20 });
    await c1.waitForSeq(before + 1);
    await c2.waitForSeq(before + 1);
    await c3.waitForSeq(before + 1);
    expect(c1.seqs()).toEqual([before + 1]);
    expect(c2.seqs()).toEqual(Array.from({ length: before }, (_, i) => i + 2));
    expect(c3.seqs()).toEqual([before + 1]);
  });

  it('subscribing again to the same project replaces the subscription: no duplicates', async () => {
    const p = project('resub');
    await createWorkflow(admin, p, `${p}-w`);
    await progress(admin, `${p}-w`, 's', { progress: 5 });
    const n = await projectLastSeq(admin, p);
    const { socket, col } = await live();
    expect(await subscribeOk(socket, p)).toEqual({ ok: true, lastSeq: n, replayed: 0 });
    expect(await subscribeOk(socket, p, 0)).toEqual({ ok: true, lastSeq: n, replayed: n });
    expect(await subscribeOk(socket, p, n - 1)).toEqual({ ok: true, lastSeq: n, replayed: 1 });
    await progress(admin, `${p}-w`, 's', { progress: 6 });
    await col.waitForSeq(n + 1);
    await col.settle(admin, p);
    // 1..n (since 0), then n again (since n-1: asked for explicitly), then the live one once
    expect(col.seqs()).toEqual([...range(1, n), n, n + 1]);
  });

  it('answers {ok:false, code:"forbidden"} for a project outside the key', async () => {
    const p = project('mine');
    const other = project('theirs');
    await createWorkflow(admin, other, `${other}-w`);
    const viewer = await createKey(admin, 'viewer', [p]);
    const { socket, col } = await live(viewer);
    expect(await ack(socket, 'subscribe', { projectId: other })).toEqual({ ok: false, code: 'forbidden' });
    expect(await ack(socket, 'subscribe', { projectId: other, since: 0 })).toEqual({
      ok: false,
      code: 'forbidden',
    });
    expect(await ack(socket, 'subscribe', { projectId: project('unknown') })).toEqual({
      ok: false,
      code: 'forbidden',
    });
    expect(await subscribeOk(socket, p)).toEqual({ ok: true, lastSeq: 0, replayed: 0 });
    await col.settle(admin, p);
    expect(col.received).toEqual([]);
  });

  it('answers {ok:false, code:"validation_failed"} for invalid payloads of every message', async () => {
    const p = project('invalid');
    const { socket, col } = await live();
    const invalid: [string, unknown][] = [
      ['subscribe', { projectId: 'bad id!' }],
      ['subscribe', { projectId: '' }],
      ['subscribe', { projectId: 'x'.repeat(65) }],
      ['subscribe', {}],
      ['subscribe', { projectId: p, since: -1 }],
      ['subscribe', { projectId: p, since: 1.5 }],
      ['subscribe', { projectId: p, since: '3' }],
      ['subscribe', { projectId: p, extra: true }],
      ['subscribe', p],
      ['subscribe', [p]],
      ['subscribe', null],
      ['unsubscribe', { projectId: '../x' }],
      ['unsubscribe', { projectId: p, since: 0 }],
      ['join_job', { workflowId: 'no spaces' }],
      ['join_job', { workflowId: 'w', since: -1 }],
      ['join_job', { workflowId: 'w', projectId: p }],
      ['leave_job', {}],
      ['leave_job', { workflowId: 'w', extra: 1 }],
    ];
    for (const [event, payload] of invalid) {
      expect({ event, payload, ack: await ack(socket, event, payload) }).toEqual({
        event,
        payload,
        ack: { ok: false, code: 'validation_failed' },
      });
    }
    // the socket is still fine afterwards
    expect(socket.connected).toBe(true);
    expect(await subscribeOk(socket, p)).toMatchObject({ ok: true });
    expect(col.received).toEqual([]);
  });

  it('unsubscribe acks {ok:true} and stops delivery', async () => {
    const p = project('unsub');
    const wf = `${p}-w`;
    // the sentinel's way to the unsubscribed socket: the job room of another workflow of the project
    const beacon = `${p}-beacon`;
    await createWorkflow(admin, p, wf);
    await createWorkflow(admin, p, beacon);
    const { socket, col } = await live();
    const { socket: control, col: ctl } = await live();
    await subscribeOk(socket, p);
    await subscribeOk(control, p);
    expect(await ack(socket, 'join_job', { workflowId: beacon })).toMatchObject({ ok: true });
    await progress(admin, wf, 's', { progress: 10 });
    const first = await projectLastSeq(admin, p);
    await col.waitForSeq(first);

    expect(await ack(socket, 'unsubscribe', { projectId: p })).toEqual({ ok: true });
    expect(await ack(socket, 'unsubscribe', { projectId: project('never') })).toEqual({ ok: true });
    for (const v of [20, 30, 40]) await progress(admin, wf, 's', { progress: v });
    const last = await projectLastSeq(admin, p);
    await ctl.waitForSeq(last);
    await settle(admin, p, [col, ctl], beacon);
    expect(col.seqs().every((s) => s <= first)).toBe(true);
    expect(ctl.seqs().filter((s) => s > first)).toEqual(
      Array.from({ length: last - first }, (_, i) => first + 1 + i),
    );
  });
});

describe('delivery (§3 envelope, §4 order and no gap)', () => {
  it('emits each event under its type as the event name, the envelope as payload, in seq order, equal to the log', async () => {
    const p = project('envelope');
    const viewer = await createKey(admin, 'viewer', [p]);
    const { socket, col } = await live(viewer);
    await subscribeOk(socket, p);
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf, ['a', 'b', 'c']);
    await admin.post(`/api/workflows/${wf}/steps/a/start`, { message: 'go' });
    await progress(admin, wf, 'a', { current: 3, total: 4, message: 'three of four' });
    await admin.post(`/api/workflows/${wf}/logs`, { level: 'info', message: 'hello', stepId: 'a' });
    await admin.post(`/api/workflows/${wf}/steps/a/complete`, { result: { ok: 1 } });
    await admin.post(`/api/workflows/${wf}/steps/b/skip`, {});
    await admin.post(`/api/workflows/${wf}/steps/c/fail`, { error: { message: 'boom', code: 'E1' } });
    const rest = await restEvents(admin, p);
    await col.waitForSeq(rest[rest.length - 1].seq);
    await col.settle(admin, p);

    expect(col.received.map((r) => r.name)).toEqual(rest.map((e) => e.type));
    for (const r of col.received) {
      expect(r.name).toBe(r.env.type);
      expect(Object.keys(r.env).sort()).toEqual(ENVELOPE_KEYS);
    }
    expect(rangeProblems(col.seqs(), 1, rest.length)).toEqual([]);
    expect(col.envelopes).toEqual(rest);
    expect(new Set(rest.map((e) => e.type))).toEqual(
      new Set([
        'workflow:created',
        'workflow:started',
        'workflow:step:started',
        'workflow:step:progress',
        'workflow:log',
        'workflow:step:completed',
        'workflow:step:skipped',
        'workflow:step:failed',
        'workflow:failed',
      ]),
    );
  });

  it('a subscriber with since, while 4 writers post 500 updates, gets since+1..lastSeq with no gap and no duplicate', async () => {
    const p = project('concurrent');
    const viewer = await createKey(admin, 'viewer', [p]);
    const run = await writeConcurrently(admin, p, { writers: 4, total: 500 });
    const subs: { col: SocketCollector; since: number; ack: { lastSeq: number; replayed: number } }[] = [];
    let writing = true;
    run.done.then(
      () => (writing = false),
      () => (writing = false),
    );
    await waitFor(() => run.written() >= 20, 'the first writes');
    // subscribers keep joining while the writes go on, one after the other, each asking for some history
    const BACK = [1, 25, 5, 100, 2, 60];
    while (writing && subs.length < 40) {
      const head = subs.length ? subs[subs.length - 1].ack.lastSeq : await projectLastSeq(admin, p);
      const since = Math.max(0, head - BACK[subs.length % BACK.length]);
      const { socket, col } = await live(viewer);
      const a = await subscribeOk(socket, p, since);
      // when the ack arrives, everything up to its lastSeq is already there, contiguous from since+1
      expect(rangeProblems(col.seqs().slice(0, a.lastSeq - since), since + 1, a.lastSeq)).toEqual([]);
      expect(a.replayed).toBeGreaterThan(0);
      subs.push({ col, since, ack: a });
    }
    await run.done;
    const final = await projectLastSeq(admin, p);
    expect(final).toBeGreaterThanOrEqual(500);
    const rest = await restEvents(admin, p);
    // the writes went on after these subscribers were caught up: they saw replay and live delivery
    expect(subs.filter((s) => s.ack.lastSeq < final).length).toBeGreaterThanOrEqual(3);
    for (const s of subs) await s.col.waitForSeq(final);
    await settle(
      admin,
      p,
      subs.map((s) => s.col),
    );
    for (const s of subs) {
      expect({ since: s.since, problems: rangeProblems(s.col.seqs(), s.since + 1, final) }).toEqual({
        since: s.since,
        problems: [],
      });
      expect(s.col.envelopes).toEqual(rest.slice(s.since));
    }
  });

  it('a socket that loses its connection mid-stream and resubscribes with since = last seq gets a contiguous union', async () => {
    const p = project('reconnect');
    const viewer = await createKey(admin, 'viewer', [p]);
    await createWorkflow(admin, p, `${p}-first`);
    const socket = openSocket(server.url, { token: viewer, reconnection: true, reconnectionDelay: 300 });
    const col = new SocketCollector(socket);
    const acks: { since: number; ack: Promise<any> }[] = [];
    let connects = 0;
    // what a dashboard does: on every (re)connect, subscribe from the last seq it has
    socket.on('connect', () => {
      connects++;
      const since = col.lastSeq();
      acks.push({ since, ack: ack(socket, 'subscribe', { projectId: p, since }) });
    });
    await connectSocket(server.url, {}, socket);
    const run = await writeConcurrently(admin, p, { writers: 4, total: 500 });
    for (const [after, n] of [
      [120, 2],
      [280, 3],
    ]) {
      await waitFor(() => col.received.length >= after, `${after} events before the drop`);
      // the connection dies under the client, as a network loss would
      (socket.io.engine as any).transport.ws.terminate();
      await waitFor(() => connects >= n, `reconnect #${n - 1}`);
      await acks[acks.length - 1].ack;
    }
    await run.done;
    const final = await projectLastSeq(admin, p);
    await col.waitForSeq(final);
    const rest = await restEvents(admin, p);
    await col.settle(admin, p);

    const results = await Promise.all(acks.map(async (a) => ({ since: a.since, ack: await a.ack })));
    expect(results).toHaveLength(3);
    for (const r of results) expect(r.ack).toMatchObject({ ok: true });
    // it resumed after what it had, and the missed events came as replay
    expect(results[1].since).toBeGreaterThan(0);
    expect(results[2].since).toBeGreaterThan(results[1].since);
    expect(results[1].ack.replayed + results[2].ack.replayed).toBeGreaterThan(0);
    expect(results[1].ack.lastSeq).toBeLessThan(final);
    expect(rangeProblems(col.seqs(), 1, final)).toEqual([]);
    expect(col.envelopes).toEqual(rest);
  });

  it('works over the polling transport: subscribe, replay and live events', async () => {
    const p = project('polling');
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf);
    await progress(admin, wf, 's', { progress: 1 });
    const viewer = await createKey(admin, 'viewer', [p]);
    const { socket, col } = await liveWith({ token: viewer, transports: ['polling'] });
    expect(socket.io.engine.transport.name).toBe('polling');
    const before = await projectLastSeq(admin, p);
    expect(await subscribeOk(socket, p, 0)).toEqual({ ok: true, lastSeq: before, replayed: before });
    for (let v = 2; v <= 30; v++) await progress(admin, wf, 's', { progress: v });
    const last = await projectLastSeq(admin, p);
    await col.waitForSeq(last);
    expect(rangeProblems(col.seqs(), 1, last)).toEqual([]);
    expect(col.received.every((r) => r.name === r.env.type)).toBe(true);
    expect(socket.io.engine.transport.name).toBe('polling');
  });
});

describe('job rooms (join_job / leave_job)', () => {
  it("acks, delivers only that workflow's events, replays with since, and stops on leave_job", async () => {
    const p = project('jobs');
    const w1 = `${p}-one`;
    const w2 = `${p}-two`;
    await createWorkflow(admin, p, w1, ['a', 'b']);
    await createWorkflow(admin, p, w2, ['a', 'b']);
    await progress(admin, w1, 'a', { progress: 10 });
    await progress(admin, w2, 'a', { progress: 10 });
    const viewer = await createKey(admin, 'viewer', [p]);

    const { socket: replaying, col: rc } = await live(viewer);
    const { socket: liveOnly, col: lc } = await live(viewer);
    const { socket: control, col: cc } = await live(viewer);
    await subscribeOk(control, p);
    const w1Before = (await restEvents(admin, p)).filter((e) => e.workflowId === w1);
    const a1 = await ack(replaying, 'join_job', { workflowId: w1, since: 0 });
    expect(a1).toEqual({ ok: true, lastSeq: expect.any(Number), replayed: w1Before.length });
    expect(rc.envelopes).toEqual(w1Before);
    expect(await ack(liveOnly, 'join_job', { workflowId: w1 })).toEqual({
      ok: true,
      lastSeq: expect.any(Number),
      replayed: 0,
    });

    // interleaved writes to both workflows
    for (let v = 20; v <= 60; v += 10) {
      await progress(admin, w1, 'a', { progress: v });
      await progress(admin, w2, 'a', { progress: v });
    }
    await admin.post(`/api/workflows/${w2}/logs`, { level: 'info', message: 'two' });
    await admin.post(`/api/workflows/${w1}/logs`, { level: 'info', message: 'one' });
    const all = await restEvents(admin, p);
    const last = all[all.length - 1].seq;
    await cc.waitForSeq(last);
    await rc.waitForSeq(last);
    await lc.waitForSeq(last);
    await settle(admin, p, [rc, lc, cc], w1);
    const w1All = all.filter((e) => e.workflowId === w1);
    expect(rc.envelopes).toEqual(w1All);
    expect(lc.envelopes).toEqual(w1All.filter((e) => e.seq > w1Before[w1Before.length - 1].seq));
    expect(rc.received.every((r) => r.name === r.env.type)).toBe(true);

    // leave_job: nothing more for that room
    expect(await ack(liveOnly, 'leave_job', { workflowId: w1 })).toEqual({ ok: true });
    expect(await ack(liveOnly, 'leave_job', { workflowId: `${p}-never-joined` })).toEqual({ ok: true });
    const had = lc.received.length;
    await progress(admin, w1, 'a', { progress: 90 });
    const after = await projectLastSeq(admin, p);
    await cc.waitForSeq(after);
    await rc.waitForSeq(after);
    // the sentinel reaches liveOnly through the job room of the other workflow, joined now
    expect(await ack(liveOnly, 'join_job', { workflowId: w2 })).toMatchObject({ ok: true });
    await lc.settle(admin, p, w2);
    expect(lc.received.length).toBe(had);
  });

  it('a socket with both a project subscription and a job room gets each event once', async () => {
    const p = project('both');
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf);
    const { socket, col } = await live();
    await subscribeOk(socket, p);
    expect(await ack(socket, 'join_job', { workflowId: wf })).toMatchObject({ ok: true });
    for (let v = 1; v <= 10; v++) await progress(admin, wf, 's', { progress: v });
    const last = await projectLastSeq(admin, p);
    await col.waitForSeq(last);
    await col.settle(admin, p);
    expect(rangeProblems(col.seqs(), 2, last)).toEqual([]);
  });

  it("a project replay on a socket already in a job room still has that job's earlier events", async () => {
    const p = project('jobfirst');
    const wf = `${p}-w`;
    const other = `${p}-o`;
    await createWorkflow(admin, p, wf);
    await createWorkflow(admin, p, other);
    for (let v = 1; v <= 3; v++) {
      await progress(admin, wf, 's', { progress: v });
      await progress(admin, other, 's', { progress: v });
    }
    const { socket, col } = await live();
    // the job room first, live from now: it does not get the job's events before this point
    expect(await ack(socket, 'join_job', { workflowId: wf })).toMatchObject({ ok: true, replayed: 0 });
    // then the whole project from the start: the job's earlier events must come with the replay
    await subscribeOk(socket, p, 0);
    for (let v = 4; v <= 6; v++) await progress(admin, wf, 's', { progress: v });
    const last = await projectLastSeq(admin, p);
    await col.waitForSeq(last);
    await col.settle(admin, p);
    expect(rangeProblems(col.seqs(), 1, last)).toEqual([]);
  });

  it('join_job of a workflow in another project is not ok and looks like one that does not exist', async () => {
    const mine = project('jmine');
    const theirs = project('jtheirs');
    await createWorkflow(admin, theirs, `${theirs}-secret`);
    await createWorkflow(admin, mine, `${mine}-w`);
    const viewer = await createKey(admin, 'viewer', [mine]);
    const { socket, col } = await live(viewer);
    const { socket: control, col: cc } = await live();
    await subscribeOk(control, theirs);
    const foreign = await ack(socket, 'join_job', { workflowId: `${theirs}-secret` });
    const missing = await ack(socket, 'join_job', { workflowId: `${theirs}-nothing` });
    expect(foreign).toEqual({ ok: false, code: 'not_found' });
    expect(missing).toEqual(foreign);
    expect(await ack(socket, 'join_job', { workflowId: `${theirs}-secret`, since: 0 })).toEqual(foreign);
    await progress(admin, `${theirs}-secret`, 's', { progress: 50 });
    // the event went out to its rooms at once (the control socket has it); then a sentinel in the viewer's
    // own project, through a job room it may join, comes after anything that reached this socket
    await cc.waitForSeq(await projectLastSeq(admin, theirs));
    expect(await ack(socket, 'join_job', { workflowId: `${mine}-w` })).toMatchObject({ ok: true });
    await col.settle(admin, mine, `${mine}-w`);
    expect(col.received).toEqual([]);
  });
});

describe('project isolation', () => {
  it('a viewer of project A receives nothing of project B over several hundred events', async () => {
    const a = project('iso-a');
    const b = project('iso-b');
    const viewerA = await createKey(admin, 'viewer', [a]);
    await createWorkflow(admin, b, `${b}-pre`);
    const { socket, col } = await live(viewerA);
    const { socket: control, col: cb } = await live();
    const sub = await subscribeOk(socket, a);
    expect(await ack(socket, 'subscribe', { projectId: b, since: 0 })).toEqual({
      ok: false,
      code: 'forbidden',
    });
    expect(await ack(socket, 'join_job', { workflowId: `${b}-pre`, since: 0 })).toEqual({
      ok: false,
      code: 'not_found',
    });
    const controlSub = await subscribeOk(control, b);

    const runA = await writeConcurrently(admin, a, { writers: 2, total: 200 });
    const runB = await writeConcurrently(admin, b, { writers: 2, total: 300 });
    await Promise.all([runA.done, runB.done]);
    const lastA = await projectLastSeq(admin, a);
    const lastB = await projectLastSeq(admin, b);
    expect(lastB).toBeGreaterThanOrEqual(300);
    await col.waitForSeq(lastA);
    await cb.waitForSeq(lastB);
    // B's marker first, then A's: a B event leaking to the A socket would be there before A's marker
    await cb.settle(admin, b);
    await col.settle(admin, a);

    expect(col.received.filter((r) => r.env.projectId !== a)).toEqual([]);
    expect(col.received.filter((r) => r.env.workflowId?.startsWith(b))).toEqual([]);
    expect(rangeProblems(col.seqs(), sub.lastSeq + 1, lastA)).toEqual([]);
    // the B events were emitted (the control socket got them all)
    expect(rangeProblems(cb.seqs(), controlSub.lastSeq + 1, lastB)).toEqual([]);
  });
});

describe('revocation (§1)', () => {
  it("closes a revoked key's sockets within 5 s, and it cannot connect again", async () => {
    const p = project('revoke');
    const { id, key } = await newKey('viewer', [p]);
    const { socket: subscribed, col } = await live(key);
    await subscribeOk(subscribed, p);
    const { socket: idle, col: idleCol } = await liveWith({ headerToken: key });
    expect(idle.connected).toBe(true);

    const res = await admin.del(`/api/keys/${id}`);
    expect(res.status).toBe(200);
    await waitFor(() => !subscribed.connected && !idle.connected, 'the revoked sockets to close', {
      timeoutMs: 5_000,
    });
    expect(col.disconnectReason).toBe('io server disconnect');
    expect(idleCol.disconnectReason).toBe('io server disconnect');
    expect(await connectErrorMessage(server.url, { token: key })).toBe('unauthorized');
    expect((await admin.withToken(key).get(`/api/projects/${p}/events`)).status).toBe(401);
  });
});

describe('slow consumers', () => {
  it('cuts off a socket that does not read, keeps memory bounded, and a normal subscriber gets everything', async () => {
    const p = project('slow');
    const wf = `${p}-w`;
    const STEPS = 100;
    await createWorkflow(
      admin,
      p,
      wf,
      Array.from({ length: STEPS }, (_, i) => `s${i}`),
    );
    const { socket: fast, col: fc } = await live();
    const { socket: slow, col: sc } = await live();
    const since = (await subscribeOk(fast, p)).lastSeq;
    await subscribeOk(slow, p);
    const sockets = async () =>
      (await metric(server.url, 'stepline_open_connections', '{kind="socket"}')) ?? 0;
    const rss = async () => (await metric(server.url, 'stepline_process_resident_memory_bytes')) as number;
    // sockets of earlier tests are gone from the gauge: it is steady before we count on it
    let openBefore = -1;
    await waitFor(
      async () => {
        const [prev, now] = [openBefore, (openBefore = await sockets())];
        return prev === now;
      },
      'a steady open-socket gauge',
      { intervalMs: 200 },
    );
    expect(openBefore).toBeGreaterThanOrEqual(2);
    const rssBefore = await rss();
    expect(rssBefore).toBeGreaterThan(0);

    // the slow client stops reading: its TCP window fills, then the server's buffers for it
    (slow.io.engine as any).transport.ws._socket.pause();
    const BATCH = 500;
    const MAX_BATCHES = 50; // 25 000 events of ~1.3 KB: far above any reasonable per-socket bound
    let batches = 0;
    let cut = false;
    while (!cut && batches < MAX_BATCHES) {
      const updates = Array.from({ length: BATCH }, (_, i) => {
        const k = batches * BATCH + i;
        return {
          workflowId: wf,
          stepId: `s${k % STEPS}`,
          current: Math.floor(k / STEPS) + 1,
          total: 100_000,
          message: `${k} `.padEnd(1000, 'x'),
        };
      });
      const res = await admin.post('/api/progress', { updates });
      expect(res.status).toBe(200);
      expect(res.body.results.filter((r: any) => !r.ok)).toEqual([]);
      batches++;
      // the server closes the slow socket: one socket fewer open
      cut = (await sockets()) < openBefore;
    }
    if (!cut)
      cut = await waitFor(async () => (await sockets()) < openBefore, 'the slow socket to be cut', {
        timeoutMs: 3_000,
      }).catch(() => false);
    expect(cut).toBe(true);
    const rssAfter = await rss();
    const final = await projectLastSeq(admin, p);

    // the normal subscriber got every event
    await fc.waitForSeq(final, 30_000);
    expect(rangeProblems(fc.seqs(), since + 1, final)).toEqual([]);
    expect(fast.connected).toBe(true);

    // memory stayed bounded (generous: this is not a timing or tuning test)
    expect((rssAfter - rssBefore) / 1e6).toBeLessThan(200);

    // once it reads again, the slow client learns that the server disconnected it, and it missed events
    (slow.io.engine as any).transport.ws._socket.resume();
    await waitFor(() => sc.disconnectReason, 'the slow socket to see its disconnect', { timeoutMs: 20_000 });
    expect(sc.disconnectReason).toBe('io server disconnect');
    expect(sc.received.length).toBeLessThan(final - since);
    expect(rangeProblems(sc.seqs(), since + 1, sc.lastSeq())).toEqual([]);
  });
});

describe('reset: since older than the log keeps', () => {
  let short: RunningServer;
  useServer((fx) => (short = fx.server), { EVENT_RETENTION_HOURS: '0.0005', SWEEP_INTERVAL_MS: '200' });

  it('acks {ok:true, reset:true, lastSeq} and continues live', async () => {
    const api = client(short.url);
    const p = project('reset');
    const wf = `${p}-w`;
    await createWorkflow(api, p, wf);
    for (let v = 10; v <= 50; v += 10) await progress(api, wf, 's', { progress: v });
    const lastSeq = await projectLastSeq(api, p);
    // retention is 1.8 s and the sweep runs every 200 ms: wait until the log no longer has seq 1
    await waitFor(
      async () => (await api.get(`/api/projects/${p}/events?after=0`)).body.reset === true,
      'the events to age out',
      { timeoutMs: 15_000, intervalMs: 200 },
    );

    const { socket, col } = await liveWith({ token: ADMIN_TOKEN }, short.url);
    const a = await ack(socket, 'subscribe', { projectId: p, since: 0 });
    expect(a).toMatchObject({ ok: true, reset: true, lastSeq });
    expect(
      Object.keys(a).filter((k) => !['ok', 'reset', 'lastSeq', 'replayed', 'snapshot'].includes(k)),
    ).toEqual([]);
    expect(await ack(socket, 'join_job', { workflowId: wf, since: 0 })).toMatchObject({
      ok: true,
      reset: true,
    });
    // a since the log still covers (the last seq) is no reset
    const s2 = await connectSocket(short.url, { token: ADMIN_TOKEN });
    expect(await ack(s2, 'subscribe', { projectId: p, since: lastSeq })).toEqual({
      ok: true,
      lastSeq,
      replayed: 0,
    });

    // after the reset the subscription is live
    await progress(api, wf, 's', { progress: 60 });
    await col.waitForSeq(lastSeq + 1);
    expect(col.seqs()).toEqual([lastSeq + 1]);
    expect(col.received[0].env).toMatchObject({ type: 'workflow:step:progress', workflowId: wf });
    expect(col.received[0].env.data.progress).toBe(60);
  });
});

/**
 * Memory of idle sockets (#19): once connected, a socket keeps none of its handshake's headers, query or
 * `auth` (the key's secret), nor the request it connected with. Seen from inside the real server by a
 * preloaded probe that notes each socket's handshake when it connects and again when it closes.
 */
describe('the handshake once connected', () => {
  const PROBE = join(__dirname, 'support', 'handshake-probe.js');
  let fx: ServerFixture;
  useServer((f) => (fx = f), {}, { start: false });

  interface Report {
    id: string;
    before: { headers: number; query: number; auth: number; request: string };
    after: Record<string, unknown>;
  }
  const reports = (s: RunningServer): Report[] =>
    s
      .output()
      .split('\n')
      .filter((l) => l.startsWith('handshake-probe '))
      .map((l) => JSON.parse(l.slice('handshake-probe '.length)) as Report);

  it('keeps no headers, query, auth, connect or upgrade request, by either transport and either way of passing the key', async () => {
    const s = await fx.start({ nodeArgs: ['-r', PROBE] });
    const p = project('hs');
    const cases: (SocketOpts & { upgrades?: true })[] = [
      { token: ADMIN_TOKEN },
      { headerToken: ADMIN_TOKEN },
      { token: ADMIN_TOKEN, transports: ['polling'] },
      // socket.io-client's default: long-polling first, then an upgrade to websocket (a second request)
      { token: ADMIN_TOKEN, transports: ['polling', 'websocket'], upgrades: true },
    ];
    const ids: string[] = [];
    for (const opts of cases) {
      const socket = await connectSocket(s.url, opts);
      ids.push(socket.id as string);
      if (opts.upgrades) await waitFor(() => socket.io.engine.transport.name === 'websocket', 'the upgrade');
      // the socket still works without them
      expect(await ack(socket, 'subscribe', { projectId: p })).toMatchObject({ ok: true });
      socket.disconnect();
    }
    await waitFor(() => reports(s).length === cases.length, 'each socket to close');
    const byId = new Map(reports(s).map((r) => [r.id, r]));
    ids.forEach((id, i) => {
      const r = byId.get(id);
      // the probe saw the whole handshake at connect: headers, the query's EIO and transport, the request ...
      expect({ case: i, ...r?.before }).toEqual({
        case: i,
        headers: expect.any(Number),
        query: expect.any(Number),
        auth: cases[i].token ? 1 : 0,
        request: 'held',
      });
      expect(r!.before.headers).toBeGreaterThan(2);
      expect(r!.before.query).toBeGreaterThan(1);
      // ... and none of it once the server's connection handler had run (nor, once upgraded, of the upgrade)
      expect({ case: i, ...r!.after }).toEqual({
        case: i,
        headers: 0,
        query: 0,
        auth: 0,
        url: '',
        request: 'none',
        requestHeaders: 0,
        rawHeaders: 0,
        upgradeHeaders: cases[i].upgrades ? 0 : null,
        upgradeRawHeaders: cases[i].upgrades ? 0 : null,
      });
    });
  });
});
