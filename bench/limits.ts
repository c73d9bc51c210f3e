import { RateLimiterMemory } from 'rate-limiter-flexible';
import { cores, fmt, freshDatabase, Kind, log, ms, QUIET_MS, SECONDS } from './common';
import { HttpLoad, runHttp } from './load';
import { CpuUse, waitQuiet, watchCpu } from './machine';
import { seed } from './seed';
import { ADMIN_TOKEN, BenchServer, startServer } from './server';
import { Measured, perSecond } from './stats';
import { BATCH_SIZE, layouts, Spread } from './workload';

/**
 * limits (issue 13): what §10 and the review's fixes cost.
 *
 * - rate limiter: the single-update ingest cell (SQLite, `POST …/progress`, 1 project, 8 connections) against
 *   two servers of the same build, seeded alike, one with RATE_LIMIT_PER_KEY=0 (off) and one with a limit
 *   no cell reaches (on: every request pays for the check, none is refused); off and on alternate, 3 rounds.
 * - SQLite synchronous: the ingest cells against SQLITE_SYNCHRONOUS=FULL (the default) and NORMAL, alternating.
 * - answers: one progress write at a time on a workflow carrying 1 MiB of step results (4 × 250 KiB) and on
 *   one carrying none: the answer's size and the request's time, on SQLite and MariaDB.
 */

export interface VariantRun {
  variant: string;
  cell: string;
  m: Measured;
  cpu: CpuUse;
}

export interface AnswerRun {
  db: Kind;
  results: string;
  bytes: number;
  p50: number;
  p99: number;
  serverUsPerWrite: number;
}

export interface LimitsResult {
  limiter: VariantRun[];
  sync: VariantRun[];
  answers: AnswerRun[];
  /** µs per awaited `RateLimiterMemory.consume()`, in process. */
  consumeUs: number;
}

const PAIRS = 10;
const PAIR_SECONDS = 2;
const NEVER_REACHED = '1000000';

function singleLoad(
  url: string,
  token: string,
  spread: Spread,
  connections: number,
  seconds: number,
): HttpLoad {
  return {
    url,
    connections,
    seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    next: () => {
      const u = spread.next();
      return {
        path: `/api/workflows/${u.workflowId}/steps/${u.stepId}/progress`,
        body: JSON.stringify({ current: u.current, total: u.total }),
      };
    },
  };
}

function batchLoad(
  url: string,
  token: string,
  spread: Spread,
  connections: number,
  seconds: number,
): HttpLoad {
  return {
    url,
    connections,
    seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    updatesPerRequest: BATCH_SIZE,
    next: () => ({
      path: '/api/progress',
      body: JSON.stringify({
        updates: spread.batch(BATCH_SIZE).map((u) => ({
          workflowId: u.workflowId,
          stepId: u.stepId,
          current: u.current,
          total: u.total,
        })),
      }),
    }),
  };
}

async function measure(server: BenchServer, load: HttpLoad): Promise<{ m: Measured; cpu: CpuUse }> {
  await waitQuiet(QUIET_MS);
  const w = watchCpu({ server: [server.proc.pid!], bench: [process.pid] });
  const m = await runHttp(load);
  return { m, cpu: w.stop() };
}

/** Two seeded SQLite servers of the same build that differ only in `env`. */
async function pair(envs: Record<string, Record<string, string>>): Promise<{
  servers: Record<string, { server: BenchServer; token: string }>;
  spreads: Spread[];
  stop(): Promise<void>;
}> {
  const spreads = layouts();
  const servers: Record<string, { server: BenchServer; token: string }> = {};
  const dbs: { drop(): Promise<void> }[] = [];
  for (const [name, env] of Object.entries(envs)) {
    const db = await freshDatabase('sqlite');
    dbs.push(db);
    const server = await startServer(db.url, env);
    servers[name] = { server, token: await seed(server.url, ADMIN_TOKEN, spreads) };
  }
  return {
    servers,
    spreads,
    stop: async () => {
      for (const s of Object.values(servers)) await s.server.stop();
      for (const db of dbs) await db.drop();
    },
  };
}

