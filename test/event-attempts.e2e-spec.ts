import type { Client } from './support/http';
import { useServer, type ServerFixture } from './support/fixture';
import {
  ack,
  closeAllSockets,
  closeAllStreams,
  connectSocket,
  Envelope,
  restEvents,
  SocketCollector,
  SseClient,
  openSocket,
} from './support/live-clients';
import { ADMIN_TOKEN, RunningServer } from './support/server';
import { execSql } from './support/test-db';

/** CONTRACT §11: every envelope carries the workflow's attempt, over REST, Socket.IO and SSE, and old rows are back-filled. */

let fx: ServerFixture;
let server: RunningServer;
let api: Client;
let counter = 0;
const project = (name: string) => `att-${name}-${++counter}`;

useServer((f) => {
  fx = f;
  ({ server, admin: api } = f);
});

afterEach(() => {
  closeAllSockets();
  closeAllStreams();
});

async function ok(path: string, body: unknown, headers: Record<string, string> = {}, status = 200) {
  const res = await api.post(path, body, headers);
  expect({ path, status: res.status, body: res.status === status ? undefined : res.body }).toEqual({
    path,
    status,
    body: undefined,
  });
  return res.body;
}

/** A workflow on a queue that fails once (retryable) and then completes: attempt 1, a requeue, attempt 2. */
async function twoAttempts(p: string): Promise<string> {
  const id = `${p}-job`;
  const queue = `${p}-q`;
  await ok(
    `/api/projects/${p}/workflows`,
    { id, type: 't', queue, maxAttempts: 3, steps: [{ id: 's' }] },
    {},
    201,
  );
  const first = await ok(`/api/queues/${queue}/claim`, { workerId: 'w1' });
  expect(first.attempt).toBe(1);
  const lease1 = { 'X-Lease-Token': first.leaseToken };
  await ok(`/api/workflows/${id}/steps/s/progress`, { progress: 40 }, lease1);
  await ok(`/api/workflows/${id}/steps/s/fail`, { error: { message: 'flaky' }, retryable: true }, lease1);
  // the requeue's backoff before attempt 2 is 1 s
  let second: any;
  for (let i = 0; i < 100 && !second; i++) {
    const res = await api.post(`/api/queues/${queue}/claim`, { workerId: 'w2', waitMs: 2000 });
    if (res.status === 200) second = res.body;
  }
  expect(second.attempt).toBe(2);
  const lease2 = { 'X-Lease-Token': second.leaseToken };
  await ok(`/api/workflows/${id}/steps/s/progress`, { progress: 70 }, lease2);
  await ok(`/api/workflows/${id}/steps/s/complete`, {}, lease2);
  return id;
}

const EXPECTED: [string, number][] = [
  ['workflow:created', 1],
  ['workflow:started', 1],
  ['workflow:step:started', 1],
  ['workflow:step:progress', 1],
  ['workflow:step:failed', 1],
  ['workflow:requeued', 2],
  ['workflow:started', 2],
  ['workflow:step:started', 2],
  ['workflow:step:progress', 2],
  ['workflow:step:completed', 2],
  ['workflow:completed', 2],
];
const typesAndAttempts = (evs: Envelope[]) => evs.map((e) => [e.type, e.attempt]);

describe('attempt in every envelope (§11)', () => {
  it('REST events, a replaying and a live socket, and SSE all carry the attempt; workflow:requeued the new one', async () => {
    const p = project('all');
    // live listeners first: a socket and an SSE stream that see every event as it is committed
    const socket = openSocket(server.url, { token: ADMIN_TOKEN });
    const live = new SocketCollector(socket);
    await connectSocket(server.url, {}, socket);
    expect(await ack(socket, 'subscribe', { projectId: p })).toMatchObject({ ok: true });
    const sse = new SseClient(`${server.url}/api/projects/${p}/status`, { token: ADMIN_TOKEN });
    await sse.waitOpen();

    await twoAttempts(p);
    const rest = await restEvents(api, p);
    expect(typesAndAttempts(rest)).toEqual(EXPECTED);
    expect(rest.find((e) => e.type === 'workflow:requeued')!.data.attempt).toBe(2);

    await live.waitForSeq(EXPECTED.length);
    expect(typesAndAttempts(live.envelopes)).toEqual(EXPECTED);
    await sse.waitForSeq(EXPECTED.length);
    expect(typesAndAttempts(sse.events)).toEqual(EXPECTED);

    // a replay from the log carries what was stored
    const replayer = openSocket(server.url, { token: ADMIN_TOKEN });
    const replayed = new SocketCollector(replayer);
    await connectSocket(server.url, {}, replayer);
    expect(await ack(replayer, 'subscribe', { projectId: p, since: 0 })).toMatchObject({
      ok: true,
      replayed: 11,
    });
    expect(typesAndAttempts(replayed.envelopes)).toEqual(EXPECTED);
    expect(replayed.envelopes).toEqual(rest);
  });

  it('the migration back-fills events written before it: each gets the attempt its workflow had then', async () => {
    const p = project('backfill');
    const id = await twoAttempts(p);
    // a workflow that never ran again, and one whose row is gone: its events get 1
    await ok(`/api/projects/${p}/workflows`, { id: `${p}-plain`, type: 't', steps: [{ id: 's' }] }, {}, 201);
    await fx.restart({
      // the database as the version before §11 left it: no attempt column, the migration not yet run
      between: async (db) => {
        await execSql(db, 'ALTER TABLE events DROP COLUMN attempt');
        await execSql(db, "DELETE FROM migrations WHERE name = 'EventAttempt1764310000000'");
        await execSql(db, 'DELETE FROM workflow_steps WHERE workflow_id = ?', [`${p}-plain`]);
        await execSql(db, 'DELETE FROM workflows WHERE id = ?', [`${p}-plain`]);
      },
    });
    ({ server, admin: api } = fx);

    const evs = await restEvents(api, p);
    expect(typesAndAttempts(evs.filter((e) => e.workflowId === id))).toEqual(EXPECTED);
    expect(typesAndAttempts(evs.filter((e) => e.workflowId === `${p}-plain`))).toEqual([
      ['workflow:created', 1],
    ]);
  });
});
