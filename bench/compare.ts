import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import {
  cores,
  databasePids,
  fmt,
  freshDatabase,
  Kind,
  log,
  ms,
  MYSQL_URL,
  profArgs,
  QUIET_MS,
  ROOT,
  SECONDS,
  sleep,
} from './common';
import type { ClientReport, ClientRequest } from './compare-client';
import { api } from './http';
import { PendingCalls, wireIpcChild } from './ipc';
import type { CellSpec, ProducerReply, ProducerRequest } from './compare-producer';
import { CpuUse, waitQuiet, watchCpu } from './machine';
import { ADMIN_TOKEN, BenchServer, startCompareRelay, startServer } from './server';
import { LogHistogram } from './stats';

/**
 * The compare suite (issue #8): the comparison users care about, in the same run on the same machine.
 *
 * - **pipeline**: what a team wires up by hand: a BullMQ worker calls `job.updateProgress({ current, total })`,
 *   a `QueueEvents` in a Socket.IO server process (compare-relay.ts) relays each `progress` event to the room
 *   of its job, a socket.io-client receives.
 * - **Stepline**: the real server (a child process, as `npm start` runs it) on MariaDB (and SQLite), workers
 *   posting over REST, single updates or batches, a socket.io-client subscribed to the project receives
 *   `workflow:step:progress` (durable, in `seq` order, replayable after a reconnect).
 *
 * Both end to end, same clocks: every update carries its send time, the client (compare-client.ts, its own
 * process) takes send → receive and counts what arrives; the worker side (compare-producer.ts, its own
 * process) runs the same pacing code for both. 1 and 8 concurrent jobs (workflows), as fast as they go (one
 * call or request in flight per job) and at a fixed 500 updates/s in total (open loop).
 *
 *   BENCH_SECONDS (5)            length of each cell
 *   BENCH_COMPARE_DB (both)      Stepline's database: mysql (MariaDB), sqlite or both
 *   BENCH_COMPARE_JOBS (1,8)     concurrent jobs
 *   BENCH_COMPARE_BATCH (100)    updates per `POST /api/progress` (at most; at a fixed rate it sends what waits)
 *   BENCH_COMPARE_RATE (500)     updates a second, in total, of the latency cells
 *   BENCH_COMPARE_MODES (max,rate), BENCH_COMPARE_WRITES (progress,single,batch): a subset of the cells
 *                                (progress = the pipeline), e.g. to profile one kind
 *   BENCH_REDIS_URL (redis://127.0.0.1:6379)   the pipeline's Redis; a fresh queue and key prefix per run,
 *                                obliterated at the end
 *   BENCH_QUIET_MS, BENCH_MYSQL_URL, BENCH_PROF: as for the other suites
 */
export interface CompareOptions {
  seconds: number;
  dbs: Kind[];
  jobs: number[];
  batch: number;
  rate: number;
  redisUrl: string;
  quietMs: number;
  /** Which cells: `max` (throughput) and / or `rate` (latency); which writes (`progress` = the pipeline). */
  modes: ('max' | 'rate')[];
  writes: CompareWrites[];
  /** Run the Stepline server with --cpu-prof (profiles in bench/profiles/). */
  prof: boolean;
}

export type CompareSystem = 'pipeline' | 'stepline';
export type CompareWrites = 'progress' | 'single' | 'batch' | 'client';

export interface CompareCell {
  system: CompareSystem;
  /** Stepline's database. */
  db?: Kind;
  /** pipeline: `job.updateProgress`; Stepline: single updates or batches. */
  writes: CompareWrites;
  /** max: as fast as it goes; rate: `rate` updates/s in total, open loop. */
  mode: 'max' | 'rate';
  jobs: number;
  rate?: number;
  /** Updates sent and accepted (the call resolved / a 2xx answer and `ok`), failed; calls or requests made. */
  sent: number;
  accepted: number;
  failed: number;
  requests: number;
  firstError?: string;
  /** Updates accepted per second, over the sending window. */
  sentPerSecond: number;
  received: number;
  /** Accepted updates that never reached the client. */
  lost: number;
  outOfOrder: number;
  /** End to end: updates received / (last received − first sent). */
  receivedPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  disconnects: number;
  drainTimedOut: boolean;
  /** Cores used during the cell: server (relay / Stepline), store (Redis / MariaDB), producer, client, bench. */
  cpu: CpuUse;
}