async function limiterOverhead(out: VariantRun[]): Promise<void> {
  log('limits: rate limiter on vs off, single updates, 1 project, 8 conns (SQLite)');
  // NORMAL on both: with FULL the cell waits on fsync, and a per-request CPU cost would hide behind it
  const p = await pair({
    off: { RATE_LIMIT_PER_KEY: '0', SQLITE_SYNCHRONOUS: 'NORMAL' },
    on: { RATE_LIMIT_PER_KEY: NEVER_REACHED, SQLITE_SYNCHRONOUS: 'NORMAL' },
  });
  try {
    const spread = p.spreads[0];
    for (const v of ['off', 'on']) {
      const { server, token } = p.servers[v];
      await runHttp(singleLoad(server.url, token, spread, 8, 2)); // warm-up
    }
    // short runs in back-to-back pairs (a quiet wait before each pair only): the shared machine's load drifts
    // over minutes, and a pair sees nearly the same machine; the report takes the median of the pairs' ratios
    for (let round = 0; round < PAIRS; round++) {
      await waitQuiet(QUIET_MS);
      for (const v of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
        const { server, token } = p.servers[v];
        const w = watchCpu({ server: [server.proc.pid!], bench: [process.pid] });
        const m = await runHttp(singleLoad(server.url, token, spread, 8, PAIR_SECONDS));
        const r = { m, cpu: w.stop() };
        out.push({ variant: v, cell: 'single, 1 project, 8 conns', ...r });
        log(
          `  ${v}: ${fmt(perSecond(r.m))}/s p50 ${ms(r.m.p50)} p99 ${ms(r.m.p99)} server ${cores(r.cpu.groups.server)} cores, failed ${r.m.failures}`,
        );
      }
    }
  } finally {
    await p.stop();
  }
}

async function synchronousCost(out: VariantRun[]): Promise<void> {
  log('limits: SQLite synchronous FULL vs NORMAL on the ingest cells');
  const p = await pair({ FULL: { SQLITE_SYNCHRONOUS: 'FULL' }, NORMAL: { SQLITE_SYNCHRONOUS: 'NORMAL' } });
  try {
    const [one, fifty] = p.spreads;
    const cells: [string, (url: string, token: string) => HttpLoad][] = [
      ['single, 1 project, 1 conn', (u, t) => singleLoad(u, t, one, 1, SECONDS)],
      ['single, 1 project, 8 conns', (u, t) => singleLoad(u, t, one, 8, SECONDS)],
      ['single, 50 projects, 32 conns', (u, t) => singleLoad(u, t, fifty, 32, SECONDS)],
      [`batch${BATCH_SIZE}, 1 project, 8 conns`, (u, t) => batchLoad(u, t, one, 8, SECONDS)],
    ];
    for (const v of ['FULL', 'NORMAL']) {
      const { server, token } = p.servers[v];
      await runHttp(singleLoad(server.url, token, one, 8, 2));
    }
    for (const [cell, load] of cells) {
      for (const v of ['FULL', 'NORMAL']) {
        const { server, token } = p.servers[v];
        const r = await measure(server, load(server.url, token));
        out.push({ variant: v, cell, ...r });
        log(`  ${cell} ${v}: ${fmt(perSecond(r.m))}/s p50 ${ms(r.m.p50)} p99 ${ms(r.m.p99)}`);
      }
    }
  } finally {
    await p.stop();
  }
}

