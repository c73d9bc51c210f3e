import {
  applyEvent,
  Stepline,
  type Eta,
  type Snapshot,
  type SteplineEvent,
  type Watch,
  type WatchOptions,
  type WatchStatus,
  type Workflow,
} from '@stepline/client';
import * as parser from 'socket.io-parser';
import { useServer, type ServerFixture } from './support/fixture';
import { Client, createKey, expectStatus } from './support/http';
import { rangeProblems, waitFor } from './support/live-clients';
import { ADMIN_TOKEN } from './support/server';

/**
 * CONTRACT §16, watchers: `sl.watch(projectId, …)` delivers every event once, in seq order, from `since`,
 * across a SIGKILL and restart of the server while a producer writes through the client; and a resume point
 * older than the log keeps ends in `onReset(snapshot)` and goes on after its `lastSeq`.
 */

/** Every watch a test opens is closed after it, even when the test fails (an open socket keeps jest alive). */
const open: Watch[] = [];
function watching(client: Stepline, projectId: string, opts: WatchOptions): Watch {
  const w = client.watch(projectId, opts);
  open.push(w);
  return w;
}
afterEach(() => open.splice(0).forEach((w) => w.close()));

async function allEvents(sl: Stepline, projectId: string): Promise<SteplineEvent[]> {
  const out: SteplineEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await sl.events(projectId, after, 1000);
    out.push(...page.items);
    if (page.items.length < 1000) return out;
    after = page.items[page.items.length - 1].seq;
  }
}

function collector() {
  const events: SteplineEvent[] = [];
  const statuses: WatchStatus[] = [];
  return {
    events,
    statuses,
    onEvent: (e: SteplineEvent) => events.push(e),
    onStatus: (s: WatchStatus) => statuses.push(s),
  };
}

