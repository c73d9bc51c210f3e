import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { mysqlBaseline } from './baseline-mysql';
import { mysqlCreateBaseline } from './baseline-create';
import { sqliteBaseline } from './baseline-sqlite';
import {
  analysisReport,
  AnalysisBenchReport,
  runAnalysisBench,
  runAnalysisThroughServer,
  ServerAnalysisReport,
  serverAnalysisReport,
} from './analysis';
import { claimsReport, ClaimsResult, runClaims } from './claims';
import { runStall, stallReport, StallReport } from './stall';
import { compareReport, CompareReport, runCompare } from './compare';
import { dashboardReport, DashboardResult, runDashboard } from './dashboard';
import { crossNodeReport, CrossNodeResult, runCrossNode } from './cross-node';
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
} from './common';
import { familyReport, FamilyCell, runFamily } from './family';
import { eventsReport, EventsRow, runEvents } from './events';
import { fanoutReport, FanoutResult, runFanout } from './fanout';
import { limitsReport, LimitsResult, runLimits } from './limits';
import { HttpLoad, runHttp } from './load';
import { CpuUse, waitQuiet, watchCpu } from './machine';
import { ADMIN_TOKEN, BenchServer, startNoopServer, startServer } from './server';
import { eventCount, seed } from './seed';
import { Measured, perSecond } from './stats';
import { BATCH_SIZE, createBody, layouts, Spread, STEPS_PER_WORKFLOW } from './workload';
import { runWebhooks, WebhookBenchRow, webhooksReport } from './webhooks';

/**
 * `npm run bench`: suites chosen with BENCH_SUITES=core,noop,fanout,claims,analysis,stall,compare,crossnode,family,limits,events,webhooks,dashboard
 * (default: all of them).
 *
 * core: the real server (a child process, as `npm start` runs it) driven over HTTP keep-alive
 * connections by autocannon, next to a raw baseline that runs the same transaction straight through
 * mysql2 / better-sqlite3 on its own fresh database with the same schema and rows. Each Stepline cell is
 * followed at once by its baseline cell, so that both see the same machine state.
 * noop: the bare Nest no-op POST on Express and on Fastify, alternating (also run by core).
 * fanout: live delivery to 100 … 5,000 Socket.IO subscribers against bare Socket.IO and plain ws servers,
 * 15,000 idle sockets, the outside harness's one-process shape (fanout.ts; why the old baseline was slow: fanout-why.ts).
 * claims: queue claims and claim → complete round trips on MariaDB against raw mysql2 (claims.ts).
 * analysis: the four analyzers on the repository's own node_modules, in-process and through the server (analysis.ts).
 * stall: /health latency while the server analyses crafted files (stall.ts; a few seconds).
 * compare: Stepline against a hand-wired BullMQ → QueueEvents → Socket.IO pipeline, end to end (compare.ts).
 * crossnode: two instances on MariaDB + Redis, POST to A → subscribers on both (cross-node.ts).
 * limits: the rate limiter's overhead, SQLite FULL vs NORMAL, progress answers on a workflow with 1 MiB of results (limits.ts).
 * events: reset snapshots of 1,000 active workflows, the bytes `attempt` adds, the slow-step sweep (events.ts).
 * webhooks: delivered events/s to one fast local receiver, and commit → receipt latency at 100 events/s (webhooks.ts).
 * dashboard: the page in Chromium: time to first live view with 1,000 workflows, main-thread ms/s while 50 workflows
 * update at 10/s each, the gzipped size of its scripts and stylesheets (dashboard.ts).
 *
 *   BENCH_DB=sqlite|mysql|both (both)   BENCH_SECONDS=5 (per cell)   BENCH_CONNECTIONS=1,8,32
 *   BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306/stepline_bench_test (databases are created beside it and dropped)
 *   BENCH_QUIET_MS=8000: before each cell, wait up to this long for the (shared) machine to go idle; 0: never
 *   BENCH_PROF=1: the server runs with --cpu-prof; profiles land in bench/profiles/
 *   BENCH_RESULTS: where the markdown goes (bench/results.md)
 */
