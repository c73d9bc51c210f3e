import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import {
  Connection,
  createConnection,
  createPool,
  PoolConnection,
  ResultSetHeader,
  RowDataPacket,
} from 'mysql2/promise';
import { STEP_COLUMNS, WORKFLOW_COLUMNS } from '../src/modules/workflows/database/workflow.mapper';
import { api, postJson as post } from './http';
import { cores, databasePids, fmt, freshDatabase, log, ms, QUIET_MS, SECONDS } from './common';
import { CpuUse, waitQuiet, watchCpu } from './machine';
import {
  insertEvents,
  MYSQL_SEQ_ONE,
  selectSteps,
  selectWorkflows,
  STEP_SELECT,
  upsertSteps,
  upsertWorkflows,
  WF_SELECT,
} from './raw-transaction';
import { ADMIN_TOKEN, BenchServer, startServer } from './server';
import { Latencies } from './stats';

/**
 * The claims suite (queues, §6), on MariaDB: workers claim queued one-step workflows through the real API
 * (`POST /api/queues/q/claim`, waitMs 0), and, for round trips, complete the claimed workflow's step
 * (`POST /api/workflows/:id/steps/s/complete` with `X-Lease-Token`). Each worker is one keep-alive
 * connection with one request in flight, and loops for BENCH_SECONDS.
 *
 * The raw baseline runs the same work through mysql2 on its own database (migrated by the app, seeded the
 * same way), one connection per worker, READ COMMITTED as the app: the claim is the textbook one-statement
 * claim (SELECT … ORDER BY available_at, created_at, created_seq LIMIT 1 FOR UPDATE SKIP LOCKED; the
 * queue_workers upsert; the lease UPDATE; the app instead reads its candidates without locks and locks one by
 * primary key, because InnoDB's locking scan also locks the row past its range, i.e. the head of the next
 * queue, which a one-queue baseline never meets) followed by reading the claimed workflow and its
 * steps (the API answers with them); a round trip adds the app's completion transaction (the workflow
 * FOR UPDATE and its steps, lease check, step row, counter, workflow row, its four events). The app also
 * records each completed run for ETAs in a transaction of its own, off the request path (a saga); the
 * baseline does not.
 *
 * Seeding: one template workflow is created through the API, then cloned in SQL (INSERT … SELECT over
 * MariaDB's seq_1_to_N) into each cell's own queue, with creation times one millisecond apart in the past;
 * so every cell starts on a full queue of BENCH_CLAIM_SEED workflows of its own.
 *
 *   BENCH_CLAIM_SEED (max(20000, 4000 × BENCH_SECONDS))   BENCH_CLAIM_WORKERS=8,32
 */
const WORKERS = (process.env.BENCH_CLAIM_WORKERS ?? '8,32').split(',').map(Number);
/** Runs of the 8-worker claim cell and its raw baseline (the first is the table's), for the p99 ratio's median. */
const CLAIM_RUNS = Number(process.env.BENCH_CLAIM_RUNS ?? 3);
const SEED = Number(process.env.BENCH_CLAIM_SEED ?? Math.max(20_000, 4000 * SECONDS));
const PROJECT = 'cq';
const TEMPLATE = 'wf-template';
const STEP = 's';
/** Long enough that no lease expires (and is requeued by the reaper) during the run. */
const LEASE_MS = 600_000;

type Mode = 'claim' | 'round trip';

export interface ClaimRun {
  ops: number;
  seconds: number;
  claims: number;
  claimP50: number;
  claimP99: number;
  /** Whole claim → complete round trips (mode 'round trip'). */
  rtP50: number;
  rtP99: number;
  /** 204 answers (raw: a claim that found nothing): the queue ran dry, or every candidate was locked. */
  empty: number;
  failures: number;
  firstError?: string;
  /** Workflows claimed more than once within the cell (must be 0). */
  doubles: number;
  cpu: CpuUse;
}

export interface ClaimCell {
  mode: Mode;
  workers: number;
  app: ClaimRun;
  raw: ClaimRun;
}