export interface CompareReport {
  options: CompareOptions;
  cells: CompareCell[];
  versions: Record<string, string>;
  machine: string;
  startedAt: string;
  durationSeconds: number;
  /** Problems that did not stop the run (a server that logged errors, leftovers). */
  notes: string[];
}

export function compareOptions(env: NodeJS.ProcessEnv = process.env): CompareOptions {
  const list = (v: string) =>
    v
      .split(',')
      .map((x) => Number(x.trim()))
      .filter((x) => Number.isInteger(x) && x > 0);
  const words = (v: string) =>
    v
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter(Boolean);
  const db = (env.BENCH_COMPARE_DB ?? 'both').toLowerCase();
  const dbs: Kind[] =
    db === 'both'
      ? ['mysql', 'sqlite']
      : db === 'sqlite'
        ? ['sqlite']
        : db === 'mysql' || db === 'mariadb'
          ? ['mysql']
          : [];
  if (dbs.length === 0) throw new Error(`BENCH_COMPARE_DB must be mysql, sqlite or both, not "${db}"`);
  return {
    seconds: SECONDS,
    dbs,
    jobs: list(env.BENCH_COMPARE_JOBS ?? '1,8'),
    batch: Number(env.BENCH_COMPARE_BATCH ?? 100),
    rate: Number(env.BENCH_COMPARE_RATE ?? 500),
    redisUrl: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    quietMs: Math.min(QUIET_MS, 3000),
    modes: words(env.BENCH_COMPARE_MODES ?? 'max,rate').filter((x): x is 'max' | 'rate' =>
      ['max', 'rate'].includes(x),
    ),
    writes: words(env.BENCH_COMPARE_WRITES ?? 'progress,single,batch,client').filter(
      (x): x is CompareWrites => ['progress', 'single', 'batch', 'client'].includes(x),
    ),
    prof: !!env.BENCH_PROF,
  };
}

/** Every update's `total`: `current` rises from 1 by one per update of a job, far below it. */
const TOTAL = 10_000_000;
const PROJECT = 'cmp';
const STEP = 'work';
/** After the writers stop: wait for the client until it has every accepted update, or nothing came for this long. */
const DRAIN_IDLE_MS = 2000;
const DRAIN_MAX_MS = 30_000;

// ---- child processes over IPC -------------------------------------------------------------------------------

class IpcChild<Req> {
  readonly proc: ChildProcess;
  private rid = 0;
  private readonly pending: PendingCalls = new Map();
  private readonly stderr: () => string;

  constructor(script: string) {
    this.proc = spawn(process.execPath, [join(__dirname, script)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.stderr = wireIpcChild(this.proc, this.pending, script);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<T>(req: Req): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null)
        return reject(new Error(`child exited: ${this.stderr()}`));
      const rid = ++this.rid;
      this.pending.set(rid, { resolve, reject });
      this.proc.send({ rid, req });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    // the producer leaves Redis clean when its parent lets go of it; SIGTERM after a grace period
    this.proc.disconnect();
    const t = setTimeout(() => this.proc.kill('SIGTERM'), 6000);
    await exited;
    clearTimeout(t);
  }
}

// ---- helpers ------------------------------------------------------------------------------------------------

const now = () => performance.timeOrigin + performance.now();

function pidsNamed(re: RegExp): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return re.test(readFileSync(`/proc/${d}/comm`, 'utf8').trim());
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'unknown';
  }
}