const SUITES = (() => {
  const all = [
    'core',
    'noop',
    'fanout',
    'claims',
    'analysis',
    'stall',
    'compare',
    'crossnode',
    'family',
    'limits',
    'events',
    'webhooks',
    'dashboard',
  ];
  const v = (process.env.BENCH_SUITES ?? all.join(','))
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);
  const bad = v.filter((x) => !all.includes(x));
  if (bad.length || v.length === 0)
    throw new Error(`BENCH_SUITES takes ${all.join(', ')}; not "${bad.join(',')}"`);
  return new Set(v);
})();
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,8,32').split(',').map(Number);
const DBS: Kind[] = (() => {
  const v = (process.env.BENCH_DB ?? 'both').toLowerCase();
  if (v === 'both') return ['sqlite', 'mysql'];
  if (v === 'sqlite' || v === 'mysql') return [v];
  if (v === 'mariadb') return ['mysql'];
  throw new Error(`BENCH_DB must be sqlite, mysql or both, not "${v}"`);
})();
const RESULTS = process.env.BENCH_RESULTS ?? join(ROOT, 'bench', 'results.md');

/** One measured run with the CPU each party used meanwhile. */
interface Run {
  m: Measured;
  cpu: CpuUse;
}

interface Cell {
  db: Kind;
  batch: number;
  spread: string;
  connections: number;
  app: Run;
  /** Events the server committed during the cell, against the updates it answered 2xx. */
  events: string;
  raw: Run;
}

interface Reference {
  db: Kind;
  name: string;
  connections: number;
  run: Run;
}

const cells: Cell[] = [];
let noopRef: Run | undefined;
/** The no-op POST on Express and on Fastify, NOOP_ROUNDS alternating runs each. */
const noopRuns: { adapter: 'express' | 'fastify'; run: Run }[] = [];
const NOOP_ROUNDS = Number(process.env.BENCH_NOOP_ROUNDS ?? 3);
const refs: Reference[] = [];
let fanout: FanoutResult | undefined;
let claims: ClaimsResult | undefined;
let analysis: { engine: AnalysisBenchReport; server: ServerAnalysisReport } | undefined;
let stall: StallReport | undefined;
let compare: CompareReport | undefined;
let crossNode: CrossNodeResult | undefined;
let family: FamilyCell[] | undefined;
let limits: LimitsResult | undefined;
let events: EventsRow[] | undefined;
let webhooks: WebhookBenchRow[] | undefined;
let dashboard: DashboardResult[] | undefined;
const versions: Record<string, string> = {};
/** 1-minute load average before and after: the machine is shared, and a busy one skews every figure. */
const load = { before: loadavg()[0], after: 0 };
/** Whose CPU to account for: this process (load generator or raw loop), the server, the database server. */
const pids: Record<'bench' | 'server' | 'db', number[]> = { bench: [process.pid], server: [], db: [] };

const dbName = (k: Kind) => (k === 'mysql' ? 'MariaDB' : 'SQLite');
const scenarioName = (batch: number) => (batch === 1 ? 'single' : `batch${batch}`);
const ratio = (c: Cell) => perSecond(c.app.m) / perSecond(c.raw.m);

/** Which code was measured: the commit, and whether src/ or migrations/ differed from it. */
function revision(): string {
  if (process.env.BENCH_REVISION) return process.env.BENCH_REVISION;
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', ROOT, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'migrations') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown revision';
  }
}

/** Waits for a quiet machine, then runs `fn`, accounting for the CPU everyone used meanwhile. */
async function measured(fn: () => Promise<Measured> | Measured): Promise<Run> {
  await waitQuiet(QUIET_MS);
  const w = watchCpu(pids);
  const m = await fn();
  return { m, cpu: w.stop() };
}