export interface ClaimsResult {
  cells: ClaimCell[];
  /** The claim cell at 8 workers and its raw baseline, run CLAIM_RUNS times alternating: each pair's p99s. */
  p99Runs: { app: number; raw: number; rawFailed: boolean }[];
  seed: number;
  mysqlVersion: string;
  claimIndex: string;
  /** Error lines the server logged during the suite, and the first few distinct messages. */
  serverErrors: number;
  serverErrorSample: string[];
}

const perSecond = (r: ClaimRun) => (r.seconds > 0 ? r.ops / r.seconds : 0);
const ratio = (c: ClaimCell) => perSecond(c.app) / perSecond(c.raw);
const queueName = (mode: Mode, workers: number) => `${mode === 'claim' ? 'c' : 'r'}${workers}`;

// ---- seeding -----------------------------------------------------------------------------------------------

/** A producer key and the template workflow, through the API of a server running on this database. */
async function prepare(server: BenchServer): Promise<string> {
  const key = await api(server.url, ADMIN_TOKEN, '/api/keys', {
    name: 'claims',
    role: 'producer',
    projects: ['*'],
  });
  if (key.status !== 201) throw new Error(`create key: HTTP ${key.status}`);
  const token = key.body.key as string;
  const wf = await api(server.url, token, `/api/projects/${PROJECT}/workflows`, {
    id: TEMPLATE,
    type: 'job',
    name: 'claim benchmark',
    queue: 'template',
    steps: [{ id: STEP, name: 'the step' }],
  });
  if (wf.status !== 201) throw new Error(`create template: HTTP ${wf.status} ${JSON.stringify(wf.body)}`);
  return token;
}

async function columnsOf(c: Connection, table: string): Promise<string[]> {
  const [rows] = await c.query<RowDataPacket[]>(
    'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position',
    [table],
  );
  return rows.map((r) => String(r.c));
}