describe('@stepline/client watchers (§16)', () => {
  let sl: Stepline;
  let admin: Client;
  let url: string;
  useServer((fx) => {
    url = fx.server.url;
    admin = fx.admin;
    sl = new Stepline({ baseUrl: url, token: ADMIN_TOKEN });
  });

  it('from since: every event once and in order, the replay then live ones; lastSeq follows', async () => {
    const wf = await sl.createWorkflow('w1', { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    await wf.step('a').start();
    await wf.step('a').progress({ progress: 30 });
    const c = collector();
    const watch = watching(sl, 'w1', { since: 0, ...c });
    try {
      await waitFor(() => c.events.length === 4, 'the replay');
      expect(watch.status).toBe('live');
      await wf.step('a').complete();
      await wf.step('b').skip();
      await waitFor(() => c.events.length === 7, 'the live events');
      expect(c.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(c.events.map((e) => e.type)).toEqual([
        'workflow:created',
        'workflow:started',
        'workflow:step:started',
        'workflow:step:progress',
        'workflow:step:completed',
        'workflow:step:skipped',
        'workflow:completed',
      ]);
      expect(watch.lastSeq).toBe(7);
      expect(c.events).toEqual(await allEvents(sl, 'w1'));
      expect(c.statuses).toEqual(['live']);
    } finally {
      watch.close();
    }
    expect(watch.status).toBe('closed');
  });

  it('without since: live events only, from the subscription on', async () => {
    const wf = await sl.createWorkflow('w2', { type: 't', steps: [{ id: 'a' }] });
    const c = collector();
    const watch = watching(sl, 'w2', c);
    await waitFor(() => watch.status === 'live', 'live');
    expect(watch.lastSeq).toBe(1);
    await wf.step('a').start();
    await waitFor(() => c.events.length === 2, 'events');
    watch.close();
    expect(c.events.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('workflowId: one workflow’s events only (join_job), from its since', async () => {
    const a = await sl.createWorkflow('w3', { type: 't', steps: [{ id: 's' }] });
    const b = await sl.createWorkflow('w3', { type: 't', steps: [{ id: 's' }] });
    await a.step('s').start();
    await b.step('s').start();
    const c = collector();
    const watch = watching(sl, 'w3', { workflowId: b.id, since: 0, ...c });
    await a.step('s').complete();
    await b.step('s').complete();
    await waitFor(() => c.events.some((e) => e.type === 'workflow:completed'), 'b to complete');
    watch.close();
    expect(new Set(c.events.map((e) => e.workflowId))).toEqual(new Set([b.id]));
    expect(c.events.map((e) => e.type)).toEqual([
      'workflow:created',
      'workflow:started',
      'workflow:step:started',
      'workflow:step:completed',
      'workflow:completed',
    ]);
  });

  it('a since ahead of the server’s log (another database): onReset(empty, 0), then the whole log from 1', async () => {
    // the log already holds a workflow's events: they are replayed, not folded into a snapshot
    const before = await sl.createWorkflow('w-ahead', { type: 't', steps: [{ id: 'a' }] });
    const resets: { snapshot: Snapshot; lastSeq: number }[] = [];
    const c = collector();
    const watch = watching(sl, 'w-ahead', {
      since: 50,
      onReset: (snapshot, lastSeq) => resets.push({ snapshot, lastSeq }),
      ...c,
    });
    try {
      await waitFor(() => c.events.length === 1, 'the replay');
      expect(resets).toEqual([{ snapshot: { workflows: [], truncated: false }, lastSeq: 0 }]);
      const wf = await sl.createWorkflow('w-ahead', { type: 't', steps: [{ id: 'a' }] });
      await wf.step('a').start();
      await waitFor(() => c.events.length === 4, 'the events');
    } finally {
      watch.close();
    }
    expect(c.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(c.events[0]).toMatchObject({ type: 'workflow:created', workflowId: before.id });
  });

  it('applyEvent keeps a queued workflow’s queueWaitMs from its read (events carry null) until it starts', async () => {
    // a claimed workflow gives the queue a claim rate, so the one queued behind it gets an estimated wait
    await sl.createWorkflow('w-eta', { type: 't', queue: 'w-eta-q', steps: [{ id: 's' }] });
    expectStatus(await admin.post('/api/queues/w-eta-q/claim', { workerId: 'w', waitMs: 1000 }), 200);
    const wf = await sl.createWorkflow('w-eta', {
      type: 't',
      queue: 'w-eta-q',
      steps: [{ id: 'a' }, { id: 'b' }],
    });
    const read = await waitFor(async () => {
      const x = await wf.get();
      return x.eta.queueWaitMs !== null ? x : undefined;
    }, 'a queued read with a wait');
    expect(read.status).toBe('queued');
    // a worker claims it (its writes need the lease), skips a step (it stays queued), starts the other
    const claim = await admin.post('/api/queues/w-eta-q/claim', { workerId: 'w', waitMs: 1000 });
    expectStatus(claim, 200);
    expect(claim.body.workflow.id).toBe(wf.id);
    const lease = { 'x-lease-token': claim.body.leaseToken };
    expectStatus(await admin.post(`/api/workflows/${wf.id}/steps/a/skip`, {}, lease), 200);
    expectStatus(await admin.post(`/api/workflows/${wf.id}/steps/b/start`, {}, lease), 200);
    const events = (await sl.events('w-eta', read.lastSeq, 100)).items.filter((e) => e.workflowId === wf.id);
    expect(events.map((e) => e.type)).toEqual([
      'workflow:step:skipped',
      'workflow:started',
      'workflow:step:started',
    ]);
    expect(events.map((e) => (e.data as { eta: Eta }).eta.queueWaitMs)).toEqual([null, null, null]);
    const skipped = applyEvent(read, events[0])!;
    expect(skipped.status).toBe('queued');
    expect(skipped.eta.queueWaitMs).toBe(read.eta.queueWaitMs);
    const started = events.slice(1).reduce((w, e) => applyEvent(w, e)!, skipped);
    expect(started.status).toBe('running');
    expect(started.eta.queueWaitMs).toBeNull();
  });

  it('a busy project: the default watch asks for batched delivery and sees what a batch: false watch sees', async () => {
    // a socket.io-parser decoder that notes each message's name: what came on the wire, batched or not
    const names = (seen: string[]) => ({
      parser: {
        Encoder: parser.Encoder,
        Decoder: class extends parser.Decoder {
          constructor() {
            super();
            this.on('decoded', (p: { type: parser.PacketType; data?: unknown[] }) => {
              if (p.type === parser.PacketType.EVENT) seen.push(String(p.data?.[0]));
            });
          }
        },
      },
    });
    const batchedWire: string[] = [];
    const plainWire: string[] = [];
    const batched = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, socket: names(batchedWire) });
    const plain = new Stepline({ baseUrl: url, token: ADMIN_TOKEN, socket: names(plainWire) });
    const wf = await sl.createWorkflow('w-batch', { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    const cb = collector();
    const cp = collector();
    const wb = watching(batched, 'w-batch', { since: 0, ...cb });
    const wp = watching(plain, 'w-batch', { since: 0, batch: false, ...cp });
    await waitFor(() => wb.status === 'live' && wp.status === 'live', 'both live');
    // one commit of 200 events, and single writes
    const updates = Array.from({ length: 200 }, (_, i) => ({
      workflowId: wf.id,
      stepId: i % 2 ? 'a' : 'b',
      current: Math.floor(i / 2) + 1,
      total: 1000,
    }));
    expectStatus(await admin.post('/api/progress', { updates }), 200);
    await wf.step('a').progress({ current: 500, total: 1000 });
    const last = (await sl.events('w-batch', 0, 1)).lastSeq;
    await waitFor(() => wb.lastSeq === last && wp.lastSeq === last, 'both to reach the last event');
    expect(
      rangeProblems(
        cb.events.map((e) => e.seq),
        1,
        last,
      ),
    ).toEqual([]);
    expect(cb.events).toEqual(cp.events);
    expect(cb.events).toEqual(await allEvents(sl, 'w-batch'));
    // on the wire: `events` messages for the default watch (fewer than the events), one per event otherwise
    expect(batchedWire.length).toBeGreaterThan(0);
    expect(new Set(batchedWire)).toEqual(new Set(['events']));
    expect(batchedWire.length).toBeLessThan(last / 10);
    expect(plainWire.length).toBe(last);
    expect(plainWire).not.toContain('events');
  });

  it('a project the key may not read: offline with the forbidden code; a bad key: offline, unauthorized', async () => {
    const other = new Stepline({ baseUrl: url, token: await createKey(admin, 'viewer', ['elsewhere']) });
    const seen: { status: WatchStatus; code?: string }[] = [];
    const watch = watching(other, 'w1', {
      onEvent: () => undefined,
      onStatus: (status, err) => seen.push({ status, code: err?.code }),
    });
    await waitFor(() => seen.some((s) => s.status === 'offline'), 'offline');
    watch.close();
    expect(seen).toContainEqual({ status: 'offline', code: 'forbidden' });

    const bad = new Stepline({ baseUrl: url, token: 'nope' });
    const seen2: { status: WatchStatus; code?: string }[] = [];
    const watch2 = watching(bad, 'w1', {
      onEvent: () => undefined,
      onStatus: (status, err) => seen2.push({ status, code: err?.code }),
    });
    await waitFor(() => seen2.length > 0, 'offline');
    watch2.close();
    expect(seen2[0]).toEqual({ status: 'offline', code: 'unauthorized' });
  });
});

describe('@stepline/client across a SIGKILL and restart of the server (§16)', () => {
  let fx: ServerFixture;
  useServer((f) => (fx = f));

  it('a producer and a watcher run through it: nothing committed twice, the watcher’s seqs contiguous', async () => {
    const sl = new Stepline({ baseUrl: fx.server.url, token: ADMIN_TOKEN, retry: { maxDelayMs: 500 } });
    const watched: SteplineEvent[] = [];
    const statuses: WatchStatus[] = [];
    const watch = watching(sl, 'crash', {
      since: 0,
      onEvent: (e) => watched.push(e),
      onStatus: (s) => statuses.push(s),
    });

    const STEPS = 40;
    let stop = false;
    const produced: { id: string; results: Workflow[] }[] = [];
    const producer = (async () => {
      while (!stop) {
        const wf = await sl.createWorkflow('crash', { type: 'crash', steps: [{ id: 'a' }, { id: 'b' }] });
        const calls: Promise<Workflow>[] = [wf.step('a').start()];
        for (let i = 1; i <= STEPS; i++) calls.push(wf.step('a').progress({ current: i, total: STEPS }));
        calls.push(wf.step('a').complete(), wf.log({ level: 'info', message: `done ${wf.id}` }));
        calls.push(wf.step('b').complete());
        produced.push({ id: wf.id, results: await Promise.all(calls) });
      }
    })();

    await waitFor(() => produced.length >= 5, 'the producer to get going', { timeoutMs: 20_000 });
    await fx.server.kill();
    const killedAt = produced.length;
    await fx.restart({ crash: true }); // the same port and database
    await waitFor(() => produced.length >= killedAt + 5, 'the producer to go on after the restart', {
      timeoutMs: 30_000,
    });
    stop = true;
    await producer;

    const log = await allEvents(sl, 'crash');
    const lastSeq = log[log.length - 1].seq;
    await waitFor(() => watch.lastSeq === lastSeq, 'the watcher to catch up', { timeoutMs: 15_000 });
    watch.close();

    // the watcher: 1..lastSeq, each once, in order, and exactly the log
    expect(
      rangeProblems(
        watched.map((e) => e.seq),
        1,
        lastSeq,
      ),
    ).toEqual([]);
    expect(watched).toEqual(log);
    expect(statuses).toContain('reconnecting');

    // nothing committed twice: per workflow, one event per call, in call order
    for (const { id } of produced) {
      const mine = log.filter((e) => e.workflowId === id);
      const currents = mine.flatMap((e) => (e.type === 'workflow:step:progress' ? [e.data.current] : []));
      expect(currents).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
      const count = (t: string) => mine.filter((e) => e.type === t).length;
      expect([count('workflow:created'), count('workflow:step:started'), count('workflow:log')]).toEqual([
        1, 2, 1,
      ]);
      expect([count('workflow:step:completed'), count('workflow:completed')]).toEqual([2, 1]);
    }
    console.log(
      `SIGKILL: ${produced.length} workflows, ${lastSeq} events, watcher statuses ${statuses.join(',')}`,
    );
  });
});

describe('@stepline/client watch reset (§12)', () => {
  let sl: Stepline;
  // events are kept 1.8 s and trimmed every 200 ms
  useServer((fx) => (sl = new Stepline({ baseUrl: fx.server.url, token: ADMIN_TOKEN })), {
    EVENT_RETENTION_HOURS: '0.0005',
    SWEEP_INTERVAL_MS: '200',
  });

  it('a since older than the log keeps: onReset(snapshot), then events after its lastSeq', async () => {
    const wf = await sl.createWorkflow('r', { type: 't', steps: [{ id: 'a' }, { id: 'b' }] });
    await wf.step('a').start();
    await wf.step('a').progress({ progress: 40 });
    await waitFor(async () => (await sl.events('r', 0)).reset === true, 'the log to be trimmed', {
      timeoutMs: 10_000,
    });
    const resets: { snapshot: Snapshot; lastSeq: number }[] = [];
    const events: SteplineEvent[] = [];
    const watch = watching(sl, 'r', {
      since: 1,
      onEvent: (e) => events.push(e),
      onReset: (snapshot, lastSeq) => resets.push({ snapshot, lastSeq }),
    });
    await waitFor(() => watch.status === 'live', 'live');
    expect(resets).toHaveLength(1);
    const { snapshot, lastSeq } = resets[0];
    expect(lastSeq).toBe(4);
    const inSnap = snapshot.workflows.find((w) => w.id === wf.id);
    expect(inSnap).toMatchObject({ status: 'running', lastSeq: 4 });
    expect(inSnap!.steps[0]).toMatchObject({ status: 'running', progress: 40 });
    expect(snapshot.truncated).toBe(false);
    await wf.step('a').complete();
    await wf.step('b').complete();
    await waitFor(() => events.length === 4, 'the events after the reset');
    watch.close();
    expect(events.map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(watch.lastSeq).toBe(8);
  });
});