/** Progress updates through the API for `seconds`; checks that each accepted update committed one event. */
async function progressCell(
  server: BenchServer,
  token: string,
  spread: Spread,
  batch: number,
  connections: number,
  seconds: number,
): Promise<{ app: Run; events: string }> {
  const before = await eventCount(server.url, ADMIN_TOKEN, spread.projects);
  const app = await measured(() =>
    runHttp({
      url: server.url,
      connections,
      seconds,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      updatesPerRequest: batch,
      next:
        batch === 1
          ? () => {
              const u = spread.next();
              return {
                path: `/api/workflows/${u.workflowId}/steps/${u.stepId}/progress`,
                body: JSON.stringify({ current: u.current, total: u.total }),
              };
            }
          : () => ({
              path: '/api/progress',
              body: JSON.stringify({
                updates: spread.batch(batch).map((u) => ({
                  workflowId: u.workflowId,
                  stepId: u.stepId,
                  current: u.current,
                  total: u.total,
                })),
              }),
            }),
    }),
  );
  // requests still in flight when the clock stopped may commit after it: let them land
  await new Promise((r) => setTimeout(r, 500));
  const delta = (await eventCount(server.url, ADMIN_TOKEN, spread.projects)) - before;
  const accepted = app.m.updates;
  const inFlight = connections * batch;
  const events =
    delta < accepted
      ? `FEWER events (${delta}) than accepted updates (${accepted})`
      : delta > accepted + inFlight
        ? `MORE events (${delta}) than accepted updates (${accepted}) + in flight (${inFlight})`
        : 'ok';
  return { app, events };
}