async function post(
  url: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function answerSizes(out: AnswerRun[], kind: Kind): Promise<void> {
  log(`limits: answer size and time of one progress write (${kind})`);
  const db = await freshDatabase(kind);
  const server = await startServer(db.url, { RATE_LIMIT_PER_KEY: NEVER_REACHED });
  try {
    const steps = ['r1', 'r2', 'r3', 'r4', 'live'].map((id) => ({ id }));
    for (const [id, withResults] of [
      ['answers-none', false],
      ['answers-1mib', true],
    ] as const) {
      const created = await post(server.url, '/api/projects/answers/workflows', ADMIN_TOKEN, {
        id,
        type: 'bench',
        steps,
      });
      if (created.status !== 201) throw new Error(`create ${id}: ${created.status} ${created.text}`);
      if (withResults)
        for (const s of ['r1', 'r2', 'r3', 'r4']) {
          const done = await post(server.url, `/api/workflows/${id}/steps/${s}/complete`, ADMIN_TOKEN, {
            result: { blob: 'x'.repeat(250 * 1024) },
          });
          if (done.status !== 200)
            throw new Error(`complete ${s}: ${done.status} ${done.text.slice(0, 300)}`);
        }
      const n = 200;
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 20; i++)
        await post(server.url, `/api/workflows/${id}/steps/live/progress`, ADMIN_TOKEN, {
          current: i + 1,
          total: 1e12,
        });
      await waitQuiet(QUIET_MS);
      const w = watchCpu({ server: [server.proc.pid!] });
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        const res = await post(server.url, `/api/workflows/${id}/steps/live/progress`, ADMIN_TOKEN, {
          current: 100 + i,
          total: 1e12,
        });
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.status !== 200) throw new Error(`progress: ${res.status} ${res.text.slice(0, 300)}`);
        bytes = Buffer.byteLength(res.text);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = w.stop();
      times.sort((a, b) => a - b);
      const run: AnswerRun = {
        db: kind,
        results: withResults ? '4 × 250 KiB (1,000 KiB)' : 'none',
        bytes,
        p50: quantile(times, 0.5),
        p99: quantile(times, 0.99),
        serverUsPerWrite: ((cpu.groups.server ?? NaN) * seconds * 1e6) / n,
      };
      out.push(run);
      log(
        `  ${run.results}: ${fmt(bytes)} bytes, p50 ${ms(run.p50)} ms, p99 ${ms(run.p99)} ms, server ${fmt(run.serverUsPerWrite)} µs CPU/write`,
      );
    }
  } finally {
    await server.stop();
    await db.drop();
  }
}

/**
 * The limiter's own cost, in process and without the machine's noise: µs per `consume()` of the in-memory
 * limiter the server uses, over 1,000 keys, as the guard calls it (awaited).
 */
async function limiterMicro(): Promise<number> {
  const limiter = new RateLimiterMemory({ points: 1_000_000, duration: 1, keyPrefix: 'rl' });
  const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) await limiter.consume(keys[i % keys.length]);
  };
  await run(50_000);
  const n = 300_000;
  const t0 = process.hrtime.bigint();
  await run(n);
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

