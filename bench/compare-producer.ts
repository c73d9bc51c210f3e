import { Agent } from 'node:http';
import { Stepline } from '@stepline/client';
import { Job, Queue, Worker } from 'bullmq';
import { postJson } from './http';

/**
 * The load generator of the compare suite (`node compare-producer.js`, driven over IPC by compare.ts), in a
 * process of its own so that the measuring process is not the bottleneck. It plays the worker side of both
 * systems, with the same pacing code:
 *
 * - pipeline: a BullMQ `Worker` (concurrency = the most jobs of a cell) whose processor calls
 *   `job.updateProgress({ current, total, t })` in a loop; the bench adds the cell's jobs to the queue.
 * - Stepline: one writer per workflow over a keep-alive HTTP connection, posting single updates
 *   (`POST /api/workflows/:id/steps/:stepId/progress`) or batches (`POST /api/progress`).
 *
 * Two modes. `max`: as fast as it goes, one call (or request) in flight per job, each awaited before the
 * next (a worker loop). `rate`: open loop, updates made at a fixed rate per job whether or not earlier ones
 * are answered (singles: up to 64 in flight per job; batches: one request in flight per job, carrying all
 * the updates made while the previous one was out, at most `batch`). Every update carries the time it was
 * made (epoch ms, the machine's one clock): `t` in the BullMQ payload, `<tag>|<i>|<t>` in Stepline's
 * `message`; the client takes send → receive from it, so waiting before the send counts as latency.
 */
export interface CellSpec {
  tag: string;
  mode: 'max' | 'rate';
  seconds: number;
  /** Updates a second per job (rate mode). */
  ratePerJob: number;
  /** Jobs in the cell. */
  jobs: number;
  /** Epoch ms at which every job starts (so that they run side by side). */
  startAt: number;
  total: number;
}

export type ProducerRequest =
  | { op: 'bullmq-open'; redisUrl: string; queue: string; prefix: string; concurrency: number }
  | { op: 'bullmq-cell'; cell: CellSpec; jobIds: string[] }
  | { op: 'bullmq-close' }
  | {
      op: 'stepline-cell';
      cell: CellSpec;
      url: string;
      token: string;
      workflowIds: string[];
      stepId: string;
      batch: number;
      /** Through @stepline/client: a producer loop that does not await each update (max mode). */
      client?: boolean;
    };

export interface ProducerReply {
  /** Updates sent (calls made, or updates in requests made). */
  sent: number;
  /** Updates the other side accepted: the call resolved, or a 2xx answer (minus batch entries `ok: false`). */
  accepted: number;
  /** Updates in calls or requests that failed. */
  failed: number;
  /** HTTP requests (Stepline) or calls (BullMQ) made. */
  requests: number;
  firstError?: string;
  /** Epoch ms of the first and last send. */
  startedAt: number;
  endedAt: number;
}

interface Item {
  i: number;
  current: number;
  t: number;
}

type Send = (items: Item[]) => Promise<{ accepted: number; failed: number; error?: string }>;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SINGLE_IN_FLIGHT = 64;

/** One job's writer: makes updates (rising `current`) and hands them to `send`, as the mode says. */
async function drive(spec: CellSpec, job: number, batch: number, send: Send): Promise<ProducerReply> {
  const out: ProducerReply = { sent: 0, accepted: 0, failed: 0, requests: 0, startedAt: 0, endedAt: 0 };
  let i = 0;
  const make = (): Item => ({ i, current: ++i, t: now() });
  const account = (n: number, r: { accepted: number; failed: number; error?: string }) => {
    out.accepted += r.accepted;
    out.failed += r.failed;
    if (r.error) out.firstError ??= r.error;
    out.sent += n;
    out.requests++;
  };
  const wait = spec.startAt - now();
  if (wait > 0) await sleep(wait);
  out.startedAt = now();
  const end = spec.startAt + spec.seconds * 1000;
  if (spec.mode === 'max') {
    while (now() < end) {
      const items = Array.from({ length: batch }, make);
      account(items.length, await send(items));
    }
  } else {
    const maxInFlight = batch === 1 ? SINGLE_IN_FLIGHT : 1;
    const pending: Item[] = [];
    const inFlight = new Set<Promise<void>>();
    const pump = () => {
      while (inFlight.size < maxInFlight && pending.length > 0) {
        const items = pending.splice(0, batch);
        const p: Promise<void> = send(items).then((r) => {
          account(items.length, r);
          inFlight.delete(p);
          pump();
        });
        inFlight.add(p);
      }
    };
    const n = Math.max(1, Math.round(spec.ratePerJob * spec.seconds));
    // jobs are independent: each one's ticks fall between the others' instead of all at the same instant
    const phase = (job * 1000) / (spec.ratePerJob * spec.jobs);
    for (let k = 0; k < n; k++) {
      const w = spec.startAt + phase + (k * 1000) / spec.ratePerJob - now();
      if (w >= 1) await sleep(w);
      pending.push(make());
      pump();
    }
    while (pending.length > 0 || inFlight.size > 0) {
      if (inFlight.size > 0) await Promise.race(inFlight);
      else pump();
    }
  }
  out.endedAt = now();
  return out;
}