async function createKey(base: string, role: 'producer' | 'viewer'): Promise<string> {
  const r = await api(base, ADMIN_TOKEN, '/api/keys', { name: `compare-${role}`, role, projects: [PROJECT] });
  if (r.status !== 201) throw new Error(`create ${role} key: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.key as string;
}

const label = (c: Pick<CompareCell, 'system' | 'db' | 'writes'>, batch: number): string =>
  c.system === 'pipeline'
    ? 'pipeline (BullMQ → QueueEvents → Socket.IO)'
    : `Stepline ${c.writes === 'single' ? 'singles' : c.writes === 'client' ? '@stepline/client loop' : `batches (≤ ${batch})`}, ${c.db === 'mysql' ? 'MariaDB' : 'SQLite'}`;

function describe(c: CompareCell, batch: number): string {
  return (
    `  ${label(c, batch)}, ${c.jobs} job${c.jobs > 1 ? 's' : ''}${c.mode === 'rate' ? ` @ ${c.rate}/s` : ''}: ` +
    `${fmt(c.receivedPerSecond)}/s received (sent ${fmt(c.sentPerSecond)}/s), ${fmt(c.received)}/${fmt(c.accepted)}` +
    `${c.lost ? `, ${fmt(c.lost)} LOST` : ''}${c.disconnects ? `, ${c.disconnects} disconnects` : ''}${c.outOfOrder ? `, ${c.outOfOrder} out of order` : ''}` +
    `${c.failed ? `, ${c.failed} failed (${c.firstError})` : ''}, p50 ${ms(c.p50)} p99 ${ms(c.p99)} max ${ms(c.max)} ms` +
    ` | server ${cores(c.cpu.groups.server)} store ${cores(c.cpu.groups.store)} producer ${cores(c.cpu.groups.producer)}` +
    ` client ${cores(c.cpu.groups.client)} others ${cores(c.cpu.others)}`
  );
}

// ---- the run ------------------------------------------------------------------------------------------------

interface Side {
  system: CompareSystem;
  db?: Kind;
  client: IpcChild<ClientRequest>;
  server: BenchServer;
  storePids: number[];
  /** Stepline: the producer key. */
  token?: string;
}

export async function runCompare(opts: Partial<CompareOptions> = {}): Promise<CompareReport> {
  const o: CompareOptions = { ...compareOptions(), ...opts };
  const t0 = Date.now();
  const report: CompareReport = {
    options: o,
    cells: [],
    versions: {
      node: process.version,
      bullmq: packageVersion('bullmq'),
      'socket.io': packageVersion('socket.io'),
    },
    machine: '',
    startedAt: new Date().toISOString(),
    durationSeconds: 0,
    notes: [],
  };
  const cpu = cpus();
  report.machine = `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadavg()[0].toFixed(1)} at the start`;
  log(`\n== compare: hand-wired BullMQ pipeline vs Stepline (${o.dbs.join(', ')}) ==`);

  const run = randomBytes(4).toString('hex');
  const queue = `cmp-${run}`;
  const prefix = `stepline-bench-${run}`;
  const redis = new Redis(o.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const sides: Side[] = [];
  const dbs: { drop(): Promise<void> }[] = [];
  const children: IpcChild<unknown>[] = [];
  let producer: IpcChild<ProducerRequest> | undefined;
  let relay: BenchServer | undefined;
  try {
    await redis.connect();
    const info = await redis.info('server');
    report.versions.redis = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const redisPids = pidsNamed(/^redis-server$/);

    producer = new IpcChild<ProducerRequest>('compare-producer.js');
    children.push(producer);
    await producer.call({
      op: 'bullmq-open',
      redisUrl: o.redisUrl,
      queue,
      prefix,
      concurrency: Math.max(...o.jobs),
    });
    relay = await startCompareRelay(o.redisUrl, queue, prefix);
    const pipelineClient = new IpcChild<ClientRequest>('compare-client.js');
    children.push(pipelineClient);
    await pipelineClient.call({ op: 'connect', kind: 'pipeline', url: relay.url });
    sides.push({ system: 'pipeline', client: pipelineClient, server: relay, storePids: redisPids });

    for (const kind of o.dbs) {
      const db = await freshDatabase(kind);
      dbs.push(db);
      if (kind === 'mysql' && !report.versions.mariadb) {
        const c = await createConnection(MYSQL_URL.replace(/\/[^/]*$/, '/'));
        const [rows] = await c.query<any[]>('SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f');
        report.versions.mariadb = `${rows[0].v} (innodb_flush_log_at_trx_commit=${rows[0].f})`;
        await c.end();
      }
      const server = await startServer(db.url, {}, profArgs(`compare-${kind}`, o.prof));
      const token = await createKey(server.url, 'producer');
      const viewer = await createKey(server.url, 'viewer');
      const client = new IpcChild<ClientRequest>('compare-client.js');
      children.push(client);
      await client.call({
        op: 'connect',
        kind: 'stepline',
        url: server.url,
        token: viewer,
        projectId: PROJECT,
      });
      sides.push({
        system: 'stepline',
        db: kind,
        client,
        server,
        storePids: kind === 'mysql' ? databasePids() : [],
        token,
      });
    }

    let cellNo = 0;
    const measure = async (
      side: Side,
      writes: CompareWrites,
      mode: 'max' | 'rate',
      jobs: number,
      seconds: number,
    ): Promise<CompareCell> => {
      const tag = `${run}-c${++cellNo}`;
      const ids = Array.from({ length: jobs }, (_, i) => `${tag}-j${i}`);
      const batch = writes === 'batch' ? o.batch : 1;
      if (side.system === 'pipeline') await side.client.call({ op: 'join', jobIds: ids });
      else {
        for (const id of ids) {
          const c = await api(side.server.url, side.token!, `/api/projects/${PROJECT}/workflows`, {
            id,
            type: 'compare',
            steps: [{ id: STEP, name: 'Work' }],
          });
          if (c.status !== 201) throw new Error(`create ${id}: HTTP ${c.status} ${JSON.stringify(c.body)}`);
          const s = await api(side.server.url, side.token!, `/api/workflows/${id}/steps/${STEP}/start`, {});
          if (s.status !== 200) throw new Error(`start ${id}: HTTP ${s.status} ${JSON.stringify(s.body)}`);
        }
      }
      await side.client.call({ op: 'phase', tag });
      await waitQuiet(o.quietMs);
      const spec: CellSpec = {
        tag,
        mode,
        seconds,
        ratePerJob: o.rate / jobs,
        jobs,
        startAt: now() + 300,
        total: TOTAL,
      };
      const watch = watchCpu({
        server: [side.server.proc.pid!],
        store: side.storePids,
        producer: [producer!.pid],
        client: [side.client.pid],
        bench: [process.pid],
      });
      const prod = await producer!.call<ProducerReply>(
        side.system === 'pipeline'
          ? { op: 'bullmq-cell', cell: spec, jobIds: ids }
          : {
              op: 'stepline-cell',
              cell: spec,
              url: side.server.url,
              token: side.token!,
              workflowIds: ids,
              stepId: STEP,
              batch,
              client: writes === 'client',
            },
      );
      let seen = -1;
      let still = now();
      let drainTimedOut = false;
      const drainStart = now();
      for (;;) {
        const got = await side.client.call<number>({ op: 'count' });
        if (got >= prod.accepted) break;
        if (got !== seen) {
          seen = got;
          still = now();
        } else if (now() - still > DRAIN_IDLE_MS || now() - drainStart > DRAIN_MAX_MS) {
          drainTimedOut = true;
          break;
        }
        await sleep(50);
      }
      const used = watch.stop();
      const rep = await side.client.call<ClientReport>({ op: 'report' });
      if (side.system === 'pipeline') await side.client.call({ op: 'leave', jobIds: ids });
      const hist = new LogHistogram();
      hist.merge(rep.hist);
      const sendSeconds = Math.max(1e-3, (prod.endedAt - prod.startedAt) / 1000);
      return {
        system: side.system,
        db: side.db,
        writes,
        mode,
        jobs,
        rate: mode === 'rate' ? o.rate : undefined,
        sent: prod.sent,
        accepted: prod.accepted,
        failed: prod.failed,
        requests: prod.requests,
        firstError: prod.firstError,
        sentPerSecond: prod.accepted / sendSeconds,
        received: rep.received,
        lost: Math.max(0, prod.accepted - rep.received),
        outOfOrder: rep.outOfOrder,
        receivedPerSecond:
          rep.received > 0 ? rep.received / Math.max(1e-3, (rep.last - prod.startedAt) / 1000) : 0,
        p50: hist.percentile(50),
        p99: hist.percentile(99),
        max: hist.max,
        disconnects: rep.disconnects,
        drainTimedOut,
        cpu: used,
      };
    };

    // the client cell is a producer loop as fast as it goes: max mode only
    const writesOf = (side: Side, mode: 'max' | 'rate'): CompareWrites[] =>
      (side.system === 'pipeline'
        ? ['progress' as const]
        : ['single' as const, 'batch' as const, ...(mode === 'max' ? ['client' as const] : [])]
      ).filter((w) => o.writes.includes(w));
    // warm-up (JIT, pools, buffer pool, Redis scripts): short and not reported
    for (const side of sides)
      for (const w of writesOf(side, 'max')) await measure(side, w, 'max', Math.max(...o.jobs), 1);

    // each scenario runs the pipeline, then Stepline, back to back: both see the same machine
    for (const mode of o.modes) {
      for (const jobs of o.jobs) {
        for (const side of sides) {
          for (const w of writesOf(side, mode)) {
            const c = await measure(side, w, mode, jobs, o.seconds);
            report.cells.push(c);
            log(describe(c, o.batch));
          }
        }
      }
    }
  } finally {
    for (const c of children) await c.stop().catch(() => undefined);
    for (const side of sides) {
      if (side.system !== 'stepline') continue;
      const died = side.server.exit();
      if (died) report.notes.push(`the ${side.db} server ${died} during the run`);
      await side.server.stop();
      const errors = side.server
        .output()
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l));
      if (errors.length)
        report.notes.push(
          `the ${side.db} server logged ${errors.length} error lines, first: ${errors[0].slice(0, 300)}`,
        );
    }
    await relay?.stop();
    for (const db of dbs) await db.drop().catch(() => undefined);
    // the producer obliterated the queue; whatever is left under the run's prefix goes too
    try {
      if (redis.status === 'ready') {
        let cursor = '0';
        let left = 0;
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) left += await redis.del(...keys);
        } while (cursor !== '0');
        if (left) log(`removed ${left} leftover Redis keys under ${prefix}`);
      }
    } finally {
      redis.disconnect();
    }
  }
  report.durationSeconds = Math.round((Date.now() - t0) / 1000);
  log(`compare suite: ${report.durationSeconds} s`);
  return report;
}

// ---- report -------------------------------------------------------------------------------------------------

export interface CompareVerdict {
  db: Kind;
  name: string;
  measured: string;
  pass: boolean;
}

export function compareVerdicts(r: CompareReport): CompareVerdict[] {
  const out: CompareVerdict[] = [];
  const find = (
    system: CompareSystem,
    writes: CompareWrites,
    mode: 'max' | 'rate',
    jobs: number,
    db?: Kind,
  ) =>
    r.cells.find(
      (c) =>
        c.system === system &&
        c.writes === writes &&
        c.mode === mode &&
        c.jobs === jobs &&
        (!db || c.db === db),
    );
  for (const db of r.options.dbs) {
    for (const jobs of r.options.jobs) {
      const p = find('pipeline', 'progress', 'max', jobs);
      const s = find('stepline', 'batch', 'max', jobs, db);
      if (p && s)
        out.push({
          db,
          name: `batched throughput ≥ the pipeline's, ${jobs} job${jobs > 1 ? 's' : ''} (0 lost)`,
          measured:
            `${fmt(s.receivedPerSecond)}/s vs ${fmt(p.receivedPerSecond)}/s (${(s.receivedPerSecond / p.receivedPerSecond).toFixed(2)}×)` +
            (s.lost ? `, ${fmt(s.lost)} lost` : ''),
          pass: s.receivedPerSecond >= p.receivedPerSecond && s.lost === 0 && s.failed === 0,
        });
    }
    for (const jobs of r.options.jobs) {
      const p = find('pipeline', 'progress', 'max', jobs);
      const s = find('stepline', 'client', 'max', jobs, db);
      if (p && s)
        out.push({
          db,
          name: `@stepline/client loop (not awaiting each update) ≥ the pipeline's, ${jobs} job${jobs > 1 ? 's' : ''} (0 lost)`,
          measured:
            `${fmt(s.receivedPerSecond)}/s vs ${fmt(p.receivedPerSecond)}/s (${(s.receivedPerSecond / p.receivedPerSecond).toFixed(2)}×), ${fmt(s.requests)} requests` +
            (s.lost ? `, ${fmt(s.lost)} lost` : ''),
          pass: s.receivedPerSecond >= p.receivedPerSecond && s.lost === 0 && s.failed === 0,
        });
    }
    for (const jobs of r.options.jobs) {
      const p = find('pipeline', 'progress', 'rate', jobs);
      const s = find('stepline', 'single', 'rate', jobs, db);
      if (p && s)
        out.push({
          db,
          name: `at ${fmt(r.options.rate)} updates/s, ${jobs} job${jobs > 1 ? 's' : ''}: single-update p99 ≤ the pipeline's p99 + 5 ms (0 lost)`,
          measured: `${ms(s.p99)} ms vs ${ms(p.p99)} + 5 ms` + (s.lost ? `, ${fmt(s.lost)} lost` : ''),
          pass: s.p99 <= p.p99 + 5 && s.lost === 0 && s.failed === 0,
        });
    }
  }
  return out;
}

