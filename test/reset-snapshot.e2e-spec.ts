import type { Socket } from 'socket.io-client';
import { Client, pool } from './support/http';
import {
  ack,
  closeAllSockets,
  closeAllStreams,
  connectSocket,
  Envelope,
  openSocket,
  projectLastSeq,
  SocketCollector,
  SseClient,
  waitFor,
} from './support/live-clients';
import { useServer } from './support/fixture';
import { ADMIN_TOKEN, RunningServer } from './support/server';

/**
 * CONTRACT §12: a position older than the log keeps gets a snapshot consistent with the reset's lastSeq,
 * over REST, Socket.IO (subscribe and join_job) and SSE, then the events after it with no gap and no
 * duplicate — also while four writers write (50 resets, each snapshot + its events = the final state).
 * Retention is 1.8 s and the sweep runs every 200 ms, so positions age out quickly.
 */

let server: RunningServer;
let api: Client;
let counter = 0;
const project = (name: string) => `rsn-${name}-${++counter}`;

useServer(
  (f) => {
    ({ server, admin: api } = f);
  },
  { EVENT_RETENTION_HOURS: '0.0005', SWEEP_INTERVAL_MS: '200' },
);

afterEach(() => {
  closeAllSockets();
  closeAllStreams();
});

async function ok(path: string, body: unknown, status = 200): Promise<any> {
  const res = await api.post(path, body);
  if (res.status !== status) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const create = (p: string, id: string, steps = ['a', 'b', 'c']) =>
  ok(`/api/projects/${p}/workflows`, { id, type: 'snap', steps: steps.map((s) => ({ id: s })) }, 201);

async function agedOut(p: string): Promise<void> {
  await waitFor(
    async () => (await api.get(`/api/projects/${p}/events?after=0&limit=1`)).body.reset === true,
    'the first events to age out',
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}

async function getWorkflow(id: string): Promise<any> {
  const res = await api.get(`/api/workflows/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** A workflow as GET answers it, without the ETA's clock-dependent numbers. */
const stable = (wf: any) => ({ ...wf, eta: { basis: wf.eta.basis } });

async function subscribed(p: string, payload: Record<string, unknown>, event = 'subscribe') {
  const socket: Socket = openSocket(server.url, { token: ADMIN_TOKEN });
  const col = new SocketCollector(socket);
  await connectSocket(server.url, {}, socket);
  const a = await ack(socket, event, payload);
  return { socket, col, ack: a, receivedBeforeAck: col.received.length };
}

describe('a reset carries a snapshot (§12)', () => {
  it('REST, subscribe, join_job and SSE: the state at lastSeq, each workflow as GET answers it, then the events after it', async () => {
    const p = project('shape');
    await create(p, `${p}-running`);
    await ok(`/api/workflows/${p}-running/steps/a/progress`, { progress: 30, message: 'a third' });
    await create(p, `${p}-done`, ['x']);
    await ok(`/api/workflows/${p}-done/steps/x/complete`, { result: { n: 1 } });
    await create(p, `${p}-queued`);
    await agedOut(p);
    const lastSeq = await projectLastSeq(api, p);
    const expected = await Promise.all(
      [`${p}-running`, `${p}-queued`, `${p}-done`].map((id) => getWorkflow(id)),
    );

    const rest = (await api.get(`/api/projects/${p}/events?after=0`)).body;
    expect(Object.keys(rest).sort()).toEqual(['items', 'lastSeq', 'reset', 'snapshot']);
    expect(rest).toMatchObject({ items: [], reset: true, lastSeq, snapshot: { truncated: false } });
    expect(rest.snapshot.workflows.map(stable)).toEqual(expect.arrayContaining(expected.map(stable)));
    expect(rest.snapshot.workflows).toHaveLength(3);
    // non-terminal first (updated last first), then the finished
    expect(rest.snapshot.workflows.map((w: any) => w.id)).toEqual([
      `${p}-queued`,
      `${p}-running`,
      `${p}-done`,
    ]);

    const sub = await subscribed(p, { projectId: p, since: 0 });
    expect(sub.ack).toMatchObject({ ok: true, reset: true, lastSeq, snapshot: { truncated: false } });
    expect(sub.ack.snapshot.workflows.map(stable)).toEqual(rest.snapshot.workflows.map(stable));

    const job = await subscribed(p, { workflowId: `${p}-running`, since: 0 }, 'join_job');
    expect(job.ack).toMatchObject({ ok: true, reset: true, lastSeq, snapshot: { truncated: false } });
    expect(job.ack.snapshot.workflows.map(stable)).toEqual([stable(expected[0])]);

    const sse = new SseClient(`${server.url}/api/projects/${p}/status?since=0`, { token: ADMIN_TOKEN });
    await waitFor(() => sse.resets.length === 1, 'the SSE reset frame');
    expect(sse.resets[0].data).toMatchObject({ reset: true, lastSeq, snapshot: { truncated: false } });
    expect(sse.resets[0].data.snapshot.workflows.map(stable)).toEqual(rest.snapshot.workflows.map(stable));

    // then live, from lastSeq + 1, after the snapshot
    await ok(`/api/workflows/${p}-running/steps/a/progress`, { progress: 60 });
    await ok(`/api/workflows/${p}-queued/steps/a/start`, {});
    await sub.col.waitForSeq(lastSeq + 3);
    expect(sub.receivedBeforeAck).toBe(0);
    expect(sub.col.seqs()).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
    await job.col.waitForSeq(lastSeq + 1);
    expect(job.col.seqs()).toEqual([lastSeq + 1]);
    await sse.waitForSeq(lastSeq + 3);
    expect(sse.resets[0].after).toBe(0);
    expect(sse.seqs()).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
    // REST goes on after the snapshot's lastSeq
    const next = (await api.get(`/api/projects/${p}/events?after=${lastSeq}`)).body;
    expect(next.items.map((e: Envelope) => e.seq)).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
  });

  it('a snapshot larger than the slow-consumer bound reaches an SSE reader whole, and the events after it follow', async () => {
    // 11 finished workflows with 4 results of ~240 KB each: a snapshot of about 10 MiB, past the 8 MiB that
    // cuts off a reader who does not keep up (it would reconnect with the same old position: a reset loop)
    const p = project('big');
    const result = { blob: 'r'.repeat(240_000) }; // results are at most 256 KiB each, 1 MiB per workflow
    for (let i = 0; i < 11; i++) {
      await create(p, `${p}-${i}`, ['w', 'x', 'y', 'z']);
      for (const st of ['w', 'x', 'y', 'z'])
        await ok(`/api/workflows/${p}-${i}/steps/${st}/complete`, { result });
    }
    await create(p, `${p}-live`, ['x']);
    await agedOut(p);
    const sse = new SseClient(`${server.url}/api/projects/${p}/status?since=0`, { token: ADMIN_TOKEN });
    // events right behind the snapshot are what a reader still busy with it would be cut off for: write a
    // few while the stream opens and its snapshot is read and sent
    await waitFor(() => sse.requests.length > 0, 'the stream to open');
    for (let v = 1; v <= 10; v++) {
      await ok(`/api/workflows/${p}-live/steps/x/progress`, { progress: v });
      await new Promise((r) => setTimeout(r, 50)); // pacing: spread over the snapshot's read and send
    }
    const last = await projectLastSeq(api, p);
    await sse.waitForSeq(last);
    expect(sse.resets).toHaveLength(1);
    const { lastSeq } = sse.resets[0].data;
    expect(sse.resets[0].data.snapshot.workflows).toHaveLength(12);
    expect(lastSeq).toBeLessThan(last); // some events did follow the snapshot
    expect(sse.seqs()).toEqual(Array.from({ length: last - lastSeq }, (_, i) => lastSeq + 1 + i));
    expect(sse.errors).toEqual([]);
  });

  it('every non-terminal workflow up to 1,000 (then truncated, the ones updated last) and the 100 finished last', async () => {
    const p = project('limits');
    const finished = Array.from({ length: 103 }, (_, i) => `${p}-f${i}`);
    await pool(finished, 8, async (id) => {
      await create(p, id, ['x']);
      await ok(`/api/workflows/${id}/steps/x/complete`, {});
    });
    const active = Array.from({ length: 1001 }, (_, i) => `${p}-a${i}`);
    await pool(active, 16, (id) => create(p, id, ['x']));
    // the oldest active one is written again: now updated last, it must be kept
    await ok(`/api/workflows/${p}-a0/steps/x/progress`, { progress: 5 });
    await agedOut(p);

    const { snapshot } = (await api.get(`/api/projects/${p}/events?after=0`)).body;
    expect(snapshot.truncated).toBe(true);
    const ids: string[] = snapshot.workflows.map((w: any) => w.id);
    const snapActive = ids.filter((id) => id.startsWith(`${p}-a`));
    const snapFinished = ids.filter((id) => id.startsWith(`${p}-f`));
    expect(snapActive).toHaveLength(1000);
    expect(snapActive[0]).toBe(`${p}-a0`);
    // the one left out was updated no later than any kept one
    const out = active.filter((id) => !snapActive.includes(id));
    expect(out).toHaveLength(1);
    const outUpdated = (await getWorkflow(out[0])).updatedAt;
    const keptUpdated = snapshot.workflows.filter((w: any) => !w.finishedAt).map((w: any) => w.updatedAt);
    expect(keptUpdated.filter((u: string) => u < outUpdated)).toEqual([]);
    expect(snapFinished).toHaveLength(100);
    const byFinish = [...snapshot.workflows.filter((w: any) => w.finishedAt)].map((w: any) => w.finishedAt);
    expect(byFinish).toEqual([...byFinish].sort().reverse());
    // three of the finished are left out: the three that finished first
    const leftOut = finished.filter((id) => !snapFinished.includes(id));
    expect(leftOut).toHaveLength(3);
  });
});

/** The state a watcher rebuilds: the snapshot's workflows, then each event applied in seq order. */
interface Rebuilt {
  status: string;
  progress: number;
  attempt: number;
  lastSeq: number;
  steps: Record<
    string,
    { status: string; progress: number; current: number | null; total: number | null; message: string | null }
  >;
}

const fromView = (w: any): Rebuilt => ({
  status: w.status,
  progress: w.progress,
  attempt: w.attempt,
  lastSeq: w.lastSeq,
  steps: Object.fromEntries(
    w.steps.map((s: any) => [
      s.id,
      { status: s.status, progress: s.progress, current: s.current, total: s.total, message: s.message },
    ]),
  ),
});

function apply(state: Map<string, Rebuilt>, e: Envelope): void {
  const id = e.workflowId!;
  if (e.type === 'workflow:created') {
    state.set(id, {
      status: e.data.status,
      progress: e.data.progress,
      attempt: e.attempt,
      lastSeq: e.seq,
      steps: Object.fromEntries(
        e.data.steps.map((s: any) => [
          s.id,
          { status: 'pending', progress: 0, current: null, total: null, message: null },
        ]),
      ),
    });
    return;
  }
  const wf = state.get(id);
  if (!wf)
    throw new Error(
      `event ${e.seq} (${e.type}) for ${id}, which is neither in the snapshot nor created after it`,
    );
  wf.lastSeq = e.seq;
  wf.attempt = e.attempt;
  if (e.stepId && e.type.startsWith('workflow:step:')) {
    const d = e.data;
    wf.steps[e.stepId] = {
      status: d.status,
      progress: d.progress,
      current: d.current,
      total: d.total,
      message: d.message,
    };
    wf.progress = d.workflowProgress;
  } else if (e.type !== 'workflow:log') {
    wf.status = e.data.status;
    wf.progress = e.data.progress;
  }
}

describe('snapshot consistency under concurrent writes (§12)', () => {
  it('50 resets while 4 writers write: every snapshot plus the events after it equals the final state', async () => {
    const p = project('race');
    await create(p, `${p}-seed`, ['x']);
    await agedOut(p);

    let stop = false;
    let made = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        const id = `${p}-w${w}-${n}`;
        await create(p, id);
        made++;
        for (const step of ['a', 'b', 'c']) {
          if (stop && step !== 'a') break; // leave some unfinished
          await ok(`/api/workflows/${id}/steps/${step}/progress`, {
            current: 1,
            total: 2,
            message: `${step} half`,
          });
          if (n % 3 === 0) await ok(`/api/workflows/${id}/logs`, { level: 'info', message: 'note' }, 201);
          await ok(`/api/workflows/${id}/steps/${step}/complete`, {});
        }
      }
    });
    const resets: Awaited<ReturnType<typeof subscribed>>[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        const r = await subscribed(p, { projectId: p, since: 0 });
        expect(r.ack).toMatchObject({ ok: true, reset: true });
        resets.push(r);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(made).toBeGreaterThan(8);
    // the writes went on across the resets: the snapshots are at many different positions
    expect(new Set(resets.map((r) => r.ack.lastSeq)).size).toBeGreaterThan(10);

    const finalSeq = await projectLastSeq(api, p);
    const page = await api.get(`/api/projects/${p}/workflows?limit=200`);
    const final = new Map<string, Rebuilt>();
    for (const w of page.body.items) final.set(w.id, fromView(w));
    expect(page.body.nextCursor).toBeNull();

    for (const r of resets) {
      await r.col.waitForSeq(finalSeq, 20_000);
      const { lastSeq, snapshot } = r.ack;
      // no gap, no duplicate: exactly lastSeq+1 … finalSeq
      expect(r.col.seqs()).toEqual(Array.from({ length: finalSeq - lastSeq }, (_, i) => lastSeq + 1 + i));
      const state = new Map<string, Rebuilt>();
      for (const w of snapshot.workflows) {
        expect(w.lastSeq).toBeLessThanOrEqual(lastSeq);
        state.set(w.id, fromView(w));
      }
      for (const e of r.col.envelopes) apply(state, e);
      for (const [id, wf] of final) {
        // what changed after the snapshot must be in it (or created after it), and end as the server says
        if (wf.lastSeq > lastSeq || state.has(id)) expect({ id, wf: state.get(id) }).toEqual({ id, wf });
      }
    }
  }, 180_000);
});