/** Clones the template into `n` queued workflows of `queue`, the oldest first in id order. */
async function seedQueue(url: string, queue: string, n: number): Promise<void> {
  const c = await createConnection({ uri: url });
  try {
    const wfCols = await columnsOf(c, 'workflows');
    const stCols = await columnsOf(c, 'workflow_steps');
    const prefix = `${queue}-`;
    const seq = `seq_1_to_${Math.floor(n)}`;
    const age = `(t.created_at - ${Math.floor(n) + 1000} + s.seq)`;
    const wfExpr = (col: string) =>
      col === 'id'
        ? `CONCAT(?, LPAD(s.seq, 7, '0'))`
        : col === 'queue'
          ? '?'
          : col === 'created_at' || col === 'updated_at' || col === 'available_at'
            ? age
            : `t.${col}`;
    await c.query('START TRANSACTION');
    await c.query(
      `INSERT INTO workflows (${wfCols.join(', ')}) SELECT ${wfCols.map(wfExpr).join(', ')} FROM workflows t JOIN ${seq} s WHERE t.id = ?`,
      [prefix, queue, TEMPLATE],
    );
    await c.query(
      `INSERT INTO workflow_steps (${stCols.join(', ')}) SELECT ${stCols
        .map((col) => (col === 'workflow_id' ? `CONCAT(?, LPAD(s.seq, 7, '0'))` : `t.${col}`))
        .join(', ')} FROM workflow_steps t JOIN ${seq} s WHERE t.workflow_id = ?`,
      [prefix, TEMPLATE],
    );
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}

// ---- the API side ------------------------------------------------------------------------------------------

interface Loop {
  /** One iteration of one worker; records into the run. */
  (worker: number, acc: Accumulator): Promise<void>;
}

class Accumulator {
  ops = 0;
  claims = 0;
  empty = 0;
  failures = 0;
  firstError?: string;
  doubles = 0;
  readonly claimLat = new Latencies();
  readonly rtLat = new Latencies();
  private readonly seen = new Set<string>();

  claimed(id: string): void {
    if (this.seen.has(id)) this.doubles++;
    else this.seen.add(id);
    this.claims++;
  }

  fail(what: string): void {
    this.failures++;
    this.firstError ??= what.slice(0, 300);
  }
}

async function drive(
  workers: number,
  seconds: number,
  pids: Record<string, number[]>,
  loop: Loop,
): Promise<ClaimRun> {
  await waitQuiet(QUIET_MS);
  const acc = new Accumulator();
  const w = watchCpu(pids);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      while (performance.now() < deadline) await loop(i, acc);
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = w.stop();
  const [claimP50, claimP99] = acc.claimLat.percentiles(50, 99);
  const [rtP50, rtP99] = acc.rtLat.percentiles(50, 99);
  return {
    ops: acc.ops,
    seconds: elapsed,
    claims: acc.claims,
    claimP50,
    claimP99,
    rtP50,
    rtP99,
    empty: acc.empty,
    failures: acc.failures,
    firstError: acc.firstError,
    doubles: acc.doubles,
    cpu,
  };
}

function apiLoop(server: BenchServer, token: string, queue: string, mode: Mode, agent: Agent): Loop {
  const base = new URL(server.url);
  const auth = { authorization: `Bearer ${token}` };
  return async (worker, acc) => {
    const t0 = performance.now();
    const c = await post(
      agent,
      base,
      `/api/queues/${queue}/claim`,
      auth,
      JSON.stringify({ workerId: `worker-${worker}`, waitMs: 0, leaseMs: LEASE_MS }),
    );
    const t1 = performance.now();
    if (c.status === 204) return void acc.empty++;
    if (c.status !== 200) return acc.fail(`claim: HTTP ${c.status} ${c.body}`);
    const claimed = JSON.parse(c.body) as { workflow: { id: string }; leaseToken: string };
    acc.claimLat.add(t1 - t0);
    acc.claimed(claimed.workflow.id);
    if (mode === 'claim') return void acc.ops++;
    const d = await post(
      agent,
      base,
      `/api/workflows/${claimed.workflow.id}/steps/${STEP}/complete`,
      { ...auth, 'x-lease-token': claimed.leaseToken },
      '{}',
    );
    if (d.status !== 200) return acc.fail(`complete: HTTP ${d.status} ${d.body}`);
    acc.rtLat.add(performance.now() - t0);
    acc.ops++;
  };
}

// ---- the raw side ------------------------------------------------------------------------------------------

const CLAIM_SELECT =
  "SELECT id, stale_after_ms FROM workflows WHERE queue = ? AND status = 'queued' AND lease_token IS NULL AND available_at <= ? " +
  'ORDER BY available_at, created_at, created_seq LIMIT 1 FOR UPDATE SKIP LOCKED';
const WORKER_INSERT = 'INSERT IGNORE INTO queue_workers (queue, worker_id, last_seen_at) VALUES (?, ?, ?)';
const WORKER_UPDATE = 'UPDATE queue_workers SET last_seen_at = ? WHERE queue = ? AND worker_id = ?';
const LEASE_UPDATE =
  'UPDATE workflows SET lease_token = ?, lease_expires_at = ?, worker_id = ?, updated_at = ?, stale_at = ? WHERE id = ? AND lease_token IS NULL';
const RETRYABLE = new Set([1213, 1205]);

async function tx<T>(conn: PoolConnection, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await conn.query('START TRANSACTION');
    try {
      const r = await fn();
      await conn.query('COMMIT');
      return r;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      if (attempt < 8 && RETRYABLE.has((err as { errno?: number }).errno ?? 0)) continue;
      throw err;
    }
  }
}

