import type { Socket } from 'socket.io-client';
import { client, Client } from './support/http';
import {
  ack,
  closeAllSockets,
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
import { useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * The opt-in batched delivery of §4 (`subscribe` with `batch: true`): the subscriber gets `events` messages,
 * each an array of envelopes in seq order, instead of one message per event; everyone else keeps one message
 * per event. Real `socket.io-client` sockets against the built server: the same envelopes in the same order
 * as a plain subscriber (mixed in one project), replay then live, a job room on the same socket, switching
 * modes, the slow-consumer bound, and a reset.
 */

let server: RunningServer;
let admin: Client;
let counter = 0;
const project = (name: string) => `rtb-${name}-${++counter}`;

useServer((fx) => ({ server, admin } = fx));

afterEach(() => closeAllSockets());

afterAll(() => closeAllSockets());

async function liveWith(opts: SocketOpts, url = server.url) {
  const socket = openSocket(url, opts);
  const col = new SocketCollector(socket);
  await connectSocket(url, {}, socket);
  return { socket, col };
}

const live = (url = server.url) => liveWith({ token: ADMIN_TOKEN }, url);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function subscribeBatched(socket: Socket, projectId: string, since?: number) {
  const a = await ack(
    socket,
    'subscribe',
    since === undefined ? { projectId, batch: true } : { projectId, since, batch: true },
  );
  expect(a).toEqual({ ok: true, lastSeq: expect.any(Number), replayed: expect.any(Number), batch: true });
  return a as { ok: true; lastSeq: number; replayed: number; batch: true };
}

async function subscribePlain(socket: Socket, projectId: string, since?: number) {
  const a = await ack(socket, 'subscribe', since === undefined ? { projectId } : { projectId, since });
  // the contract's ack, unchanged for a subscriber that did not opt in
  expect(a).toEqual({ ok: true, lastSeq: expect.any(Number), replayed: expect.any(Number) });
  return a as { ok: true; lastSeq: number; replayed: number };
}

/** `n` progress updates spread over a workflow's steps, in one `POST /api/progress` (one commit). */
async function batchWrite(api: Client, wf: string, steps: number, n: number, from = 1) {
  const updates = Array.from({ length: n }, (_, i) => ({
    workflowId: wf,
    stepId: `s${i % steps}`,
    current: from + Math.floor(i / steps),
    total: 100_000,
  }));
  const res = await api.post('/api/progress', { updates });
  expect(res.status).toBe(200);
  expect(res.body.results.filter((r: { ok: boolean }) => !r.ok)).toEqual([]);
}

const steps = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);

describe('subscribe with batch: true', () => {
  it('refuses a batch that is not a boolean, like any bad field', async () => {
    const { socket } = await live();
    for (const batch of ['yes', 1, 'true', {}, []])
      expect(await ack(socket, 'subscribe', { projectId: project('bad'), batch })).toEqual({
        ok: false,
        code: 'validation_failed',
      });
    // batch: false is the default, one message per event
    expect(await ack(socket, 'subscribe', { projectId: project('off'), batch: false })).toEqual({
      ok: true,
      lastSeq: 0,
      replayed: 0,
    });
  });

  it('a batched and a plain subscriber of one project get the same envelopes in the same order', async () => {
    const p = project('mixed');
    const wf = `${p}-big`;
    await createWorkflow(admin, p, wf, steps(10));
    const { socket: b1, col: bc1 } = await live();
    const { socket: pl, col: pc } = await live();
    const { socket: b2, col: bc2 } = await live();
    const start = (await subscribeBatched(b1, p)).lastSeq;
    await subscribePlain(pl, p);
    await subscribeBatched(b2, p);

    // a hot project: four writers one update at a time, and commits of 300 events at once
    const w = await writeConcurrently(admin, p, { writers: 4, total: 200 });
    for (let k = 0; k < 3; k++) await batchWrite(admin, wf, 10, 300, 1 + k * 30);
    await w.done;
    const last = await projectLastSeq(admin, p);
    await settle(admin, p, [bc1, pc, bc2]);

    const log = (await restEvents(admin, p)).filter((e) => e.seq > start && e.seq <= last);
    expect(log.length).toBe(last - start);
    for (const col of [bc1, pc, bc2]) {
      expect(rangeProblems(col.seqs(), start + 1, last)).toEqual([]);
      expect(col.envelopes).toEqual(log);
    }
    // the batched ones got everything in `events` messages, several envelopes to a message when the
    // project was hot (a commit of 300 events), none bigger than the server's bound; the plain one none
    for (const col of [bc1, bc2]) {
      expect(col.unbatched()).toBe(0);
      expect(Math.max(...col.batches)).toBeGreaterThan(1);
      expect(Math.max(...col.batches)).toBeLessThanOrEqual(256);
    }
    expect(pc.batches).toEqual([]);
    expect(pc.received.every((r) => r.name === r.env.type)).toBe(true);
  });

  it('replays with since in batches, then goes live, with no gap and no duplicate while writers write', async () => {
    const p = project('replay');
    const wf = `${p}-big`;
    await createWorkflow(admin, p, wf, steps(10));
    await batchWrite(admin, wf, 10, 1000);
    await batchWrite(admin, wf, 10, 500, 101);
    const w = await writeConcurrently(admin, p, { writers: 4, total: 400 });
    // subscribers join while the writers write: replay from the start, then live
    await waitFor(() => w.written() >= 50, '50 concurrent writes');
    const { socket: bs, col: bc } = await live();
    const { socket: ps, col: pc } = await live();
    const [ba, pa] = await Promise.all([subscribeBatched(bs, p, 0), subscribePlain(ps, p, 0)]);
    expect(ba.replayed).toBeGreaterThan(1500);
    expect(pa.replayed).toBeGreaterThan(1500);
    await w.done;
    const last = await projectLastSeq(admin, p);
    await settle(admin, p, [bc, pc]);

    expect(rangeProblems(bc.seqs(), 1, last)).toEqual([]);
    expect(bc.envelopes).toEqual(pc.envelopes);
    expect(bc.envelopes).toEqual((await restEvents(admin, p)).filter((e) => e.seq <= last));
    expect(bc.unbatched()).toBe(0);
    // the replay came many envelopes to a message: a page of the log (1,000) at a time, in messages of at
    // most 256
    const replayMessages = new Set(bc.received.filter((r) => r.env.seq <= ba.lastSeq).map((r) => r.batch));
    expect(replayMessages.size).toBeLessThanOrEqual(Math.ceil(ba.lastSeq / 1000) * 4);
  });

  it('a socket with a batched project subscription and a job room gets each event of that job once', async () => {
    const p = project('job');
    const a = `${p}-a`;
    const other = `${p}-b`;
    await createWorkflow(admin, p, a);
    await createWorkflow(admin, p, other);
    const { socket, col } = await live();
    expect(await ack(socket, 'join_job', { workflowId: a })).toMatchObject({ ok: true });
    const start = (await subscribeBatched(socket, p)).lastSeq;
    for (let i = 1; i <= 20; i++) {
      await progress(admin, i % 2 ? a : other, 's', { progress: i });
    }
    const last = await projectLastSeq(admin, p);
    await settle(admin, p, [col]);
    expect(rangeProblems(col.seqs(), start + 1, last)).toEqual([]);
    expect(col.unbatched()).toBe(0);

    // and with the job room alone again (the project unsubscribed), its events come one message each
    expect(await ack(socket, 'unsubscribe', { projectId: p })).toEqual({ ok: true });
    col.clear();
    await progress(admin, a, 's', { progress: 50 });
    await settle(admin, p, [col], a);
    expect(col.received.map((r) => [r.env.workflowId, r.env.data.progress, r.batch])).toEqual([
      [a, 50, undefined],
    ]);
  });

  it('switching a subscription between plain and batched replaces it: nothing twice, nothing missed', async () => {
    const p = project('switch');
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf);
    const { socket, col } = await live();
    const start = (await subscribePlain(socket, p)).lastSeq;
    // each step of the switch resumes from the last seq the socket had, as a client would
    await progress(admin, wf, 's', { progress: 1 });
    const l1 = await projectLastSeq(admin, p);
    await col.waitForSeq(l1);
    await subscribeBatched(socket, p, l1);
    await progress(admin, wf, 's', { progress: 2 });
    const l2 = await projectLastSeq(admin, p);
    await col.waitForSeq(l2);
    await subscribePlain(socket, p, l2);
    await progress(admin, wf, 's', { progress: 3 });
    const l3 = await projectLastSeq(admin, p);
    await settle(admin, p, [col]);
    expect(l1).toBeGreaterThan(start);
    expect(l2).toBeGreaterThan(l1);
    expect(l3).toBeGreaterThan(l2);
    expect(col.received.map((r) => [r.env.seq, r.batch === undefined ? 'plain' : 'batched'])).toEqual(
      range(start + 1, l3).map((seq) => [seq, seq > l1 && seq <= l2 ? 'batched' : 'plain']),
    );
  });

  it('a batched socket that does not read is cut off, and a batched socket that reads gets everything', async () => {
    const p = project('slow');
    const wf = `${p}-w`;
    await createWorkflow(admin, p, wf, steps(100));
    const { socket: fast, col: fc } = await live();
    const { socket: slow, col: sc } = await live();
    const since = (await subscribeBatched(fast, p)).lastSeq;
    await subscribeBatched(slow, p);
    const sockets = async () =>
      (await metric(server.url, 'stepline_open_connections', '{kind="socket"}')) ?? 0;
    let openBefore = -1;
    await waitFor(
      async () => {
        const [prev, now] = [openBefore, (openBefore = await sockets())];
        return prev === now;
      },
      'a steady open-socket gauge',
      { intervalMs: 200 },
    );
    (slow.io.engine as any).transport.ws._socket.pause();
    let cut = false;
    for (let k = 0; !cut && k < 50; k++) {
      const updates = Array.from({ length: 500 }, (_, i) => ({
        workflowId: wf,
        stepId: `s${i % 100}`,
        current: k * 5 + Math.floor(i / 100) + 1,
        total: 100_000,
        message: `${k}/${i} `.padEnd(1000, 'x'),
      }));
      const res = await admin.post('/api/progress', { updates });
      expect(res.status).toBe(200);
      cut = (await sockets()) < openBefore;
    }
    if (!cut)
      cut = await waitFor(async () => (await sockets()) < openBefore, 'the slow socket to be cut', {
        timeoutMs: 3_000,
      }).catch(() => false);
    expect(cut).toBe(true);
    const final = await projectLastSeq(admin, p);
    await fc.waitForSeq(final, 30_000);
    expect(rangeProblems(fc.seqs(), since + 1, final)).toEqual([]);
    expect(fc.unbatched()).toBe(0);
    (slow.io.engine as any).transport.ws._socket.resume();
    await waitFor(() => sc.disconnectReason, 'the slow socket to see its disconnect', { timeoutMs: 20_000 });
    expect(sc.disconnectReason).toBe('io server disconnect');
    expect(rangeProblems(sc.seqs(), since + 1, sc.lastSeq())).toEqual([]);
  });
});

