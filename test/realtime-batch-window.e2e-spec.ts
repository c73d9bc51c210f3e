import { Client } from './support/http';
import {
  ack,
  closeAllSockets,
  connectSocket,
  createWorkflow,
  openSocket,
  progress,
  restEvents,
  SocketCollector,
  waitFor,
} from './support/live-clients';
import { useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * Opt-in batched delivery on a hot project (SOCKET_BATCH_WINDOW_MS): a project's `events` messages go out at
 * most once per window, so that events committed one at a time, each in its own commit, still share a frame
 * when they come faster than the window; a quiet project's first event is not held. Real sockets against
 * the built server, with the longest window the setting allows (250 ms) that a few sequential POSTs fit into one.
 */

const WINDOW_MS = 250;
let server: RunningServer;
let admin: Client;

useServer((fx) => ({ server, admin } = fx), { SOCKET_BATCH_WINDOW_MS: String(WINDOW_MS) });

afterAll(() => closeAllSockets());

describe('batched delivery on a hot project', () => {
  it("sends a quiet project's first events at once, then at most one message per window, in order, each once", async () => {
    const p = 'rtbw-hot';
    await createWorkflow(admin, p, 'rtbw-wf', ['s']);
    const batched = openSocket(server.url, { token: ADMIN_TOKEN });
    const plain = openSocket(server.url, { token: ADMIN_TOKEN });
    const bc = new SocketCollector(batched);
    const pc = new SocketCollector(plain);
    await connectSocket(server.url, {}, batched);
    await connectSocket(server.url, {}, plain);
    const start = ((await ack(batched, 'subscribe', { projectId: p, batch: true })) as { lastSeq: number })
      .lastSeq;
    await ack(plain, 'subscribe', { projectId: p });

    // arrival time of each events message
    const arrivals: number[] = [];
    batched.on('events', () => arrivals.push(performance.now()));

    // the project is quiet: the first update's events (start and progress, one commit) come in one message
    // without waiting for any window
    const sentAt = performance.now();
    await progress(admin, 'rtbw-wf', 's', { current: 1, total: 10 });
    await waitFor(() => bc.batches.length === 1, 'the first events message');
    const firstAfter = arrivals[0] - sentAt;
    // now it is hot: more updates, each its own POST and commit, one after another from that message on
    for (let current = 2; current <= 6; current++)
      await progress(admin, 'rtbw-wf', 's', { current, total: 10 });
    const log = (await restEvents(admin, p)).filter((e) => e.seq > start);
    await waitFor(() => bc.received.length === log.length, 'every event on the batched socket');
    await waitFor(() => pc.received.length === log.length, 'every event on the plain socket');

    // every event once, in order, on both sockets
    expect(bc.envelopes).toEqual(log);
    expect(pc.envelopes).toEqual(log);
    expect(pc.batches).toEqual([]);
    // the first message was not held for a window
    expect(firstAfter).toBeLessThan(WINDOW_MS);
    // then at most one message per window (a little slack for timers and the loopback) ...
    for (let i = 1; i < arrivals.length; i++)
      expect(arrivals[i] - arrivals[i - 1]).toBeGreaterThan(WINDOW_MS - 100);
    // ... so that the five progress events, from five commits, came in fewer messages than five (they would
    // need five POSTs of more than a window each to come one by one)
    expect(bc.batches.length - 1).toBeLessThan(5);
    expect(bc.received.slice(-5).map((r) => r.env.data.current)).toEqual([2, 3, 4, 5, 6]);
  });
  it('a job catch-up on a batched socket comes after the events the window holds, so no seq goes back', async () => {
    const p = 'rtbw-job';
    await createWorkflow(admin, p, 'rtbw-x', ['s']);
    await createWorkflow(admin, p, 'rtbw-y', ['s']);
    const socket = openSocket(server.url, { token: ADMIN_TOKEN });
    const col = new SocketCollector(socket);
    await connectSocket(server.url, {}, socket);
    await ack(socket, 'subscribe', { projectId: p, batch: true });
    // a quiet project's first events go out at once and open a window ...
    await progress(admin, 'rtbw-x', 's', { current: 1, total: 10 });
    await waitFor(() => col.batches.length === 1, 'the first events message');
    const seen = col.lastSeq();
    // ... in which events of Y, then one of X, are held; then X's job room, with X's events since then
    await progress(admin, 'rtbw-y', 's', { current: 1, total: 10 });
    await progress(admin, 'rtbw-x', 's', { current: 2, total: 10 });
    expect(await ack(socket, 'join_job', { workflowId: 'rtbw-x', since: seen })).toMatchObject({ ok: true });
    const log = await restEvents(admin, p);
    const last = log[log.length - 1].seq;
    await waitFor(
      () => col.has(last) && col.seqs().filter((q) => q === last).length === 2,
      'both copies of the last',
    );
    // X's catch-up repeats X's later event (a second subscription); counted by first arrival, the seqs never go back:
    // a client that drops what is at or below the last seq it saw loses nothing (Y's event held in the window
    // would otherwise arrive after X's later one)
    const firsts: number[] = [];
    for (const q of col.seqs()) if (!firsts.includes(q)) firsts.push(q);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(new Set(firsts)).toEqual(new Set(log.filter((e) => firsts[0] <= e.seq).map((e) => e.seq)));
  });
});