/** The app's claim transaction, then the claimed workflow and its steps read back (as the API returns them). */
async function rawClaim(
  conn: PoolConnection,
  queue: string,
  workerId: string,
): Promise<{ id: string; token: string } | null> {
  const token = randomBytes(18).toString('base64url');
  const id = await tx(conn, async () => {
    const now = Date.now();
    const [rows] = await conn.query<RowDataPacket[]>(CLAIM_SELECT, [queue, now]);
    await conn.query(WORKER_INSERT, [queue, workerId, now]);
    await conn.query(WORKER_UPDATE, [now, queue, workerId]);
    if (rows.length === 0) return null;
    const [res] = await conn.query<ResultSetHeader>(LEASE_UPDATE, [
      token,
      now + LEASE_MS,
      workerId,
      now,
      now + Number(rows[0].stale_after_ms),
      rows[0].id,
    ]);
    return res.affectedRows === 1 ? (rows[0].id as string) : null;
  });
  if (!id) return null;
  await conn.query(`${WF_SELECT} WHERE id = ?`, [id]);
  await conn.query(`${STEP_SELECT} WHERE workflow_id = ? ORDER BY position`, [id]);
  return { id, token };
}

const ETA_NONE = {
  remainingMs: null,
  finishAt: null,
  basis: 'none',
  remainingP90Ms: null,
  queueWaitMs: null,
};

/**
 * The app's completion of a claimed one-step workflow: its transaction. (The app then records the run's
 * durations for ETAs in a transaction of its own, off the request path; the baseline leaves that out.)
 */
async function rawComplete(conn: PoolConnection, id: string, token: string): Promise<void> {
  await tx(conn, async () => {
    const now = Date.now();
    const [[wf]] = await conn.query<RowDataPacket[]>(selectWorkflows('mysql', 1), [id]);
    const [steps] = await conn.query<RowDataPacket[]>(selectSteps(1), [id]);
    if (!wf || wf.lease_token !== token) throw new Error(`lease lost on ${id}`);
    const st = steps[0];
    Object.assign(st, { status: 'completed', progress: 100, started_at: now, finished_at: now });
    await conn.query(
      upsertSteps('mysql', 1),
      STEP_COLUMNS.map((c) => st[c] ?? null),
    );
    const [seq] = await conn.query<ResultSetHeader>(MYSQL_SEQ_ONE, [wf.project_id, 4, now, now, 4]);
    const last = Number(seq.insertId);
    Object.assign(wf, {
      status: 'completed',
      progress: 100,
      started_at: now,
      finished_at: now,
      updated_at: now,
      stale_at: null,
      lease_token: null,
      lease_expires_at: null,
      last_seq: last,
    });
    await conn.query(
      upsertWorkflows('mysql', 1),
      WORKFLOW_COLUMNS.map((c) => wf[c] ?? null),
    );
    const stepData = {
      status: 'completed',
      progress: 100,
      current: null,
      total: null,
      message: null,
      workflowProgress: 100,
      eta: ETA_NONE,
    };
    const events: [string, string | null, unknown][] = [
      ['workflow:started', null, { status: 'running', progress: 0, eta: ETA_NONE }],
      ['workflow:step:started', STEP, { ...stepData, status: 'running', progress: 0, workflowProgress: 0 }],
      ['workflow:step:completed', STEP, { ...stepData, result: null }],
      ['workflow:completed', null, { status: 'completed', progress: 100, eta: ETA_NONE }],
    ];
    await conn.query(
      insertEvents(4),
      events.flatMap(([type, stepId, data], i) => [
        wf.project_id,
        last - 3 + i,
        type,
        id,
        stepId,
        1, // attempt: each raw workflow is claimed once
        now,
        JSON.stringify(data),
      ]),
    );
  });
}