export async function runLimits(dbs: Kind[]): Promise<LimitsResult> {
  // BENCH_LIMITS=limiter,sync,answers (default all): which parts to run
  const parts = new Set((process.env.BENCH_LIMITS ?? 'limiter,sync,answers').split(',').map((x) => x.trim()));
  const r: LimitsResult = { limiter: [], sync: [], answers: [], consumeUs: await limiterMicro() };
  log(`limits: RateLimiterMemory.consume ${r.consumeUs.toFixed(2)} µs per call`);
  if (parts.has('limiter')) await limiterOverhead(r.limiter);
  if (parts.has('sync')) await synchronousCost(r.sync);
  if (parts.has('answers')) for (const kind of dbs) await answerSizes(r.answers, kind);
  return r;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const usPerUpdate = (r: VariantRun) => ((r.cpu.groups.server ?? NaN) * r.m.seconds * 1e6) / r.m.updates;

export function limitsReport(r: LimitsResult): string {
  const lines: string[] = ['## Limits and abuse (#13)', ''];
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  const variants = (runs: VariantRun[], names: string[], cells: string[]) => {
    row(
      'cell',
      'variant',
      'runs',
      'updates/s (median)',
      'p50 ms',
      'p99 ms',
      'server µs CPU/update (median)',
      'failed',
      'others (cores)',
    );
    row('---', '---', '--:', '--:', '--:', '--:', '--:', '--:', '--:');
    for (const cell of cells)
      for (const v of names) {
        const rs = runs.filter((x) => x.cell === cell && x.variant === v);
        if (!rs.length) continue;
        row(
          cell,
          v,
          String(rs.length),
          fmt(median(rs.map((x) => perSecond(x.m)))),
          ms(median(rs.map((x) => x.m.p50))),
          ms(median(rs.map((x) => x.m.p99))),
          fmt(median(rs.map(usPerUpdate))),
          String(rs.reduce((n, x) => n + x.m.failures, 0)),
          cores(median(rs.map((x) => x.cpu.others))),
        );
      }
  };
  if (r.limiter.length) {
    lines.push(
      'Rate limiter (`RATE_LIMIT_PER_KEY`, in memory) on the single-update ingest cell, SQLite (`SQLITE_SYNCHRONOUS=NORMAL` on both, so that the cell is bound by CPU, not fsync): two servers of the same build, ' +
        `off (\`0\`) and on (a limit of ${NEVER_REACHED}/s that no cell reaches, so every request pays for the check and none is refused), ` +
        `in ${PAIRS} back-to-back pairs of ${PAIR_SECONDS} s runs (order alternating).`,
      '',
    );
    variants(r.limiter, ['off', 'on'], ['single, 1 project, 8 conns']);
    const off = r.limiter.filter((x) => x.variant === 'off');
    const on = r.limiter.filter((x) => x.variant === 'on');
    const pairs = off.map((o, i) => ({ o, n: on[i] })).filter((x) => x.n);
    const pairThr = median(pairs.map(({ o, n }) => perSecond(n.m) / perSecond(o.m)));
    const pairCpu = median(pairs.map(({ o, n }) => usPerUpdate(n) / usPerUpdate(o)));
    const thr = 1 - median(on.map((x) => perSecond(x.m))) / median(off.map((x) => perSecond(x.m)));
    const cpu = median(on.map(usPerUpdate)) / median(off.map(usPerUpdate)) - 1;
    lines.push(
      '',
      `End to end (noisy on a shared machine: see "others"): throughput with the limiter on ${fmt((1 - thr) * 100)} % of off, ` +
        `server CPU per update ${(cpu * 100).toFixed(1)} % higher; median over the ${pairs.length} back-to-back pairs of on/off: ` +
        `throughput ${fmt(pairThr * 100)} %, CPU per update ${fmt(pairCpu * 100)} %. In process, one awaited \`consume()\` costs ${r.consumeUs.toFixed(2)} µs: ` +
        `${((r.consumeUs / median(off.map(usPerUpdate))) * 100).toFixed(2)} % of the ${fmt(median(off.map(usPerUpdate)))} µs of server CPU an update costs with the limiter off (target ≤ 5 %).`,
      '',
    );
  }
  if (r.sync.length) {
    lines.push(
      'SQLite `synchronous` FULL (the default: a 2xx survives a power loss) against NORMAL (`SQLITE_SYNCHRONOUS=NORMAL`), same build, one run each per cell:',
      '',
    );
    variants(r.sync, ['FULL', 'NORMAL'], [...new Set(r.sync.map((x) => x.cell))]);
    lines.push('');
  }
  if (r.answers.length) {
    lines.push(
      'One progress write at a time (`POST …/steps/live/progress`, 200 in a row) on a workflow whose other steps carry results, and on one whose steps carry none:',
      '',
    );
    row('db', 'results of the other steps', 'answer bytes', 'p50 ms', 'p99 ms', 'server µs CPU/write');
    row('---', '---', '--:', '--:', '--:', '--:');
    for (const a of r.answers)
      row(
        a.db === 'mysql' ? 'MariaDB' : 'SQLite',
        a.results,
        fmt(a.bytes),
        ms(a.p50),
        ms(a.p99),
        fmt(a.serverUsPerWrite),
      );
    lines.push('');
  }
  return lines.join('\n');
}