describe('batch: true and a reset (since older than the log keeps)', () => {
  let short: RunningServer;
  useServer((fx) => (short = fx.server), { EVENT_RETENTION_HOURS: '0.0005', SWEEP_INTERVAL_MS: '200' });

  it('acks the reset with its snapshot first, then the events after it in batches, as a plain subscriber gets them', async () => {
    const api = client(short.url);
    const p = project('reset');
    const wf = `${p}-w`;
    await createWorkflow(api, p, wf, steps(5));
    for (let v = 10; v <= 50; v += 10) await progress(api, wf, 's0', { progress: v });
    await waitFor(
      async () => (await api.get(`/api/projects/${p}/events?after=0`)).body.reset === true,
      'the events to age out',
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    // writes go on while the subscribers reset: each gets the snapshot, then every event after its lastSeq
    const w = await writeConcurrently(api, p, { writers: 3, total: 150 });
    await waitFor(() => w.written() >= 20, '20 concurrent writes');
    const { socket: bs, col: bc } = await live(short.url);
    const { socket: ps, col: pc } = await live(short.url);
    const order: string[] = [];
    bs.onAny(() => order.push('event'));
    const [ba, pa] = await Promise.all([
      // the ack noted in its callback, as it is decoded (a promise would note it a microtask later, after
      // an `events` message that came in the same read)
      new Promise<Record<string, any>>((resolve) =>
        bs.emit('subscribe', { projectId: p, since: 0, batch: true }, (a: Record<string, any>) => {
          order.push('ack');
          resolve(a);
        }),
      ),
      ack(ps, 'subscribe', { projectId: p, since: 0 }),
    ]);
    expect(ba).toMatchObject({ ok: true, reset: true, replayed: 0, batch: true });
    expect(pa).toMatchObject({ ok: true, reset: true, replayed: 0 });
    expect(pa.batch).toBeUndefined();
    expect(ba.snapshot.workflows.map((x: { id: string }) => x.id)).toContain(wf);
    // nothing came before the reset's ack
    expect(order[0]).toBe('ack');
    await w.done;
    await progress(api, wf, 's0', { progress: 60 });
    const last = await projectLastSeq(api, p);
    await bc.waitForSeq(last);
    await pc.waitForSeq(last);
    expect(rangeProblems(bc.seqs(), ba.lastSeq + 1, last)).toEqual([]);
    expect(rangeProblems(pc.seqs(), pa.lastSeq + 1, last)).toEqual([]);
    // the two agree on everything after the later of their reset points
    const from = Math.max(ba.lastSeq, pa.lastSeq);
    expect(bc.envelopes.filter((e) => e.seq > from)).toEqual(pc.envelopes.filter((e) => e.seq > from));
    expect(bc.unbatched()).toBe(0);
    expect(range(ba.lastSeq + 1, last)).toEqual(bc.seqs());
  });
});
