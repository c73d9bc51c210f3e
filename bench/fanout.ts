import { ChildProcess, spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { postJson } from './http';
import { MAX_IN_FLIGHT, produce as producePosts, Produced } from './fanout-producer';
import { PendingCalls, wireIpcChild } from './ipc';
import {
  cores,
  fmt,
  freshDatabase,
  Kind,
  log,
  mib,
  ms,
  profArgs,
  QUIET_MS,
  rssBytes,
  SECONDS,
  sleep,
} from './common';
import type { ClientKind, ClientRequest, ConnectReply, PhaseReport, ReplayReply } from './fanout-client';
import { CpuUse, waitQuiet, watchCpu } from './machine';
import { eventCount, seed } from './seed';
import {
  ADMIN_TOKEN,
  BenchServer,
  collectGarbage,
  GC_NODE_ARGS,
  startFanoutBaseline,
  startServer,
  startWsBaseline,
} from './server';
import { LogHistogram } from './stats';
import { Spread } from './workload';

/**
 * The fan-out suite (live delivery, §4): K Socket.IO subscribers of one project, in separate client
 * processes (fanout-client.ts), and a producer in this process posting progress updates at a fixed rate to
 * the real server (SQLite); each update carries its send time, each subscriber measures send → receive.
 * Side by side, in the same run and against the same client processes, the same payloads at the same rate
 * through a bare Socket.IO server (fanout-baseline.ts), also triggered by one HTTP POST per update.
 *
 *   BENCH_FANOUT_STEP_SECONDS=3   length of each step of the rate ladder (the fixed-rate cells use BENCH_SECONDS)
 *   BENCH_FANOUT_LADDER_RUNS=3    climbs of the ladder per server, one after each of the last 1,000 runs (median)
 *   BENCH_FANOUT_CLIENTS=2        subscriber processes for the streaming cells
 *   BENCH_FANOUT_IDLE=15000       idle sockets for the memory cell, over BENCH_FANOUT_IDLE_CLIENTS=4 processes
 *                                 (0: no idle cell); BENCH_FANOUT_IDLE_REPEAT=3 fresh servers each of Stepline,
 *                                 bare Socket.IO and plain ws, RSS read after a forced full GC (gc-signal.ts)
 *   BENCH_FANOUT_CELLS=100x50,1000x50,5000x10   the fixed-rate cells (subscribers x rate); the ladder runs at 1,000
 *                                 (none: no fixed-rate cell nor ladder, e.g. the idle cell alone)
 *   BENCH_FANOUT_ONE_PROCESS=1    0: no one-process cell (the outside harness's shape)
 *   BENCH_FANOUT_REPLAY=1         0: no replay cell
 *   BENCH_FANOUT_BATCHED=1        0: no "Stepline batched" subscribers (e.g. against a server without the option)
 *
 * "Stepline batched" is the same Stepline server with subscribers that opt in to batched delivery
 * (`subscribe` with `batch: true`: `events` messages, several envelopes to a websocket frame when hot), on a
 * project of their own; it runs in the fixed-rate cells and the ladder like "Stepline".
 */
const STEP_SECONDS = Number(process.env.BENCH_FANOUT_STEP_SECONDS ?? 3);
const STREAM_PROCS = Number(process.env.BENCH_FANOUT_CLIENTS ?? 2);
const IDLE = Number(process.env.BENCH_FANOUT_IDLE ?? 15_000);
const IDLE_PROCS = Number(process.env.BENCH_FANOUT_IDLE_CLIENTS ?? 4);
/** Source addresses the idle sockets are spread over: 15,000 to one port from one address is near the ephemeral range. */
const IDLE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
/** Runs of the idle cell for each server, each on a fresh one; the report gives the medians. */
const IDLE_REPEAT = Number(process.env.BENCH_FANOUT_IDLE_REPEAT ?? 3);
/** The servers of the idle cell: Stepline, and two independent floors. */
const IDLE_WHO: Who[] = ['Stepline', 'Socket.IO', 'ws'];
/** Each fixed-rate cell (and the one-process cell) runs this many times; the report gives the median. */
const REPEAT = Number(process.env.BENCH_FANOUT_REPEAT ?? 3);
/** Climbs of the rate ladder per server (one in each of the last repeats); the report gives the median. */
const LADDER_RUNS = Math.min(REPEAT, Number(process.env.BENCH_FANOUT_LADDER_RUNS ?? 3));
/** Stepline's database: the issue's figures are on MariaDB. */
const DB: Kind = process.env.BENCH_FANOUT_DB === 'sqlite' ? 'sqlite' : 'mysql';
/** Steps ~10 % apart around the rates the two servers reach on this machine (a 0.8× ratio needs steps finer than 2×). */
const LADDER = [
  10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150, 175, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500,
  2000,
];
const LADDER_P99_MS = 100;
const REPLAY_EVENTS = 10_000;
const REPLAY_RUNS = 3;
const CELLS = (process.env.BENCH_FANOUT_CELLS ?? '100x50,1000x50,5000x10')
  .split(',')
  .filter((c) => c && c !== 'none')
  .map((c) => c.split('x').map(Number) as [number, number]);
const ONE_PROCESS = process.env.BENCH_FANOUT_ONE_PROCESS !== '0';
const REPLAY = process.env.BENCH_FANOUT_REPLAY !== '0';
const BATCHED = process.env.BENCH_FANOUT_BATCHED !== '0';

const PROJECT = 'fan';
const WORKFLOW = 'wf-fan';
/** The batched subscribers watch a project of their own, so that the plain cells do not feed them too. */
const BATCH_PROJECT = 'fanb';
const BATCH_WORKFLOW = 'wf-fanb';
const STEP = 's0';
const REPLAY_PROJECT = 'replay';

export type Who = 'Stepline' | 'Socket.IO' | 'ws' | 'Stepline batched';

export interface Target {
  who: Who;
  base: URL;
  path: string;
  headers: Record<string, string>;
  server: BenchServer;
  /** What the subscribers connect with, and their token. */
  kind: ClientKind;
  token: string;
  /** The subscribers `subscribe` with `batch: true` (Stepline batched). */
  batch?: boolean;
}

export interface PhaseResult {
  who: Who;
  subscribers: number;
  rate: number;
  /** The rate the producer achieved (it falls behind when MAX_IN_FLIGHT answers are outstanding). */
  sentPerSecond: number;
  accepted: number;
  failedPosts: number;
  expected: number;
  delivered: number;
  lost: number;
  outOfOrder: number;
  duplicates: number;
  p50: number;
  p99: number;
  max: number;
  disconnects: number;
  reason?: string;
  connected: number;
  rss: number;
  cpu: CpuUse;
  /** The drain did not finish: events were still missing when it gave up. */
  drainTimedOut: boolean;
  /** Sends that went out ≥ 5 ms late (the producer's own event loop was busy). */
  late: number;
  /** Where the producer ran: the bench process, or a subscriber process (as an in-process harness does). */
  producer: 'bench' | 'subscribers';
  /** Wall time of the cell: producing and draining (the span of `cpu`). */
  wallSeconds: number;
}

/** CPU microseconds a group spent per event delivered (to one subscriber) over the cell. */
export const usPerDelivery = (r: PhaseResult, group: 'server' | 'clients' | 'bench'): number =>
  ((r.cpu.groups[group] ?? NaN) * r.wallSeconds * 1e6) / Math.max(1, r.delivered);

export interface IdleResult {
  who: Who;
  wanted: number;
  connected: number;
  failed: number;
  error?: string;
  connectSeconds: number;
  rssBefore: number;
  rssAfter: number;
  /** V8 heap in use with the sockets connected (Stepline's /metrics), NaN for the baseline. */
  heapUsed: number;
  disconnects: number;
  /** Which of the IDLE_REPEAT runs (each on a fresh server). */
  rep: number;
  /** The 1-minute load average when the RSS was read. */
  load: number;
}

export interface ReplayResult {
  who: Who;
  events: number;
  runs: ReplayReply[];
}

export interface FanoutResult {
  db: Kind;
  phases: PhaseResult[];
  /** The outside harness's shape: 1,000 subscribers in one process at 50/s, Stepline and bare Socket.IO. */
  oneProcess: PhaseResult[];
  ladder: PhaseResult[];
  /** The median over the climbs (LADDER_RUNS) of the highest rate that held; 0: none held. */
  maxRate: Record<Who, number>;
  /** The highest rate that held in each climb, in climb order. */
  maxRates: Record<Who, number[]>;
  idle: IdleResult[];
  replay: ReplayResult[];
  clientProcs: number;
  idleProcs: number;
  fdLimit: string;
  connects: { who: Who; subscribers: number; seconds: number; failed: number; error?: string }[];
}

// ---- subscriber processes -------------------------------------------------------------------------------

export class ClientProc {
  readonly proc: ChildProcess;
  private rid = 0;
  private readonly pending: PendingCalls = new Map();
  private readonly stderr: () => string;

  constructor() {
    // raise the soft limit on open files to the hard one before node starts (each socket is a descriptor)
    this.proc = spawn(
      '/bin/sh',
      [
        '-c',
        'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
        process.execPath,
        join(__dirname, 'fanout-client.js'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    this.stderr = wireIpcChild(this.proc, this.pending, 'subscriber process');
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<T>(req: ClientRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const rid = ++this.rid;
      this.pending.set(rid, { resolve, reject });
      this.proc.send({ rid, req });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

/** Splits n over the processes as evenly as possible. */
export const split = (n: number, parts: number) =>
  Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));

export async function connectGroup(
  procs: ClientProc[],
  group: string,
  url: string,
  token: string,
  projectId: string,
  count: number,
  kind: ClientKind = 'socket.io',
  localAddresses?: string[],
  batch?: boolean,
): Promise<ConnectReply> {
  const replies = await Promise.all(
    split(count, procs.length).map((c, i) =>
      c === 0
        ? Promise.resolve<ConnectReply>({ connected: 0, failed: 0, ms: 0 })
        : procs[i].call<ConnectReply>({
            op: 'connect',
            group,
            url,
            token,
            projectId,
            count: c,
            kind,
            localAddresses,
            ...(batch ? { batch } : {}),
          }),
    ),
  );
  return {
    connected: replies.reduce((n, r) => n + r.connected, 0),
    failed: replies.reduce((n, r) => n + r.failed, 0),
    error: replies.find((r) => r.error)?.error,
    ms: Math.max(...replies.map((r) => r.ms)),
  };
}

/**
 * Wait until the clients together counted `expected` events. Gives up (returns true: timed out) when
 * the count stops moving for 2 s or after 20 s in all.
 */
export async function drainClients(procs: ClientProc[], expected: number): Promise<boolean> {
  let seen = -1;
  let still = performance.now();
  const drainStart = performance.now();
  for (;;) {
    const got = (await Promise.all(procs.map((p) => p.call<number>({ op: 'count' })))).reduce(
      (a, b) => a + b,
      0,
    );
    if (got >= expected) return false;
    if (got !== seen) {
      seen = got;
      still = performance.now();
    } else if (performance.now() - still > 2000 || performance.now() - drainStart > 20_000) {
      return true;
    }
    await sleep(50);
  }
}

export const closeGroup = (procs: ClientProc[], group: string) =>
  Promise.all(procs.map((p) => p.call({ op: 'close', group })));

// ---- producer ----------------------------------------------------------------------------------------------

/** One POST on a keep-alive agent (the replay writes). */
const post = (agent: Agent, t: Target, path: string, body: string) =>
  postJson(agent, t.base, path, t.headers, body);

/** Posts `rate` updates a second for `seconds` to the target (fanout-producer.ts), from this process. */
export const produce = (t: Target, rate: number, seconds: number, tag: string): Promise<Produced> =>
  producePosts(t.base, t.path, t.headers, rate, seconds, tag);

/** The V8 heap the server uses, from its Prometheus metrics. */
async function heapUsed(base: string): Promise<number> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^stepline_nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** One idle cell: IDLE sockets connected to a fresh server, its RSS before and after, each after a full GC. */
async function idleCell(t: Target, procs: ClientProc[], rep: number): Promise<IdleResult> {
  await waitQuiet(QUIET_MS);
  await collectGarbage(t.server);
  const rssBefore = rssBytes(t.server.proc.pid);
  const c = await connectGroup(procs, 'idle', t.base.origin, t.token, PROJECT, IDLE, t.kind, IDLE_ADDRESSES);
  await sleep(3000);
  await Promise.all(procs.map((p) => p.call({ op: 'phase', tag: 'idle' })));
  await sleep(2000);
  const reports = await Promise.all(procs.map((p) => p.call<PhaseReport>({ op: 'report', group: 'idle' })));
  await collectGarbage(t.server);
  const r: IdleResult = {
    who: t.who,
    rep,
    wanted: IDLE,
    connected: reports.reduce((n, x) => n + x.connected, 0),
    failed: c.failed,
    error: c.error,
    connectSeconds: c.ms / 1000,
    rssBefore,
    rssAfter: rssBytes(t.server.proc.pid),
    heapUsed: t.who === 'Stepline' ? await heapUsed(t.server.url) : NaN,
    disconnects: reports.reduce((n, x) => n + x.disconnects, 0),
    load: loadavg()[0],
  };
  log(
    `  ${t.who} (run ${rep + 1}): ${fmt(r.connected)}/${fmt(IDLE)} idle sockets in ${r.connectSeconds.toFixed(1)} s` +
      `${r.failed ? ` (${r.failed} failed: ${r.error})` : ''}, RSS after GC ${mib(rssBefore)} → ${mib(r.rssAfter)} MiB` +
      (Number.isFinite(r.heapUsed) ? ` (heap used ${mib(r.heapUsed)} MiB)` : '') +
      `, load ${r.load.toFixed(1)}`,
  );
  await closeGroup(procs, 'idle');
  return r;
}

/** The idle cell's runs of one server folded: the median RSS before and after, and the runs. */
export function idleMedian(f: FanoutResult, who: Who): (IdleResult & { runs: IdleResult[] }) | undefined {
  const runs = f.idle.filter((i) => i.who === who);
  if (!runs.length) return undefined;
  const med = (xs: number[]) => median(xs);
  return {
    ...runs[0],
    connected: Math.min(...runs.map((r) => r.connected)),
    failed: Math.max(...runs.map((r) => r.failed)),
    connectSeconds: med(runs.map((r) => r.connectSeconds)),
    rssBefore: med(runs.map((r) => r.rssBefore)),
    rssAfter: med(runs.map((r) => r.rssAfter)),
    heapUsed: med(runs.map((r) => r.heapUsed)),
    disconnects: runs.reduce((n, r) => n + r.disconnects, 0),
    load: med(runs.map((r) => r.load)),
    runs,
  };
}

// ---- cells -------------------------------------------------------------------------------------------------

let phaseNo = 0;

export async function phase(
  t: Target,
  procs: ClientProc[],
  group: string,
  subscribers: number,
  rate: number,
  seconds: number,
  /** A subscriber process to run the producer in (an in-process harness's shape); default: this process. */
  producerProc?: ClientProc,
): Promise<PhaseResult> {
  const tag = `ph${++phaseNo}`;
  await Promise.all(procs.map((p) => p.call({ op: 'phase', tag })));
  const pid = t.server.proc.pid!;
  let rss = rssBytes(pid);
  const sampler = setInterval(() => (rss = Math.max(rss, rssBytes(pid))), 250);
  const cpu = watchCpu({ server: [pid], clients: procs.map((p) => p.pid), bench: [process.pid] });
  const wall0 = performance.now();
  const prod = producerProc
    ? await producerProc.call<Produced>({
        op: 'produce',
        url: t.base.origin,
        path: t.path,
        headers: t.headers,
        rate,
        seconds,
        tag,
      })
    : await produce(t, rate, seconds, tag);
  // let the last events arrive: until every accepted update reached every subscriber, or nothing moves for 2 s
  const expected = prod.accepted * subscribers;
  const drainTimedOut = await drainClients(procs, expected);
  const used = cpu.stop();
  const wallSeconds = (performance.now() - wall0) / 1000;
  clearInterval(sampler);
  const reports = await Promise.all(procs.map((p) => p.call<PhaseReport>({ op: 'report', group })));
  const hist = new LogHistogram();
  for (const r of reports) hist.merge(r.hist);
  const sum = (f: (r: PhaseReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const delivered = sum((r) => r.delivered);
  const outOfOrder = sum((r) => r.outOfOrder);
  return {
    who: t.who,
    subscribers,
    rate,
    sentPerSecond: prod.sentPerSecond,
    accepted: prod.accepted,
    failedPosts: prod.failed,
    expected,
    delivered: delivered + outOfOrder,
    lost: Math.max(0, expected - delivered - outOfOrder),
    outOfOrder,
    duplicates: sum((r) => r.duplicates),
    p50: hist.percentile(50),
    p99: hist.percentile(99),
    max: hist.max,
    disconnects: sum((r) => r.disconnects),
    reason: reports.find((r) => r.reason)?.reason,
    connected: sum((r) => r.connected),
    rss,
    cpu: used,
    drainTimedOut,
    late: prod.late,
    producer: producerProc ? 'subscribers' : 'bench',
    wallSeconds,
  };
}

const holds = (r: PhaseResult) =>
  r.p99 <= LADDER_P99_MS && r.lost === 0 && r.failedPosts === 0 && r.sentPerSecond >= 0.95 * r.rate;

function describe(r: PhaseResult): string {
  return (
    `  ${r.who} ${fmt(r.subscribers)} subs @ ${r.rate}/s (sent ${fmt(r.sentPerSecond)}/s): ` +
    `${fmt(r.delivered)}/${fmt(r.expected)} delivered, p50 ${ms(r.p50)} p99 ${ms(r.p99)} max ${ms(r.max)} ms` +
    `${r.outOfOrder ? `, ${r.outOfOrder} out of order` : ''}${r.disconnects ? `, ${r.disconnects} disconnects (${r.reason})` : ''}` +
    `${r.failedPosts ? `, ${r.failedPosts} POSTs failed` : ''}, RSS ${mib(r.rss)} MiB, server ${cores(r.cpu.groups.server)} / clients ${cores(r.cpu.groups.clients)} / others ${cores(r.cpu.others)} cores`
  );
}

export async function runFanout(): Promise<FanoutResult> {
  log(`\n== fan-out (live delivery, Stepline on ${DB === 'mysql' ? 'MariaDB' : 'SQLite'}) ==`);
  const db = await freshDatabase(DB);
  const procs: ClientProc[] = [];
  let stepline: BenchServer | undefined;
  let bare: BenchServer | undefined;
  let wsBare: BenchServer | undefined;
  const result: FanoutResult = {
    db: DB,
    phases: [],
    oneProcess: [],
    ladder: [],
    maxRate: { Stepline: 0, 'Socket.IO': 0, ws: 0, 'Stepline batched': 0 },
    maxRates: { Stepline: [], 'Socket.IO': [], ws: [], 'Stepline batched': [] },
    idle: [],
    replay: [],
    clientProcs: STREAM_PROCS,
    idleProcs: IDLE_PROCS,
    fdLimit: 'unknown',
    connects: [],
  };
  try {
    // BENCH_PROF=1: a CPU profile of the Stepline server over the streaming cells (bench/profiles/)
    stepline = await startServer(db.url, {}, profArgs('fanout'));
    const fan = new Spread(PROJECT, [
      { projectId: PROJECT, workflowId: WORKFLOW },
      { projectId: BATCH_PROJECT, workflowId: BATCH_WORKFLOW },
    ]);
    const replaySpread = new Spread(
      REPLAY_PROJECT,
      Array.from({ length: 10 }, (_, i) => ({ projectId: REPLAY_PROJECT, workflowId: `wf-replay-${i}` })),
    );
    const producerKey = await seed(stepline.url, ADMIN_TOKEN, [fan, replaySpread]);
    const viewer = await fetch(`${stepline.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'fanout',
        role: 'viewer',
        projects: [PROJECT, BATCH_PROJECT, REPLAY_PROJECT],
      }),
    });
    if (viewer.status !== 201) throw new Error(`create viewer key: HTTP ${viewer.status}`);
    const viewerKey = ((await viewer.json()) as { key: string }).key;
    const bareToken = 'fanout-baseline-token';
    bare = await startFanoutBaseline(bareToken);
    wsBare = await startWsBaseline(bareToken);

    const targets: Target[] = [
      {
        who: 'Stepline',
        base: new URL(stepline.url),
        path: `/api/workflows/${WORKFLOW}/steps/${STEP}/progress`,
        headers: { authorization: `Bearer ${producerKey}` },
        server: stepline,
        kind: 'socket.io',
        token: viewerKey,
      },
      {
        who: 'Socket.IO',
        base: new URL(bare.url),
        path: '/emit',
        headers: {},
        server: bare,
        kind: 'socket.io',
        token: bareToken,
      },
      {
        who: 'ws',
        base: new URL(wsBare.url),
        path: '/emit',
        headers: {},
        server: wsBare,
        kind: 'ws',
        token: bareToken,
      },
    ];
    // the fixed-rate cells and the ladder also measure Stepline with batched subscribers, on their own project
    const streamTargets: Target[] = BATCHED
      ? [
          ...targets,
          {
            ...targets[0],
            who: 'Stepline batched',
            path: `/api/workflows/${BATCH_WORKFLOW}/steps/${STEP}/progress`,
            batch: true,
          },
        ]
      : targets;

    for (let i = 0; i < Math.max(STREAM_PROCS, IDLE_PROCS); i++) procs.push(new ClientProc());
    result.fdLimit = (await procs[0].call<{ fds: string }>({ op: 'limits' })).fds;
    const streaming = procs.slice(0, STREAM_PROCS);
    const idleProcs = procs.slice(0, IDLE_PROCS);
    log(`${procs.length} subscriber processes, open-file limit ${result.fdLimit}`);

    // 1. idle sockets: the server's memory with IDLE connected, subscribed sockets, IDLE_REPEAT times for each
    // of Stepline, bare Socket.IO and plain ws, each time on a fresh server (the order rotating), RSS read
    // after a forced full GC; spread over processes (open files) and source addresses (ports)
    const idleTargets = targets.filter((t) => IDLE_WHO.includes(t.who));
    for (let rep = 0; rep < (IDLE > 0 ? IDLE_REPEAT : 0); rep++) {
      for (const base of idleTargets.map((_, i) => idleTargets[(i + rep) % idleTargets.length])) {
        const fresh =
          base.who === 'Stepline'
            ? await startServer(db.url, {}, GC_NODE_ARGS)
            : base.who === 'Socket.IO'
              ? await startFanoutBaseline(bareToken, {}, GC_NODE_ARGS)
              : await startWsBaseline(bareToken, GC_NODE_ARGS);
        try {
          result.idle.push(
            await idleCell({ ...base, base: new URL(fresh.url), server: fresh }, idleProcs, rep),
          );
        } finally {
          await fresh.stop();
        }
      }
    }

    // 2. fixed rates, each REPEAT times (the servers in a rotating order), and the rate ladder at 1,000.
    // Only the group being measured is connected: idle sockets of the other servers in the same subscriber
    // processes cost nothing measurable, but one server per cell keeps the cells independent.
    for (const [subscribers, rate] of CELLS) {
      for (let rep = 0; rep < REPEAT; rep++) {
        const order = streamTargets.map((_, i) => streamTargets[(i + rep) % streamTargets.length]);
        for (const t of order) {
          const group = `${t.who}-${subscribers}`;
          const c = await connectGroup(
            streaming,
            group,
            t.base.origin,
            t.token,
            t.batch ? BATCH_PROJECT : PROJECT,
            subscribers,
            t.kind,
            undefined,
            t.batch,
          );
          if (rep === 0)
            result.connects.push({
              who: t.who,
              subscribers,
              seconds: c.ms / 1000,
              failed: c.failed,
              error: c.error,
            });
          if (c.failed)
            log(
              `  ${t.who}: ${fmt(c.connected)}/${fmt(subscribers)} subscribers (${c.failed} failed: ${c.error})`,
            );
          // warm-up (JIT, buffers): not measured
          await phase(t, streaming, group, subscribers, rate, 1);
          await waitQuiet(Math.min(QUIET_MS, 3000));
          const r = await phase(t, streaming, group, subscribers, rate, SECONDS);
          result.phases.push(r);
          log(describe(r));
          if (subscribers === 1000 && rep >= REPEAT - LADDER_RUNS && t.who !== 'ws') {
            // the ladder, for this server, on the sockets already connected: one climb per repeat (the
            // servers in the repeat's rotating order), the median of the climbs reported
            let top = 0;
            for (const x of LADDER) {
              let held = false;
              for (let attempt = 1; attempt <= 2 && !held; attempt++) {
                await waitQuiet(Math.min(QUIET_MS, 3000));
                const y = await phase(t, streaming, group, subscribers, x, STEP_SECONDS);
                result.ladder.push(y);
                log(describe(y));
                held = holds(y);
              }
              if (!held) break;
              top = x;
            }
            result.maxRates[t.who].push(top);
            result.maxRate[t.who] = median(result.maxRates[t.who]);
            log(`  ${t.who}: climb ${result.maxRates[t.who].length} held ${top}/s`);
          }
          await closeGroup(streaming, group);
          await sleep(500);
        }
      }
    }

    // 3. the outside harness's shape: 1,000 socket.io-client subscribers in ONE process, 50 updates/s
    // through REST, Stepline against bare Socket.IO, REPEAT times alternating
    const one = [procs[0]];
    for (let rep = 0; rep < (ONE_PROCESS ? REPEAT : 0); rep++) {
      const pair = rep % 2 === 0 ? targets.slice(0, 2) : [targets[1], targets[0]];
      for (const t of pair) {
        const group = `one-${t.who}`;
        await connectGroup(one, group, t.base.origin, t.token, PROJECT, 1000, t.kind);
        await phase(t, one, group, 1000, 50, 1);
        await waitQuiet(Math.min(QUIET_MS, 3000));
        const r = await phase(t, one, group, 1000, 50, SECONDS);
        result.oneProcess.push(r);
        log(`  (one process) ${describe(r).trimStart()}`);
        await closeGroup(one, group);
        await sleep(500);
      }
    }

    // 4. replay: a reconnecting client catches up on REPLAY_EVENTS missed events
    if (!REPLAY) return result;
    const agent = new Agent({ keepAlive: false });
    const before = await eventCount(stepline.url, ADMIN_TOKEN, [REPLAY_PROJECT]);
    for (let i = 0; i < REPLAY_EVENTS; i += 1000) {
      const updates = replaySpread.batch(Math.min(1000, REPLAY_EVENTS - i)).map((u) => ({
        workflowId: u.workflowId,
        stepId: u.stepId,
        current: u.current,
        total: u.total,
      }));
      const res = await post(agent, targets[0], '/api/progress', JSON.stringify({ updates }));
      if (res.status !== 200 || res.body.includes('"ok":false'))
        throw new Error(`replay writes: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    }
    const events = (await eventCount(stepline.url, ADMIN_TOKEN, [REPLAY_PROJECT])) - before;
    const fill = await post(agent, targets[1], `/fill?n=${REPLAY_EVENTS}`, '{}');
    const filled = JSON.parse(fill.body) as { from: number; lastSeq: number };
    for (const [t, since, n] of [
      [targets[0], before, events],
      [targets[1], filled.from, filled.lastSeq - filled.from],
    ] as const) {
      const runs: ReplayReply[] = [];
      for (let i = 0; i < REPLAY_RUNS; i++) {
        await waitQuiet(Math.min(QUIET_MS, 3000));
        runs.push(
          await procs[0].call<ReplayReply>({
            op: 'replay',
            url: t.base.origin,
            token: t.token,
            projectId: t.who === 'Stepline' ? REPLAY_PROJECT : PROJECT,
            since,
            expect: n,
            timeoutMs: 30_000,
          }),
        );
      }
      result.replay.push({ who: t.who, events: n, runs });
      log(
        `  ${t.who}: replay of ${fmt(n)} events: ack ${runs.map((r) => ms(r.ackMs)).join(' / ')} ms, ` +
          `all ${runs.map((r) => ms(r.allMs)).join(' / ')} ms${runs.some((r) => r.error) ? ` (${runs.find((r) => r.error)?.error})` : ''}`,
      );
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    if (stepline) {
      const died = stepline.exit();
      if (died) log(`the server ${died} during the run; its last output:\n${stepline.output().slice(-3000)}`);
      await stepline.stop();
      const errors = stepline
        .output()
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l));
      if (errors.length) log(`server logged ${errors.length} error lines, first: ${errors[0].slice(0, 400)}`);
    }
    await bare?.stop();
    await wsBare?.stop();
    await db.drop();
  }
  return result;
}

// ---- report ------------------------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

interface Verdict {
  name: string;
  measured: string;
  /** undefined: the run cannot decide (neither server held the lowest rate). */
  pass: boolean | undefined;
}

/** The repeats of one cell (same server, subscribers, rate) folded: medians, the runs' p99s, and the sums. */
export interface CellSummary {
  who: Who;
  subscribers: number;
  rate: number;
  runs: PhaseResult[];
  p50: number;
  p99: number;
  lost: number;
  outOfOrder: number;
  disconnects: number;
  failedPosts: number;
}

export function summarize(rs: PhaseResult[]): CellSummary[] {
  const keys = [...new Set(rs.map((r) => `${r.subscribers}|${r.rate}|${r.who}`))];
  return keys.map((k) => {
    const runs = rs.filter((r) => `${r.subscribers}|${r.rate}|${r.who}` === k);
    const sum = (f: (r: PhaseResult) => number) => runs.reduce((n, r) => n + f(r), 0);
    return {
      who: runs[0].who,
      subscribers: runs[0].subscribers,
      rate: runs[0].rate,
      runs,
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      lost: sum((r) => r.lost),
      outOfOrder: sum((r) => r.outOfOrder),
      disconnects: sum((r) => r.disconnects),
      failedPosts: sum((r) => r.failedPosts),
    };
  });
}

const p99s = (c: CellSummary) => c.runs.map((r) => ms(r.p99)).join(' / ');

/**
 * A latency comparison is only meaningful when neither side was starved: other processes used more than
 * half a core, or a producer fell 5 % behind its rate (then the server, not the rate, set the pace).
 */
const BUSY_OTHERS = 0.5;
function starved(...cs: CellSummary[]): string | undefined {
  const runs = cs.flatMap((c) => c.runs);
  const others = Math.max(...runs.map((r) => r.cpu.others));
  const behind = runs.filter((r) => r.sentPerSecond < 0.95 * r.rate).length;
  if (others <= BUSY_OTHERS && behind === 0) return undefined;
  return `machine busy: others up to ${cores(others)} cores${behind ? `, ${behind} run(s) where the producer fell behind` : ''}`;
}

function verdicts(f: FanoutResult): Verdict[] {
  const out: Verdict[] = [];
  const cells = summarize(f.phases);
  const cell = (who: Who, k: number) => cells.find((p) => p.who === who && p.subscribers === k);
  const s1k = cell('Stepline', 1000);
  const b1k = cell('Socket.IO', 1000);
  const w1k = cell('ws', 1000);
  const sb1k = cell('Stepline batched', 1000);
  if (s1k && b1k)
    out.push({
      name: '1,000 subscribers at 50 updates/s (2 subscriber processes): p99 ≤ 1.5 × bare Socket.IO p99 (medians), 0 lost, 0 out of order',
      measured:
        `p99 ${ms(s1k.p99)} ms (${p99s(s1k)}) vs ${ms(b1k.p99)} ms (${p99s(b1k)}): ${(s1k.p99 / b1k.p99).toFixed(2)}×` +
        (w1k ? `; plain ws ${ms(w1k.p99)} ms (${p99s(w1k)})` : '') +
        (sb1k ? `; Stepline batched ${ms(sb1k.p99)} ms (${p99s(sb1k)})` : '') +
        `; ${s1k.lost} lost, ${s1k.outOfOrder} out of order` +
        (starved(s1k, b1k) ? ` (${starved(s1k, b1k)})` : ''),
      pass:
        s1k.lost > 0 || s1k.outOfOrder > 0 ? false : starved(s1k, b1k) ? undefined : s1k.p99 <= 1.5 * b1k.p99,
    });
  if (sb1k && b1k)
    out.push({
      name: 'opt-in batched delivery, 1,000 subscribers at 50 updates/s: p99 ≤ 1.5 × bare Socket.IO p99 (medians), 0 lost, 0 out of order',
      measured:
        `p99 ${ms(sb1k.p99)} ms (${p99s(sb1k)}) vs ${ms(b1k.p99)} ms (${p99s(b1k)}): ${(sb1k.p99 / b1k.p99).toFixed(2)}×` +
        `; ${sb1k.lost} lost, ${sb1k.outOfOrder} out of order` +
        (starved(sb1k, b1k) ? ` (${starved(sb1k, b1k)})` : ''),
      pass:
        sb1k.lost > 0 || sb1k.outOfOrder > 0
          ? false
          : starved(sb1k, b1k)
            ? undefined
            : sb1k.p99 <= 1.5 * b1k.p99,
    });
  const one = summarize(f.oneProcess);
  const s1 = one.find((c) => c.who === 'Stepline');
  const b1 = one.find((c) => c.who === 'Socket.IO');
  if (s1 && b1)
    out.push({
      name: "the outside harness's shape (1,000 subscribers in one process, 50 updates/s): p99 ≤ 1.5 × bare Socket.IO p99 (medians), 0 lost, 0 out of order",
      measured:
        `p99 ${ms(s1.p99)} ms (${p99s(s1)}) vs ${ms(b1.p99)} ms (${p99s(b1)}): ${(s1.p99 / b1.p99).toFixed(2)}×; ${s1.lost} lost, ${s1.outOfOrder} out of order` +
        (starved(s1, b1) ? ` (${starved(s1, b1)})` : ''),
      pass: s1.lost > 0 || s1.outOfOrder > 0 ? false : starved(s1, b1) ? undefined : s1.p99 <= 1.5 * b1.p99,
    });
  if (f.ladder.length) {
    const s = f.maxRate.Stepline;
    const b = f.maxRate['Socket.IO'];
    out.push({
      name: `highest rate with p99 ≤ ${LADDER_P99_MS} ms at 1,000 subscribers ≥ 0.8 × bare Socket.IO's (median of ${LADDER_RUNS} climbs each)`,
      measured:
        `${s > 0 ? fmt(s) : `< ${LADDER[0]}`}/s vs ${b > 0 ? fmt(b) : `< ${LADDER[0]}`}/s` +
        (b > 0 ? ` (${(s / b).toFixed(3)}×)` : '') +
        ` (climbs: ${f.maxRates.Stepline.join(' / ')} vs ${f.maxRates['Socket.IO'].join(' / ')})`,
      pass: b > 0 ? s >= 0.8 * b : s > 0 ? true : undefined,
    });
    const sb = f.maxRate['Stepline batched'];
    if (f.ladder.some((p) => p.who === 'Stepline batched'))
      out.push({
        name: `opt-in batched delivery: highest rate with p99 ≤ ${LADDER_P99_MS} ms at 1,000 subscribers > bare Socket.IO's (one message per event)`,
        measured:
          `${sb > 0 ? fmt(sb) : `< ${LADDER[0]}`}/s vs ${b > 0 ? fmt(b) : `< ${LADDER[0]}`}/s` +
          (b > 0 ? ` (${(sb / b).toFixed(3)}×)` : ''),
        pass: b > 0 ? sb > b : sb > 0 ? true : undefined,
      });
  }
  for (const w of ['Stepline', 'Stepline batched'] as const) {
    const s5k = cell(w, 5000);
    if (!s5k) continue;
    const connectedAfter = s5k.runs.map((r) => r.connected);
    out.push({
      name: `${w === 'Stepline' ? '' : 'opt-in batched delivery, '}5,000 subscribers at 10 updates/s: 0 lost, no subscriber disconnected (${s5k.runs.length} runs)`,
      measured: `${s5k.lost} lost, ${s5k.disconnects} disconnected, ${connectedAfter.map((c) => fmt(c)).join(' / ')} of ${fmt(s5k.subscribers)} connected after`,
      pass: s5k.lost === 0 && s5k.disconnects === 0 && connectedAfter.every((c) => c === s5k.subscribers),
    });
  }
  const idle = idleMedian(f, 'Stepline');
  const idleBare = idleMedian(f, 'Socket.IO');
  const idleWs = idleMedian(f, 'ws');
  if (idle && idleBare)
    out.push({
      name: `${fmt(idle.wanted)} idle connected sockets: server RSS ≤ 1.2 × bare Socket.IO's with as many (same run, medians of ${idle.runs.length} fresh servers, after a forced GC)`,
      measured:
        `${mib(idle.rssAfter)} MiB vs ${mib(idleBare.rssAfter)} MiB (${(idle.rssAfter / idleBare.rssAfter).toFixed(2)}×)` +
        (idleWs ? `, plain ws ${mib(idleWs.rssAfter)} MiB` : '') +
        `, ${fmt(idle.connected)} and ${fmt(idleBare.connected)} connected, load ${idle.load.toFixed(1)}`,
      pass:
        idle.connected === idle.wanted &&
        idleBare.connected === idleBare.wanted &&
        idle.rssAfter <= 1.2 * idleBare.rssAfter,
    });
  const rep = f.replay.find((r) => r.who === 'Stepline');
  if (rep) {
    const m = median(rep.runs.map((r) => Math.max(r.ackMs, r.allMs)));
    out.push({
      name: `replaying ${fmt(REPLAY_EVENTS)} missed events to a reconnecting client < 1 s (median of ${rep.runs.length})`,
      measured: `${ms(m)} ms`,
      pass:
        m < 1000 &&
        rep.runs.every((r) => !r.error && r.received >= rep.events) &&
        rep.events >= REPLAY_EVENTS,
    });
  }
  return out;
}

export function fanoutReport(f: FanoutResult): string {
  const lines: string[] = [];
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  const who = (w: Who) => (w === 'ws' ? 'plain ws' : w === 'Socket.IO' ? 'bare Socket.IO' : w);
  lines.push('## Live delivery (fan-out)');
  lines.push('');
  lines.push(
    `Subscribers of one project over Socket.IO (websocket transport, one connection each), held by ${f.clientProcs} ` +
      `client processes (${f.idleProcs} for the idle cell; open-file limit ${f.fdLimit}); a producer in the bench process ` +
      'POSTs progress updates to one step at a fixed rate (open loop, at most ' +
      `${MAX_IN_FLIGHT} POSTs awaiting an answer); each update's \`message\` carries its send time, and every subscriber ` +
      'takes send → receive from the envelope (`data.message`): the latency covers the HTTP request, the commit, the ' +
      `broadcast and the client. Stepline runs on ${f.db === 'mysql' ? 'MariaDB' : 'SQLite'}. "bare Socket.IO" is the baseline in the same run with the ` +
      'same client processes: a Socket.IO server with the same options and no framework, database or log, that ' +
      'broadcasts a same-shaped envelope to the same room on each POST. delivered = events received / accepted ' +
      'updates × subscribers; out of order = a `seq` lower than one the socket already had; disconnects = sockets ' +
      'that lost their connection during the cell. RSS = the server process, highest sample during the cell. ' +
      'CPU in cores during the cell: the server, the client processes, everyone else. The clients share the ' +
      "machine's cores with the server (socket.io-client spends some 20–30 µs of CPU per event received): on two " +
      'cores, from a few tens of thousands of deliveries a second (1,000 subscribers × 25–50 updates/s) the ' +
      'machine is the limit for both servers, and the latency is queueing.',
  );
  if (f.phases.some((p) => p.who === 'Stepline batched')) {
    lines.push('');
    lines.push(
      '"Stepline batched" is the same Stepline server with subscribers that `subscribe` with `batch: true` (the ' +
        "opt-in `events` messages: an array of envelopes, one websocket frame per socket for what one turn of the server's " +
        `event loop committed), on a project of their own (\`${BATCH_PROJECT}\`, so the other cells do not feed them), ` +
        'measured like "Stepline": same cells, runs and ladder.',
    );
  }
  lines.push('');
  const head = () => {
    row(
      'subscribers',
      'rate /s',
      'server',
      'sent /s',
      'delivered',
      'lost',
      'out of order',
      'p50 ms',
      'p99 ms',
      'max ms',
      'disconnects',
      'server RSS MiB',
      'server cores',
      'client cores',
      'others',
    );
    row(
      '--:',
      '--:',
      '---',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
    );
  };
  const line = (p: PhaseResult) =>
    row(
      fmt(p.subscribers),
      fmt(p.rate),
      who(p.who),
      fmt(p.sentPerSecond),
      `${fmt(p.delivered)} / ${fmt(p.expected)}`,
      p.lost ? `**${fmt(p.lost)}**` : '0',
      p.outOfOrder ? `**${fmt(p.outOfOrder)}**` : '0',
      ms(p.p50),
      ms(p.p99),
      ms(p.max),
      p.disconnects ? `**${p.disconnects}** (${p.reason})` : '0',
      mib(p.rss),
      cores(p.cpu.groups.server),
      cores(p.cpu.groups.clients),
      cores(p.cpu.others),
    );
  const summaryTable = (cs: CellSummary[]) => {
    row(
      'subscribers',
      'rate /s',
      'server',
      'p99 ms (median)',
      'p99 of each run',
      'p50 ms (median)',
      'lost',
      'out of order',
      'disconnects',
      'failed POSTs',
    );
    row('--:', '--:', '---', '--:', '--:', '--:', '--:', '--:', '--:', '--:');
    for (const c of cs)
      row(
        fmt(c.subscribers),
        fmt(c.rate),
        who(c.who),
        ms(c.p99),
        p99s(c),
        ms(c.p50),
        c.lost ? `**${fmt(c.lost)}**` : '0',
        c.outOfOrder ? `**${fmt(c.outOfOrder)}**` : '0',
        c.disconnects ? `**${c.disconnects}**` : '0',
        c.failedPosts ? `**${c.failedPosts}**` : '0',
      );
  };
  lines.push(
    `Each cell ran ${Math.max(1, ...summarize(f.phases).map((c) => c.runs.length))} times (the servers in a rotating order, ` +
      'each with only its own subscribers connected); the medians, then every run:',
  );
  lines.push('');
  summaryTable(summarize(f.phases));
  lines.push('');
  head();
  for (const p of f.phases) line(p);
  if (f.oneProcess.length) {
    const one = summarize(f.oneProcess);
    const s1 = one.find((c) => c.who === 'Stepline');
    const b1 = one.find((c) => c.who === 'Socket.IO');
    lines.push('');
    lines.push(
      "The outside harness's shape: 1,000 socket.io-client subscribers in ONE process, 50 updates/s through REST " +
        '(the producer in the bench process), Stepline and bare Socket.IO alternating' +
        (s1 && b1 ? `: Stepline p99 / bare p99 = **${(s1.p99 / b1.p99).toFixed(2)}×** (medians).` : '.'),
    );
    lines.push('');
    summaryTable(one);
    lines.push('');
    head();
    for (const p of f.oneProcess) line(p);
  }
  if (f.ladder.length) {
    const held = (w: Who) =>
      `${f.maxRate[w] ? `${fmt(f.maxRate[w])}/s` : `none (< ${LADDER[0]}/s)`} (climbs: ${f.maxRates[w].join(' / ')})`;
    lines.push('');
    lines.push(
      `Rate ladder at 1,000 subscribers, ${STEP_SECONDS} s a step: each server climbs until its p99 exceeds ` +
        `${LADDER_P99_MS} ms (or an event is lost, a POST fails, or the producer falls 5 % behind the rate) at ` +
        'the same rate twice in a row (a failed step is run once more: the machine is shared); each server ' +
        `climbs ${LADDER_RUNS} times, alternating with the others, and the median climb is reported. ` +
        `Highest rate that held: Stepline ${held('Stepline')}, bare Socket.IO ${held('Socket.IO')}` +
        (f.ladder.some((p) => p.who === 'Stepline batched')
          ? `, Stepline batched (opt-in \`events\` messages) ${held('Stepline batched')}.`
          : '.'),
    );
    lines.push('');
    head();
    for (const p of f.ladder) line(p);
  }
  if (f.idle.length) {
    lines.push('');
    lines.push(
      `Idle sockets: ${fmt(f.idle[0].wanted)} connected and subscribed, over ${f.idleProcs} client processes, ` +
        `spread over the source addresses ${IDLE_ADDRESSES.join(', ')}, on a server that has served nothing else ` +
        `yet (Stepline, bare Socket.IO and plain ws, in the same run, each on ${IDLE_REPEAT} fresh servers in a rotating ` +
        'order); RSS read after a forced full GC (gc-signal.ts), before connecting and 5 s after the last connected. ' +
        'Medians first, then each run.' +
        (() => {
          const s = idleMedian(f, 'Stepline');
          const b = idleMedian(f, 'Socket.IO');
          return s && b
            ? ` Stepline / bare Socket.IO: **${(s.rssAfter / b.rssAfter).toFixed(2)}×** the RSS with the sockets, ` +
                `${((s.rssAfter - s.rssBefore) / Math.max(1, b.rssAfter - b.rssBefore)).toFixed(2)}× the RSS the sockets added.`
            : '';
        })(),
    );
    lines.push('');
    row(
      'server',
      'connected',
      'connect time s',
      'RSS before MiB',
      'RSS with sockets MiB',
      'KiB RSS per socket',
      'V8 heap used MiB',
      'disconnects',
      'load',
    );
    row('---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:');
    const medians = IDLE_WHO.map((w) => idleMedian(f, w)).filter((x) => x !== undefined);
    for (const i of [...medians, ...f.idle])
      row(
        'runs' in i ? `**${who(i.who)}, median**` : `${who(i.who)}, run ${i.rep + 1}`,
        `${fmt(i.connected)} / ${fmt(i.wanted)}${i.failed ? ` (${i.failed} failed: ${i.error})` : ''}`,
        i.connectSeconds.toFixed(1),
        mib(i.rssBefore),
        mib(i.rssAfter),
        fmt((i.rssAfter - i.rssBefore) / 1024 / Math.max(1, i.connected), 1),
        Number.isFinite(i.heapUsed) ? mib(i.heapUsed) : '–',
        String(i.disconnects),
        i.load.toFixed(1),
      );
  }
  if (f.replay.length) {
    lines.push('');
    lines.push(
      `Replay: ${fmt(REPLAY_EVENTS)} events written while nobody listened (Stepline: \`POST /api/progress\`, ` +
        '1,000 updates a request; bare Socket.IO: kept in memory), then a fresh socket `subscribe`s with `since` ' +
        'just before them: time from the `subscribe` to its ack, and to the last missed event received ' +
        `(${REPLAY_RUNS} runs).`,
    );
    lines.push('');
    row('server', 'events', 'ack ms', 'all received ms', 'received', 'out of order');
    row('---', '--:', '--:', '--:', '--:', '--:');
    for (const r of f.replay)
      row(
        who(r.who),
        fmt(r.events),
        r.runs.map((x) => ms(x.ackMs)).join(' / '),
        r.runs.map((x) => (x.error ? `**${x.error}**` : ms(x.allMs))).join(' / '),
        r.runs.map((x) => fmt(x.received)).join(' / '),
        r.runs.map((x) => String(x.outOfOrder)).join(' / '),
      );
  }
  lines.push('');
  lines.push('Fan-out targets:');
  lines.push('');
  row('target', 'measured', 'result');
  row('---', '---', '---');
  for (const v of verdicts(f))
    row(v.name, v.measured, v.pass === undefined ? 'inconclusive' : v.pass ? 'pass' : '**FAIL**');
  lines.push('');
  return lines.join('\n');
}