async function referenceCells(kind: Kind, server: BenchServer, token: string, rawUrl: string): Promise<void> {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const run = async (
    name: string,
    connections: number,
    load: Omit<HttpLoad, 'url' | 'connections' | 'seconds'>,
  ) => {
    const r = await measured(() => runHttp({ url: server.url, connections, seconds: SECONDS, ...load }));
    refs.push({ db: kind, name, connections, run: r });
    log(
      `  ${name} ×${connections}: ${fmt(perSecond(r.m))}/s p50 ${ms(r.m.p50)} p99 ${ms(r.m.p99)}${r.m.failures ? ` (${r.m.failures} failed)` : ''}`,
    );
  };
  await run('GET /health (one SELECT 1)', 8, {
    method: 'GET',
    headers: {},
    next: () => ({ path: '/health' }),
  });
  await run('POST answered 400 by validation (no database; logged at warn)', 8, {
    method: 'POST',
    headers: auth,
    expect: 400,
    next: () => ({ path: '/api/progress', body: '{"updates":[]}' }),
  });
  let n = 0;
  // create, then (MariaDB) the raw transaction that commits the same rows, CREATE_RUNS times each
  for (let rep = 0; rep < CREATE_RUNS; rep++) {
    for (const connections of [1, 8]) {
      await run(CREATE_NAME, connections, {
        method: 'POST',
        headers: auth,
        expect: 201,
        next: () => ({
          path: `/api/projects/c${String(n++ % 50).padStart(2, '0')}/workflows`,
          body: createBody(),
        }),
      });
      if (kind !== 'mysql') continue;
      const r = await measured(() => mysqlCreateBaseline(rawUrl, connections, SECONDS));
      refs.push({ db: kind, name: RAW_CREATE_NAME, connections, run: r });
      log(
        `  ${RAW_CREATE_NAME} ×${connections}: ${fmt(perSecond(r.m))}/s p50 ${ms(r.m.p50)} p99 ${ms(r.m.p99)}` +
          `${r.m.failures ? ` (${r.m.failures} failed)` : ''}, load ${loadavg()[0].toFixed(1)}`,
      );
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const CREATE_NAME = `create workflow (${STEPS_PER_WORKFLOW} steps, over 50 projects)`;
const RAW_CREATE_NAME = `raw create transaction (${STEPS_PER_WORKFLOW} step rows, counter, workflow row, event)`;
/** Runs of the single-update 8-connection cells and their raw baselines (the first is the table's); the p99 targets take the median ratio. */
const PROGRESS_RUNS = Number(process.env.BENCH_PROGRESS_RUNS ?? 3);
const progressRuns: { db: Kind; spread: string; app: number; raw: number }[] = [];
/** Runs of the create cell and its raw baseline, alternating; the targets take the median. */
const CREATE_RUNS = Number(process.env.BENCH_CREATE_RUNS ?? 3);

/**
 * The bare Nest app's no-op POST, on @nestjs/platform-express and on @nestjs/platform-fastify, NOOP_ROUNDS
 * times each, alternating (the order flips each round), each run on a fresh server after a 1 s warm-up:
 * how fast the framework alone is on this machine today, and what the HTTP adapter changes.
 */
async function noopReference(): Promise<void> {
  for (let round = 0; round < NOOP_ROUNDS; round++) {
    const order: ('express' | 'fastify')[] =
      round % 2 === 0 ? ['express', 'fastify'] : ['fastify', 'express'];
    for (const adapter of order) {
      const noop = await startNoopServer(adapter);
      try {
        pids.server = [noop.proc.pid!];
        const load: HttpLoad = {
          url: noop.url,
          connections: 8,
          seconds: 1,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          next: () => ({ path: '/noop', body: '{"a":1}' }),
        };
        await runHttp(load);
        const r = await measured(() => runHttp({ ...load, seconds: SECONDS }));
        noopRuns.push({ adapter, run: r });
        log(
          `bare Nest (${adapter}) no-op POST ×8: ${fmt(perSecond(r.m))}/s p50 ${ms(r.m.p50)} p99 ${ms(r.m.p99)}` +
            ` · server ${cores(r.cpu.groups.server)} others ${cores(r.cpu.others)} cores`,
        );
      } finally {
        pids.server = [];
        await noop.stop();
      }
    }
  }
  noopRef = medianRun(noopRuns.filter((x) => x.adapter === 'express').map((x) => x.run));
}

/** The run with the median requests/s. */
function medianRun(runs: Run[]): Run | undefined {
  const s = [...runs].sort((a, b) => perSecond(a.m) - perSecond(b.m));
  return s[Math.floor((s.length - 1) / 2)];
}

function noopReport(): string {
  const lines: string[] = [];
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  lines.push('## No-op route: Express and Fastify');
  lines.push('');
  lines.push(
    'The same bare Nest app (one controller, a no-op `POST /noop` returning `{ ok }`, no guard, pipe, logger or ' +
      'database) on `@nestjs/platform-express` and on `@nestjs/platform-fastify`, 8 keep-alive connections ' +
      `(autocannon in the bench process), ${SECONDS} s a run after a 1 s warm-up, ${NOOP_ROUNDS} runs each ` +
      'alternating (the order flips each round), each run on a fresh server. Median of the runs, and every run.',
  );
  lines.push('');
  row(
    'adapter',
    'requests/s (median)',
    'runs',
    'p50 ms',
    'p99 ms',
    'failed',
    'server cores',
    'server µs CPU/request',
    'others',
  );
  row('---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:');
  const med: Record<string, number> = {};
  for (const adapter of ['express', 'fastify'] as const) {
    const runs = noopRuns.filter((x) => x.adapter === adapter).map((x) => x.run);
    const m = medianRun(runs);
    if (!m) continue;
    med[adapter] = perSecond(m.m);
    row(
      adapter === 'express' ? 'Express' : 'Fastify',
      fmt(perSecond(m.m)),
      runs.map((r) => fmt(perSecond(r.m))).join(' / '),
      ms(m.m.p50),
      ms(m.m.p99),
      String(runs.reduce((n, r) => n + r.m.failures, 0)),
      cores(m.cpu.groups.server),
      usPerUpdate(m, 'server'),
      cores(m.cpu.others),
    );
  }
  if (med.express && med.fastify) {
    lines.push('');
    lines.push(`Fastify / Express: ${(med.fastify / med.express).toFixed(2)}× the requests/s (medians).`);
  }
  lines.push('');
  return lines.join('\n');
}

async function benchDatabase(kind: Kind): Promise<void> {
  log(`\n== ${dbName(kind)} ==`);
  const appDb = await freshDatabase(kind);
  const rawDb = await freshDatabase(kind);
  const spreads = layouts();
  let server: BenchServer | undefined;
  try {
    if (kind === 'mysql') {
      const c = await createConnection(MYSQL_URL.replace(/\/[^/]*$/, '/'));
      const [rows] = await c.query<any[]>('SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f');
      versions.mysql = `${rows[0].v} (innodb_flush_log_at_trx_commit=${rows[0].f})`;
      await c.end();
    }
    // the baseline's database: migrated and seeded by the app itself, then the app goes away
    const prep = await startServer(rawDb.url);
    await seed(prep.url, ADMIN_TOKEN, spreads);
    await prep.stop();

    server = await startServer(appDb.url, {}, profArgs(kind));
    pids.server = [server.proc.pid!];
    pids.db = kind === 'mysql' ? databasePids() : [];
    const token = await seed(server.url, ADMIN_TOKEN, spreads);
    log(
      `seeded ${spreads.map((s) => `${s.label}: ${s.targets.length} workflows`).join(', ')}, ${STEPS_PER_WORKFLOW} running steps each`,
    );

    // warm both paths up (JIT, pools, buffer pool) before anything is measured
    const rawFile = rawDb.url.slice('sqlite:'.length);
    await progressCell(server, token, spreads[1], 1, 8, 2);
    await progressCell(server, token, spreads[1], BATCH_SIZE, 8, 1);
    if (kind === 'mysql') await mysqlBaseline(rawDb.url, spreads[1], 1, 8, 1);
    else sqliteBaseline(rawFile, spreads[1], 1, 1);

    await referenceCells(kind, server, token, rawDb.url);

    for (const batch of [1, BATCH_SIZE]) {
      for (const spread of spreads) {
        // SQLite's raw loop is synchronous: one writer, no waiting, so one run serves every connection count
        const sqliteRaw =
          kind === 'sqlite'
            ? await measured(() => sqliteBaseline(rawFile, spread, batch, SECONDS))
            : undefined;
        for (const connections of CONNECTIONS) {
          const { app, events } = await progressCell(server, token, spread, batch, connections, SECONDS);
          const raw =
            sqliteRaw ??
            (await measured(() => mysqlBaseline(rawDb.url, spread, batch, connections, SECONDS)));
          const cell: Cell = { db: kind, batch, spread: spread.label, connections, app, events, raw };
          cells.push(cell);
          if (batch === 1 && connections === 8)
            progressRuns.push({ db: kind, spread: spread.label, app: app.m.p99, raw: raw.m.p99 });
          log(
            `  ${scenarioName(batch)} ${spread.label} ×${connections}: ${fmt(perSecond(app.m))}/s p50 ${ms(app.m.p50)} p99 ${ms(app.m.p99)}` +
              ` | raw ${fmt(perSecond(raw.m))}/s | ${ratio(cell).toFixed(2)}×` +
              ` | server ${cores(app.cpu.groups.server)} cores, others ${cores(app.cpu.others)}/${cores(raw.cpu.others)}` +
              (app.m.failures ? ` | ${app.m.failures} failed` : '') +
              (app.m.rejected ? ` | ${app.m.rejected} rejected` : '') +
              (events !== 'ok' ? ` | ${events}` : ''),
          );
        }
      }
    }
    // the single-update p99 ratios are noisy: those cells and their baselines again, alternating
    if (CONNECTIONS.includes(8))
      for (let rep = 1; rep < PROGRESS_RUNS; rep++)
        for (const spread of spreads) {
          const { app } = await progressCell(server, token, spread, 1, 8, SECONDS);
          const raw =
            kind === 'sqlite'
              ? await measured(() => sqliteBaseline(rawFile, spread, 1, SECONDS))
              : await measured(() => mysqlBaseline(rawDb.url, spread, 1, 8, SECONDS));
          progressRuns.push({ db: kind, spread: spread.label, app: app.m.p99, raw: raw.m.p99 });
          log(`  single ${spread.label} ×8, run ${rep + 1}: p99 ${ms(app.m.p99)} | raw p99 ${ms(raw.m.p99)}`);
        }
  } finally {
    if (server) {
      const died = server.exit();
      if (died) log(`the server ${died} during the run; its last output:\n${server.output().slice(-3000)}`);
      await server.stop();
      const errors = server
        .output()
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l));
      if (errors.length) log(`server logged ${errors.length} error lines, first: ${errors[0].slice(0, 400)}`);
    }
    pids.server = [];
    await appDb.drop();
    await rawDb.drop();
  }
}

// ---- report -------------------------------------------------------------------------------------------------

interface Target {
  db: Kind;
  name: string;
  measured: string;
  pass: boolean;
  stretch?: boolean;
}

function targets(): Target[] {
  const out: Target[] = [];
  const cell = (db: Kind, batch: number, spread: string, c: number) =>
    cells.find((x) => x.db === db && x.batch === batch && x.spread === spread && x.connections === c);
  for (const db of DBS) {
    for (const spread of ['1 project', '50 projects']) {
      const x = cell(db, 1, spread, 32);
      if (x)
        out.push({
          db,
          name: `single updates, ${spread}, 32 conns ≥ 0.5 × raw`,
          measured: `${ratio(x).toFixed(2)}×`,
          pass: ratio(x) >= 0.5,
        });
    }
    for (const spread of ['1 project', '50 projects']) {
      const x = cell(db, BATCH_SIZE, spread, 32);
      if (x)
        out.push({
          db,
          name: `batch${BATCH_SIZE}, ${spread}, 32 conns ≥ 0.5 × raw batched`,
          measured: `${ratio(x).toFixed(2)}×`,
          pass: ratio(x) >= 0.5,
        });
    }
    for (const spread of ['1 project', '50 projects']) {
      const x = cell(db, 1, spread, 8);
      if (x)
        out.push({
          db,
          name: `progress update p99 < 20 ms, ${spread}, 8 conns`,
          measured: `${ms(x.app.m.p99)} ms`,
          pass: x.app.m.p99 < 20,
        });
    }
    for (const spread of ['1 project', '50 projects']) {
      const runs = progressRuns.filter((r) => r.db === db && r.spread === spread && r.raw > 0);
      if (!runs.length) continue;
      const mid = median(runs.map((r) => r.app / r.raw));
      out.push({
        db,
        name: `progress update p99 ≤ 1.0 × the raw transaction's p99, ${spread}, 8 conns (median of ${runs.length} same-run ratios)`,
        measured: `${mid.toFixed(2)}× (runs: ${runs.map((r) => `${(r.app / r.raw).toFixed(2)}: ${ms(r.app)} vs ${ms(r.raw)} ms`).join('; ')})`,
        pass: mid <= 1,
      });
    }
    for (const connections of [1, 8]) {
      const apps = refs.filter((r) => r.db === db && r.name === CREATE_NAME && r.connections === connections);
      const raws = refs.filter(
        (r) => r.db === db && r.name === RAW_CREATE_NAME && r.connections === connections,
      );
      if (!apps.length) continue;
      const conns = `${connections} conn${connections > 1 ? 's' : ''}`;
      const appP99 = median(apps.map((r) => r.run.m.p99));
      out.push({
        db,
        name: `create-workflow p99 < 10 ms, ${conns} (median of ${apps.length})`,
        measured: `${ms(appP99)} ms`,
        pass: appP99 < 10,
      });
      if (raws.length !== apps.length || raws.some((r) => r.run.m.failures > 0 || r.run.m.ops === 0))
        continue;
      // each run's ratio is against the raw run right after it; the median of those ratios
      const ratios = apps.map((a, i) => a.run.m.p99 / raws[i].run.m.p99);
      const mid = median(ratios);
      out.push({
        db,
        name: `create p99 ≤ 1.5 × the raw insert transaction's p99, ${conns} (median of ${ratios.length} same-run ratios)`,
        measured:
          `${mid.toFixed(2)}× (runs: ${ratios.map((r) => r.toFixed(2)).join(', ')}; create p99 ` +
          `${apps.map((r) => ms(r.run.m.p99)).join(' / ')} ms, raw ${raws.map((r) => ms(r.run.m.p99)).join(' / ')} ms)`,
        pass: mid <= 1.5,
      });
    }
    const x = cell(db, 1, '1 project', 32);
    if (x)
      out.push({
        db,
        name: 'stretch: single updates, 1 project, 32 conns ≥ 2 × raw one-tx-per-update',
        measured: `${ratio(x).toFixed(2)}×`,
        pass: ratio(x) >= 2,
        stretch: true,
      });
  }
  return out;
}

/** CPU time per update, in microseconds, of one party. */
const usPerUpdate = (r: Run, group: string) => {
  const c = r.cpu.groups[group];
  return c === undefined || !Number.isFinite(c) || r.m.updates === 0
    ? '–'
    : fmt((c * r.m.seconds * 1e6) / r.m.updates);
};

function report(): string {
  const cpu = cpus();
  const parts = [
    '# Stepline benchmark',
    '',
    `${new Date().toISOString()} · ${revision()} · Node ${process.version} · ${cpu.length} × ${cpu[0]?.model ?? 'cpu'} · ${Math.round(totalmem() / 2 ** 30)} GiB` +
      (versions.mysql ? ` · MariaDB ${versions.mysql}` : '') +
      ` · suites: ${[...SUITES].join(', ')} · ${SECONDS} s per cell · load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after`,
    '',
  ];
  if (noopRuns.length) parts.push(noopReport());
  if (SUITES.has('core')) parts.push('## REST writes (core)', '', coreReport());
  if (fanout) parts.push(fanoutReport(fanout));
  if (family) parts.push(familyReport(family));
  if (claims) parts.push(claimsReport(claims));
  if (analysis)
    parts.push(
      '## Project analyses (#6)',
      '',
      analysisReport(analysis.engine),
      '',
      serverAnalysisReport(analysis.server),
      '',
    );
  if (stall) parts.push(stallReport(stall));
  if (compare) parts.push(compareReport(compare));
  if (crossNode) parts.push(crossNodeReport(crossNode));
  if (limits) parts.push(limitsReport(limits));
  if (events) parts.push(eventsReport(events));
  if (webhooks) parts.push(webhooksReport(webhooks));
  if (dashboard) parts.push(dashboardReport(dashboard));
  return parts.join('\n');
}

function coreReport(): string {
  const lines: string[] = [];
  const cpu = cpus();
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  lines.push(
    `Updates go to running steps of ${STEPS_PER_WORKFLOW}-step workflows: "1 project" = 32 workflows in one project, ` +
      '"50 projects" = 4 workflows in each of 50. single = `POST /api/workflows/:id/steps/:stepId/progress`, ' +
      `batch${BATCH_SIZE} = \`POST /api/progress\` with ${BATCH_SIZE} updates (random workflows and steps of the layout). ` +
      'conns = keep-alive connections, one request in flight each (autocannon, in the bench process). Latencies are per request. ' +
      '"raw" = the same transaction (the same SQL statements, in the same order) straight through mysql2 / better-sqlite3 ' +
      'with no framework, one transaction per request, on its own database seeded the same way; N conns = N loops on N ' +
      'connections (SQLite: one synchronous loop, the same figure for every connection count). "events" checks that the ' +
      'server committed exactly one event per accepted update. "failed" counts non-2xx answers, socket errors and ' +
      'updates a batch answered `ok: false`.',
  );
  lines.push('');
  row(
    'db',
    'updates',
    'spread',
    'conns',
    'Stepline updates/s',
    'p50 ms',
    'p99 ms',
    'failed',
    'events',
    'raw updates/s',
    'raw p50 ms',
    'raw p99 ms',
    'ratio',
  );
  row('---', '---', '---', '--:', '--:', '--:', '--:', '--:', '---', '--:', '--:', '--:', '--:');
  for (const c of cells)
    row(
      dbName(c.db),
      scenarioName(c.batch),
      c.spread,
      String(c.connections),
      fmt(perSecond(c.app.m)),
      ms(c.app.m.p50),
      ms(c.app.m.p99),
      String(c.app.m.failures + c.app.m.rejected),
      c.events === 'ok' ? 'ok' : `**${c.events}**`,
      fmt(perSecond(c.raw.m)),
      ms(c.raw.m.p50),
      ms(c.raw.m.p99),
      `${ratio(c).toFixed(2)}×`,
    );
  lines.push('');
  lines.push('Reference requests:');
  lines.push('');
  row(
    'db',
    'request',
    'conns',
    'requests/s',
    'p50 ms',
    'p99 ms',
    'failed',
    'server cores',
    'server µs CPU/request',
  );
  row('---', '---', '--:', '--:', '--:', '--:', '--:', '--:', '--:');
  if (noopRef)
    row(
      '–',
      'bare Nest app (Express), no-op `POST` (no guard, logger, interceptor or database: the framework floor; median run, Fastify beside it above)',
      '8',
      fmt(perSecond(noopRef.m)),
      ms(noopRef.m.p50),
      ms(noopRef.m.p99),
      String(noopRef.m.failures),
      cores(noopRef.cpu.groups.server),
      usPerUpdate(noopRef, 'server'),
    );
  for (const r of refs)
    row(
      dbName(r.db),
      r.name,
      String(r.connections),
      fmt(perSecond(r.run.m)),
      ms(r.run.m.p50),
      ms(r.run.m.p99),
      String(r.run.m.failures),
      cores(r.run.cpu.groups.server),
      usPerUpdate(r.run, 'server'),
    );
  lines.push('');
  lines.push('Targets (the issue sets them for MariaDB; SQLite is held to the same bars for information):');
  lines.push('');
  row('db', 'target', 'measured', 'result');
  row('---', '---', '--:', '---');
  for (const t of targets())
    row(dbName(t.db), t.name, t.measured, t.pass ? 'pass' : t.stretch ? 'not reached' : '**FAIL**');
  lines.push('');
  lines.push(
    `Where the time goes: CPU used during each cell, in cores (of ${cpu.length}), by the server, the database server ` +
      '(MariaDB; SQLite runs inside its client), the bench process (the load generator, or the raw loop) and everything else ' +
      'on the machine ("others": the machine is shared, and a cell where others is well above 0 is skewed); and the ' +
      "server's, or the raw client's, CPU per update.",
  );
  lines.push('');
  row(
    'db',
    'updates',
    'spread',
    'conns',
    'server',
    'db',
    'load gen',
    'others',
    'server µs/update',
    'raw: client',
    'raw: db',
    'raw: others',
    'raw client µs/update',
  );
  row('---', '---', '---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:');
  for (const c of cells)
    row(
      dbName(c.db),
      scenarioName(c.batch),
      c.spread,
      String(c.connections),
      cores(c.app.cpu.groups.server),
      cores(c.db === 'mysql' ? c.app.cpu.groups.db : undefined),
      cores(c.app.cpu.groups.bench),
      cores(c.app.cpu.others),
      usPerUpdate(c.app, 'server'),
      cores(c.raw.cpu.groups.bench),
      cores(c.db === 'mysql' ? c.raw.cpu.groups.db : undefined),
      cores(c.raw.cpu.others),
      usPerUpdate(c.raw, 'bench'),
    );
  lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  if (SUITES.has('core') || SUITES.has('noop')) await noopReference();
  if (SUITES.has('core')) for (const kind of DBS) await benchDatabase(kind);
  if (SUITES.has('fanout')) fanout = await runFanout();
  if (SUITES.has('claims')) {
    claims = await runClaims();
    versions.mysql ??= claims.mysqlVersion;
  }
  if (SUITES.has('analysis')) {
    log('analysis: the engine on node_modules, then through the server');
    analysis = { engine: await runAnalysisBench(), server: await runAnalysisThroughServer() };
  }
  if (SUITES.has('stall')) {
    log('stall: /health while the server analyses crafted files');
    stall = await runStall();
  }
  if (SUITES.has('compare')) compare = await runCompare();
  if (SUITES.has('crossnode')) crossNode = await runCrossNode();
  if (SUITES.has('family')) family = await runFamily(DBS);
  if (SUITES.has('limits')) limits = await runLimits(DBS);
  if (SUITES.has('events')) events = await runEvents(DBS);
  if (SUITES.has('webhooks')) webhooks = await runWebhooks(DBS);
  if (SUITES.has('dashboard')) dashboard = await runDashboard(DBS);
  load.after = loadavg()[0];
  const text = report();
  process.stdout.write(`\n${text}\n`);
  writeFileSync(RESULTS, text);
  // the fan-out figures in full (every run of every cell), to recompute or re-render without running again
  if (fanout) writeFileSync(RESULTS.replace(/\.md$/, '') + '-fanout.json', JSON.stringify(fanout, null, 1));
  log(`written to ${RESULTS} in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