async function rawRun(
  url: string,
  queue: string,
  mode: Mode,
  workers: number,
  seconds: number,
  pids: Record<string, number[]>,
): Promise<ClaimRun> {
  const pool = createPool({
    uri: url,
    connectionLimit: workers,
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4_unicode_ci',
    trace: false,
  });
  const conns = await Promise.all(Array.from({ length: workers }, () => pool.getConnection()));
  for (const c of conns) await c.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  try {
    return await drive(workers, seconds, pids, async (worker, acc) => {
      const conn = conns[worker];
      const t0 = performance.now();
      try {
        const c = await rawClaim(conn, queue, `worker-${worker}`);
        if (!c) return void acc.empty++;
        acc.claimLat.add(performance.now() - t0);
        acc.claimed(c.id);
        if (mode === 'round trip') {
          await rawComplete(conn, c.id, c.token);
          acc.rtLat.add(performance.now() - t0);
        }
        acc.ops++;
      } catch (err) {
        acc.fail(String(err));
      }
    });
  } finally {
    for (const c of conns) c.release();
    await pool.end();
  }
}

// ---- the suite ---------------------------------------------------------------------------------------------

export async function runClaims(): Promise<ClaimsResult> {
  log('\n== claims (queues, MariaDB) ==');
  const appDb = await freshDatabase('mysql');
  const rawDb = await freshDatabase('mysql');
  const cells: ClaimCell[] = [];
  const p99Runs: ClaimsResult['p99Runs'] = [];
  let server: BenchServer | undefined;
  let mysqlVersion: string;
  let claimIndex: string;
  let errors: string[] = [];
  try {
    const queues: [string, number][] = [['warm', 2000]];
    for (const w of WORKERS) queues.push([queueName('claim', w), SEED], [queueName('round trip', w), SEED]);

    // the baseline's database: migrated by the app, template made through its API; then the app goes away
    const prep = await startServer(rawDb.url);
    await prepare(prep);
    await prep.stop();
    server = await startServer(appDb.url);
    const token = await prepare(server);
    const t0 = Date.now();
    for (const [q, n] of queues) {
      await seedQueue(appDb.url, q, n);
      await seedQueue(rawDb.url, q, n);
    }
    log(
      `seeded ${queues.map(([q, n]) => `${q}: ${fmt(n)}`).join(', ')} in each database (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    {
      const c = await createConnection({ uri: appDb.url });
      const [v] = await c.query<RowDataPacket[]>(
        'SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f',
      );
      mysqlVersion = `${v[0].v} (innodb_flush_log_at_trx_commit=${v[0].f})`;
      const [ix] = await c.query<RowDataPacket[]>(
        'SELECT index_name AS i, GROUP_CONCAT(column_name ORDER BY seq_in_index) AS c FROM information_schema.statistics ' +
          "WHERE table_schema = DATABASE() AND table_name = 'workflows' AND (index_name LIKE '%queue%' OR index_name LIKE '%claim%') " +
          'GROUP BY index_name',
      );
      claimIndex = ix.map((r) => `${r.i} (${r.c})`).join(', ');
      // statistics for the optimizer after the bulk insert, in both databases alike
      await c.query('ANALYZE TABLE workflows, workflow_steps');
      await c.end();
      const r = await createConnection({ uri: rawDb.url });
      await r.query('ANALYZE TABLE workflows, workflow_steps');
      await r.end();
    }

    const pids = { server: [server.proc.pid!], db: databasePids(), bench: [process.pid] };
    const rawPids = { server: [] as number[], db: pids.db, bench: [process.pid] };
    // warm both paths (JIT, pools, buffer pool): not measured
    // one keep-alive agent per cell: a connection left idle between cells is closed by the server
    const cellAgent = (workers: number) => new Agent({ keepAlive: true, maxSockets: workers });
    const warm = cellAgent(8);
    await drive(8, 1, pids, apiLoop(server, token, 'warm', 'round trip', warm));
    warm.destroy();
    await rawRun(rawDb.url, 'warm', 'round trip', 8, 1, rawPids);

    for (const workers of WORKERS) {
      for (const mode of ['claim', 'round trip'] as Mode[]) {
        const q = queueName(mode, workers);
        const agent = cellAgent(workers);
        const app = await drive(workers, SECONDS, pids, apiLoop(server, token, q, mode, agent));
        agent.destroy();
        const raw = await rawRun(rawDb.url, q, mode, workers, SECONDS, rawPids);
        const cell: ClaimCell = { mode, workers, app, raw };
        cells.push(cell);
        log(
          `  ${mode} ×${workers}: ${fmt(perSecond(app))}/s claim p50 ${ms(app.claimP50)} p99 ${ms(app.claimP99)}` +
            (mode === 'round trip' ? ` round trip p99 ${ms(app.rtP99)}` : '') +
            ` | raw ${fmt(perSecond(raw))}/s claim p99 ${ms(raw.claimP99)} | ${ratio(cell).toFixed(2)}×` +
            ` | server ${cores(app.cpu.groups.server)} db ${cores(app.cpu.groups.db)} others ${cores(app.cpu.others)}/${cores(raw.cpu.others)}` +
            (app.empty || raw.empty ? ` | 204s ${app.empty}/${raw.empty}` : '') +
            (app.failures ? ` | ${app.failures} failed: ${app.firstError}` : '') +
            (raw.failures ? ` | raw ${raw.failures} failed: ${raw.firstError}` : '') +
            (app.doubles || raw.doubles ? ` | DOUBLE CLAIMS ${app.doubles}/${raw.doubles}` : ''),
        );
        if (mode === 'claim' && workers === 8)
          p99Runs.push({
            app: app.claimP99,
            raw: raw.claimP99,
            rawFailed: raw.failures > 0 || raw.ops === 0,
          });
      }
    }
    // the p99 ratio is noisy: the 8-worker claim cell and its baseline again, alternating, on the same queues
    if (WORKERS.includes(8))
      for (let rep = 1; rep < CLAIM_RUNS; rep++) {
        const q = queueName('claim', 8);
        const agent = cellAgent(8);
        const app = await drive(8, SECONDS, pids, apiLoop(server, token, q, 'claim', agent));
        agent.destroy();
        const raw = await rawRun(rawDb.url, q, 'claim', 8, SECONDS, rawPids);
        p99Runs.push({ app: app.claimP99, raw: raw.claimP99, rawFailed: raw.failures > 0 || raw.ops === 0 });
        log(`  claim ×8, run ${rep + 1}: p99 ${ms(app.claimP99)} | raw p99 ${ms(raw.claimP99)}`);
      }
  } finally {
    if (server) {
      const died = server.exit();
      if (died) log(`the server ${died} during the run; its last output:\n${server.output().slice(-3000)}`);
      await server.stop();
      errors = server
        .output()
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l));
      if (errors.length) log(`server logged ${errors.length} error lines, first: ${errors[0].slice(0, 400)}`);
    }
    await appDb.drop();
    await rawDb.drop();
  }
  const msgOf = (l: string) => {
    try {
      return String((JSON.parse(l) as { msg?: unknown }).msg ?? l);
    } catch {
      return l.slice(0, 200);
    }
  };
  const msgs = [...new Set(errors.map(msgOf))];
  return {
    cells,
    p99Runs,
    seed: SEED,
    mysqlVersion,
    claimIndex,
    serverErrors: errors.length,
    serverErrorSample: msgs.slice(0, 3),
  };
}

// ---- report ------------------------------------------------------------------------------------------------

export function claimsReport(r: ClaimsResult): string {
  const lines: string[] = [];
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  lines.push('## Queue claims (MariaDB)');
  lines.push('');
  lines.push(
    'Workers claim one-step workflows from a queue of ' +
      `${fmt(r.seed)} (one queue per cell, seeded alike in both databases): "claim" = ` +
      '`POST /api/queues/:queue/claim` (waitMs 0) in a loop; "round trip" = claim, then ' +
      '`POST /api/workflows/:id/steps/s/complete` with `X-Lease-Token`. One keep-alive connection and one ' +
      'request in flight per worker, from the bench process. "raw" = the same work through mysql2 with no ' +
      'framework, one connection per worker, READ COMMITTED: the claim transaction statement for statement ' +
      '(`SELECT … ORDER BY available_at, created_at, created_seq LIMIT 1 FOR UPDATE SKIP LOCKED`, the ' +
      '`queue_workers` upsert, the lease `UPDATE`) plus reading back the claimed workflow and its steps; a round ' +
      'trip adds the completion transaction (four events; not the run-history write the app makes after it, off ' +
      'the request path). /s = claims (or round ' +
      'trips) a second; claim ms = from sending the claim to its answer; 204 = claims that found nothing (the ' +
      'queue is never empty: each one is a claim that skipped every candidate); double = a workflow claimed twice ' +
      `(must be 0). Claim indexes on workflows: ${r.claimIndex || 'none found'}.`,
  );
  lines.push('');
  row(
    'workers',
    'operation',
    'Stepline /s',
    'claim p50 ms',
    'claim p99 ms',
    'round trip p99 ms',
    '204',
    'failed',
    'double',
    'raw /s',
    'raw claim p50 ms',
    'raw claim p99 ms',
    'raw 204',
    'ratio',
    'server cores',
    'db cores',
    'others',
    'raw: db cores',
  );
  row('--:', '---', ...Array<string>(16).fill('--:'));
  for (const c of r.cells)
    row(
      String(c.workers),
      c.mode,
      fmt(perSecond(c.app)),
      ms(c.app.claimP50),
      ms(c.app.claimP99),
      c.mode === 'round trip' ? ms(c.app.rtP99) : '–',
      String(c.app.empty),
      c.app.failures ? `**${c.app.failures}**` : '0',
      c.app.doubles || c.raw.doubles ? `**${c.app.doubles} / ${c.raw.doubles}**` : '0',
      fmt(perSecond(c.raw)),
      ms(c.raw.claimP50),
      ms(c.raw.claimP99),
      String(c.raw.empty),
      `${ratio(c).toFixed(2)}×`,
      cores(c.app.cpu.groups.server),
      cores(c.app.cpu.groups.db),
      cores(c.app.cpu.others),
      cores(c.raw.cpu.groups.db),
    );
  if (r.serverErrors)
    lines.push(
      '',
      `The server logged ${fmt(r.serverErrors)} error lines during the suite: ${r.serverErrorSample.map((m) => `"${m}"`).join(', ')}.`,
    );
  lines.push('');
  lines.push('Claim targets:');
  lines.push('');
  row('target', 'measured', 'result');
  row('---', '--:', '---');
  for (const c of r.cells)
    row(
      `${c.mode === 'claim' ? 'claims' : 'claim → complete round trips'}/s, ${c.workers} workers ≥ 0.5 × raw`,
      `${ratio(c).toFixed(3)}×`,
      c.raw.failures > 0 || perSecond(c.raw) === 0
        ? '**INVALID** (the raw baseline failed)'
        : ratio(c) >= 0.5 && c.app.failures === 0 && c.app.doubles === 0
          ? 'pass'
          : '**FAIL**',
    );
  const c8 = r.cells.find((c) => c.mode === 'claim' && c.workers === 8);
  if (c8)
    row(
      'claim p99 < 20 ms, 8 workers',
      `${ms(c8.app.claimP99)} ms`,
      c8.app.claimP99 < 20 ? 'pass' : '**FAIL**',
    );
  if (r.p99Runs.length) {
    const ratios = r.p99Runs.map((x) => x.app / x.raw).sort((a, b) => a - b);
    const mid = ratios[Math.floor((ratios.length - 1) / 2)];
    row(
      `claim p99 ≤ 1.5 × the raw claim transaction's p99, 8 workers (median of ${ratios.length} same-run ratios)`,
      `${mid.toFixed(2)}× (runs: ${r.p99Runs.map((x) => `${(x.app / x.raw).toFixed(2)}: ${ms(x.app)} vs ${ms(x.raw)} ms`).join('; ')})`,
      r.p99Runs.some((x) => x.rawFailed)
        ? '**INVALID** (the raw baseline failed)'
        : mid <= 1.5
          ? 'pass'
          : '**FAIL**',
    );
  }
  lines.push('');
  return lines.join('\n');
}