function merge(rs: ProducerReply[]): ProducerReply {
  return {
    sent: rs.reduce((n, r) => n + r.sent, 0),
    accepted: rs.reduce((n, r) => n + r.accepted, 0),
    failed: rs.reduce((n, r) => n + r.failed, 0),
    requests: rs.reduce((n, r) => n + r.requests, 0),
    firstError: rs.find((r) => r.firstError)?.firstError,
    startedAt: Math.min(...rs.map((r) => r.startedAt)),
    endedAt: Math.max(...rs.map((r) => r.endedAt)),
  };
}

// ---- BullMQ ------------------------------------------------------------------------------------------------

interface JobData {
  cell: CellSpec;
  /** The job's place in its cell (0-based). */
  index: number;
}

let queue: Queue | undefined;
let worker: Worker | undefined;
/** Results of the jobs of the running cell, by job id, handed over by the processor. */
const finished = new Map<string, (r: ProducerReply) => void>();

function bullmqOpen(r: Extract<ProducerRequest, { op: 'bullmq-open' }>): Promise<void> {
  const u = new URL(r.redisUrl);
  const connection = {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
  queue = new Queue(r.queue, { connection, prefix: r.prefix });
  worker = new Worker(
    r.queue,
    async (job: Job<JobData>) => {
      const res = await drive(job.data.cell, job.data.index, 1, async (items) => {
        const it = items[0];
        try {
          await job.updateProgress({ current: it.current, total: job.data.cell.total, t: it.t });
          return { accepted: 1, failed: 0 };
        } catch (err) {
          return { accepted: 0, failed: 1, error: String(err) };
        }
      });
      finished.get(job.id!)?.(res);
      return res.accepted;
    },
    { connection, prefix: r.prefix, concurrency: r.concurrency },
  );
  worker.on('error', (err) => process.stderr.write(`worker error: ${String(err)}\n`));
  return Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]).then(() => undefined);
}

async function bullmqCell(r: Extract<ProducerRequest, { op: 'bullmq-cell' }>): Promise<ProducerReply> {
  if (!queue) throw new Error('bullmq-open first');
  const results = r.jobIds.map((id) => new Promise<ProducerReply>((resolve) => finished.set(id, resolve)));
  await queue.addBulk(
    r.jobIds.map((jobId, index) => ({
      name: 'progress',
      data: { cell: r.cell, index },
      opts: { jobId, removeOnComplete: true, removeOnFail: true },
    })),
  );
  const out = merge(await Promise.all(results));
  for (const id of r.jobIds) finished.delete(id);
  return out;
}

async function bullmqClose(): Promise<void> {
  await worker?.close();
  if (queue) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  worker = undefined;
  queue = undefined;
}

// ---- Stepline ----------------------------------------------------------------------------------------------

const REJECTED = /"ok":false/g;

/** Progress calls a client cell keeps outstanding (the client sends them as batches of ≤ 1,000). */
const CLIENT_WINDOW = 2000;

/**
 * A producer loop through @stepline/client, as a user writes one: `step.progress(…)` for each update without
 * awaiting it (a window of CLIENT_WINDOW outstanding calls keeps memory bounded); the client batches what
 * piles up behind the request in flight, and every call still resolves only after its commit.
 */