export function compareReport(r: CompareReport): string {
  const o = r.options;
  const lines: string[] = [];
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  lines.push('## Stepline vs a hand-wired BullMQ pipeline (compare)');
  lines.push('');
  lines.push(
    `${r.startedAt} · ${r.machine} · Node ${r.versions.node}, BullMQ ${r.versions.bullmq}, Redis ${r.versions.redis ?? '?'}, ` +
      `Socket.IO ${r.versions['socket.io']}${r.versions.mariadb ? `, MariaDB ${r.versions.mariadb}` : ''} · ${o.seconds} s per cell · ${r.durationSeconds} s in all`,
  );
  lines.push('');
  lines.push(
    'Same run, same machine, both end to end to a socket.io-client in its own process. **pipeline**: a BullMQ ' +
      '`Worker` whose processor calls `job.updateProgress({ current, total, t })`, a `QueueEvents` in a Socket.IO ' +
      'server process relaying each `progress` event to the room of its job. **Stepline**: the real server, workers ' +
      'posting `POST /api/workflows/:id/steps/:stepId/progress` (singles) or `POST /api/progress` (batches), the ' +
      'client subscribed to the project (`workflow:step:progress`). Each job is a one-step workflow. The workers run in ' +
      'one load-generator process with the same pacing code for both. **max**: as fast as it goes, one call / request ' +
      `in flight per job (a batch carries ${o.batch} updates). **@ ${fmt(o.rate)}/s**: ${fmt(o.rate)} updates a second ` +
      'in total, open loop (singles and BullMQ calls: up to 64 in flight per job; batches: one request in flight per ' +
      'job, carrying what was made meanwhile). Every update carries the time it was made; latency = client receive − ' +
      'that, so waiting to be sent counts. received/s = updates received / (last received − first sent). lost = ' +
      'accepted updates the client never got. CPU in cores during the cell: server (relay / Stepline), store (Redis / ' +
      'MariaDB; SQLite runs inside the server), producer, client, everyone else.',
  );
  lines.push('');
  const head = () => {
    row(
      'system',
      'jobs',
      'received /s',
      'accepted /s',
      'received',
      'lost',
      'out of order',
      'failed',
      'p50 ms',
      'p99 ms',
      'max ms',
      'server',
      'store',
      'producer',
      'client',
      'others',
    );
    row('---', ...Array<string>(15).fill('--:'));
  };
  const line = (c: CompareCell) =>
    row(
      label(c, o.batch),
      String(c.jobs),
      `**${fmt(c.receivedPerSecond)}**`,
      fmt(c.sentPerSecond),
      `${fmt(c.received)} / ${fmt(c.accepted)}`,
      (c.lost ? `**${fmt(c.lost)}**` : '0') +
        (c.disconnects ? ` (client disconnected ${c.disconnects}×)` : '') +
        (c.drainTimedOut ? ' (gave up waiting)' : ''),
      c.outOfOrder ? `**${fmt(c.outOfOrder)}**` : '0',
      c.failed ? `**${fmt(c.failed)}**` : '0',
      ms(c.p50),
      ms(c.p99),
      ms(c.max),
      cores(c.cpu.groups.server),
      c.system === 'stepline' && c.db === 'sqlite' ? '–' : cores(c.cpu.groups.store),
      cores(c.cpu.groups.producer),
      cores(c.cpu.groups.client),
      cores(c.cpu.others),
    );
  lines.push('Throughput (max):');
  lines.push('');
  head();
  for (const c of r.cells.filter((x) => x.mode === 'max')) line(c);
  lines.push('');
  lines.push(`Latency at ${fmt(o.rate)} updates/s in total:`);
  lines.push('');
  head();
  for (const c of r.cells.filter((x) => x.mode === 'rate')) line(c);
  const errors = r.cells.filter((c) => c.firstError);
  if (errors.length) {
    lines.push('');
    for (const c of errors)
      lines.push(`- ${label(c, o.batch)}, ${c.jobs} jobs, ${c.mode}: first error: ${c.firstError}`);
  }
  lines.push('');
  lines.push('Targets (issue #8; set for MariaDB, SQLite held to the same bars for information):');
  lines.push('');
  row('db', 'target', 'measured', 'result');
  row('---', '---', '---', '---');
  for (const v of compareVerdicts(r))
    row(v.db === 'mysql' ? 'MariaDB' : 'SQLite', v.name, v.measured, v.pass ? '✔' : '✘');
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  lines.push('');
  return lines.join('\n');
}

if (require.main === module) {
  runCompare().then(
    (r) => process.stdout.write(`\n${compareReport(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