async function clientCell(r: Extract<ProducerRequest, { op: 'stepline-cell' }>): Promise<ProducerReply> {
  const sl = new Stepline({ baseUrl: r.url, token: r.token });
  const results = await Promise.all(
    r.workflowIds.map(async (workflowId) => {
      const step = sl.workflow(workflowId).step(r.stepId);
      const out: ProducerReply = { sent: 0, accepted: 0, failed: 0, requests: 0, startedAt: 0, endedAt: 0 };
      const wait = r.cell.startAt - now();
      if (wait > 0) await sleep(wait);
      out.startedAt = now();
      const end = r.cell.startAt + r.cell.seconds * 1000;
      const window: Promise<void>[] = [];
      let i = 0;
      while (now() < end) {
        const t = now();
        const current = ++i;
        out.sent++;
        window.push(
          step
            .progress({ current, total: r.cell.total, message: `${r.cell.tag}|${i - 1}|${t.toFixed(3)}` })
            .then(
              () => void out.accepted++,
              (err: unknown) => {
                out.failed++;
                out.firstError ??= String(err);
              },
            ),
        );
        if (window.length >= CLIENT_WINDOW) await window.shift();
      }
      await Promise.all(window);
      out.endedAt = now();
      return out;
    }),
  );
  return { ...merge(results), requests: sl.writeRequests };
}

async function steplineCell(r: Extract<ProducerRequest, { op: 'stepline-cell' }>): Promise<ProducerReply> {
  if (r.client) return clientCell(r);
  const base = new URL(r.url);
  const results = await Promise.all(
    r.workflowIds.map(async (workflowId, index) => {
      const agent = new Agent({ keepAlive: true, maxSockets: r.batch === 1 ? SINGLE_IN_FLIGHT : 1 });
      const message = (it: Item) => `${r.cell.tag}|${it.i}|${it.t.toFixed(3)}`;
      const single = `/api/workflows/${workflowId}/steps/${r.stepId}/progress`;
      try {
        return await drive(r.cell, index, r.batch, async (items) => {
          const res =
            r.batch === 1
              ? await postJson(
                  agent,
                  base,
                  single,
                  { authorization: `Bearer ${r.token}` },
                  JSON.stringify({
                    current: items[0].current,
                    total: r.cell.total,
                    message: message(items[0]),
                  }),
                )
              : await postJson(
                  agent,
                  base,
                  '/api/progress',
                  { authorization: `Bearer ${r.token}` },
                  JSON.stringify({
                    updates: items.map((it) => ({
                      workflowId,
                      stepId: r.stepId,
                      current: it.current,
                      total: r.cell.total,
                      message: message(it),
                    })),
                  }),
                );
          if (res.status < 200 || res.status >= 300)
            return {
              accepted: 0,
              failed: items.length,
              error: `HTTP ${res.status} ${res.body.slice(0, 300)}`,
            };
          const rejected = r.batch === 1 ? 0 : (res.body.match(REJECTED)?.length ?? 0);
          return {
            accepted: items.length - rejected,
            failed: rejected,
            error: rejected ? `batch entries rejected: ${res.body.slice(0, 300)}` : undefined,
          };
        });
      } finally {
        agent.destroy();
      }
    }),
  );
  return merge(results);
}

// ---- IPC ---------------------------------------------------------------------------------------------------

async function handle(r: ProducerRequest): Promise<unknown> {
  switch (r.op) {
    case 'bullmq-open':
      return bullmqOpen(r);
    case 'bullmq-cell':
      return bullmqCell(r);
    case 'bullmq-close':
      return bullmqClose();
    case 'stepline-cell':
      return steplineCell(r);
  }
}

process.on('message', (msg: { rid: number; req: ProducerRequest }) => {
  handle(msg.req).then(
    (res) => process.send?.({ rid: msg.rid, ok: true, res }),
    (err: unknown) => process.send?.({ rid: msg.rid, ok: false, error: String(err) }),
  );
});
// the bench went away: so do we (after leaving Redis clean)
process.on('disconnect', () => {
  void bullmqClose()
    .catch(() => undefined)
    .then(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
});
