import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, freePort } from '../test/support/server';
import { api } from './http';
import { runHttp, type HttpLoad } from './load';
import { watchCpu } from './machine';
import { seed } from './seed';
import { Spread, createBody, layouts } from './workload';

/**
 * Issue #19: the HTTP adapter, back to back in one run. Two builds of the real server (`dist/src/main.js` of
 * an Express checkout and of a Fastify one, paths from BENCH_EXPRESS_MAIN / BENCH_FASTIFY_MAIN), each on a
 * MariaDB database of its own, seeded alike; and the bare no-op Nest app on each adapter. Every route is
 * measured on both servers one after the other, the order swapped each round, so that the shared machine's
 * load falls on both alike. Reported per cell: requests/s, p50/p99 of the answered requests, the server's
 * CPU per request (from /proc: the figure the machine's other load disturbs least) and the others' CPU.
 *
 *   node dist-bench/bench/adapters.js   (env: BENCH_SECONDS=5, BENCH_CONNECTIONS=8, BENCH_ROUNDS=2)
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MYSQL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/stepline_bench_test';
const MAINS: Record<string, string> = {
  express: process.env.BENCH_EXPRESS_MAIN ?? '',
  fastify: process.env.BENCH_FASTIFY_MAIN ?? '',
};
/** The bare no-op Nest app on each adapter: `noop-server.js <port> express|fastify`. */
const NOOP = join(__dirname, 'noop-server.js');

interface Proc {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node ...args`, with `{port}` in args replaced by a free port (PORT is set too). */
async function start(args: string[], env: Record<string, string>, health: string | null): Promise<Proc> {
  const port = await freePort();
  let out = '';
  const proc = spawn(
    process.execPath,
    args.map((a) => (a === '{port}' ? String(port) : a)),
    {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout.on('data', (d) => (out = (out + String(d)).slice(-20_000)));
  proc.stderr.on('data', (d) => (out = (out + String(d)).slice(-20_000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    try {
      if (health === null ? out.includes('listening') : (await fetch(`${url}${health}`)).status === 200)
        break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    proc,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

interface Side {
  name: string;
  app: Proc;
  noop: Proc;
  token: string;
  spreads: Spread[];
  leases: { id: string; leaseToken: string }[];
  created: number;
}

const dbUrl = (suffix: string) => MYSQL.replace(/\/([^/]*)$/, (_m, db: string) => `/${db}_${suffix}`);

async function prepare(name: string): Promise<Side> {
  const c = await createConnection(MYSQL.replace(/\/[^/]*$/, '/'));
  const db = new URL(dbUrl(name)).pathname.slice(1);
  await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await c.query(`CREATE DATABASE \`${db}\``);
  await c.end();
  // BENCH_PROF=1: both servers with --cpu-prof (bench/profiles/<adapter>/), as run.ts does it
  const prof = process.env.BENCH_PROF
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${join(__dirname, '..', '..', 'bench', 'profiles', name)}`,
        '--require',
        join(__dirname, 'prof-preload.js'),
      ]
    : [];
  const app = await start(
    [...prof, MAINS[name], '{port}'],
    {
      DATABASE_URL: dbUrl(name),
      ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_KEY: '1000000',
      MAX_CONNECTIONS_PER_KEY: '1000000',
      MAX_WAITING_CLAIMS_PER_KEY: '100000',
    },
    '/health',
  );
  const noop = await start([NOOP, '{port}', name], {}, null);
  const spreads = layouts();
  const token = await seed(app.url, ADMIN_TOKEN, spreads);
  // a queue with enough work for every claim cell, and leases for the heartbeat cell
  const stock = Number(process.env.BENCH_CLAIM_STOCK ?? 3000);
  for (let i = 0; i < stock; i += 16)
    await Promise.all(
      Array.from({ length: Math.min(16, stock - i) }, (_, j) =>
        api(app.url, token, '/api/projects/q/workflows', {
          ...JSON.parse(createBody(`qs-${i + j}`)),
          queue: 'bench',
        }),
      ),
    );
  const leases: Side['leases'] = [];
  for (let i = 0; i < 32; i++) {
    const r = await api(app.url, token, '/api/queues/bench/claim', { workerId: 'hb', leaseMs: 600_000 });
    if (r.status !== 200) throw new Error(`claim for heartbeat: ${r.status} ${JSON.stringify(r.body)}`);
    leases.push({ id: r.body.workflow.id, leaseToken: r.body.leaseToken });
  }
  return { name, app, noop, token, spreads, leases, created: 0 };
}

type Cell = (s: Side) => Omit<HttpLoad, 'connections' | 'seconds'>;

const auth = (s: Side) => ({ authorization: `Bearer ${s.token}`, 'content-type': 'application/json' });

const CELLS: Record<string, Cell> = {
  noop: (s) => ({
    url: s.noop.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    next: () => ({ path: '/noop', body: '{"a":1}' }),
  }),
  progress: (s) => ({
    url: s.app.url,
    method: 'POST',
    headers: auth(s),
    next: () => {
      const u = s.spreads[0].next();
      return {
        path: `/api/workflows/${u.workflowId}/steps/${u.stepId}/progress`,
        body: JSON.stringify({ current: u.current, total: u.total }),
      };
    },
  }),
  batch100: (s) => ({
    url: s.app.url,
    method: 'POST',
    headers: auth(s),
    updatesPerRequest: 100,
    next: () => ({
      path: '/api/progress',
      body: JSON.stringify({
        updates: s.spreads[1].batch(100).map((u) => ({
          workflowId: u.workflowId,
          stepId: u.stepId,
          current: u.current,
          total: u.total,
        })),
      }),
    }),
  }),
  create: (s) => ({
    url: s.app.url,
    method: 'POST',
    headers: auth(s),
    expect: 201,
    next: () => ({ path: '/api/projects/c/workflows', body: createBody(`c-${s.name}-${s.created++}`) }),
  }),
  claim: (s) => ({
    url: s.app.url,
    method: 'POST',
    headers: auth(s),
    expect: 200,
    next: () => ({ path: '/api/queues/bench/claim', body: '{"workerId":"w","leaseMs":600000}' }),
  }),
  heartbeat: (s) => {
    let i = 0;
    return {
      url: s.app.url,
      method: 'POST',
      headers: auth(s),
      expect: 200,
      next: () => {
        const l = s.leases[i++ % s.leases.length];
        return {
          path: `/api/workflows/${l.id}/heartbeat`,
          body: JSON.stringify({ leaseToken: l.leaseToken, leaseMs: 600_000 }),
        };
      },
    };
  },
};

interface Row {
  cell: string;
  side: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
  others: number;
  failures: number;
  load1: number;
}

async function main(): Promise<void> {
  if (!MAINS.express || !MAINS.fastify) throw new Error('set BENCH_EXPRESS_MAIN and BENCH_FASTIFY_MAIN');
  const sides = [await prepare('express'), await prepare('fastify')];
  const rows: Row[] = [];
  const only = process.env.BENCH_CELLS?.split(',');
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [cell, make] of Object.entries(CELLS)) {
        if (only && !only.includes(cell)) continue;
        const order = round % 2 === 1 ? sides : [...sides].reverse();
        for (const s of order) {
          const load = make(s);
          const pid = cell === 'noop' ? s.noop.proc.pid! : s.app.proc.pid!;
          // warm-up, then the measured cell
          await runHttp({ ...load, connections: CONNECTIONS, seconds: 1 });
          const cpu = watchCpu({ server: [pid] });
          const m = await runHttp({ ...load, connections: CONNECTIONS, seconds: SECONDS });
          const use = cpu.stop();
          const row: Row = {
            cell,
            side: s.name,
            round,
            rps: m.ops / m.seconds,
            p50: m.p50,
            p99: m.p99,
            cpuUsPerReq: m.ops > 0 ? (use.groups.server * m.seconds * 1e6) / m.ops : NaN,
            others: use.others,
            failures: m.failures,
            load1: loadavg()[0],
          };
          rows.push(row);
          process.stderr.write(`${JSON.stringify(row)}\n`);
        }
      }
    }
  } finally {
    for (const s of sides) {
      await s.app.stop();
      await s.noop.stop();
    }
  }
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const out = [
    `| cell | round | Express req/s | Fastify req/s | ratio | Express p50/p99 ms | Fastify p50/p99 ms | ` +
      `Express / Fastify server CPU µs/req | others (cores) E/F | failures E/F | load1 |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows.filter((x) => x.side === 'express')) {
    const o = rows.find((x) => x.side === 'fastify' && x.cell === r.cell && x.round === r.round)!;
    out.push(
      `| ${r.cell} | ${r.round} | ${f(r.rps)} | ${f(o.rps)} | ${f(o.rps / r.rps, 2)} | ` +
        `${f(r.p50, 1)} / ${f(r.p99, 1)} | ${f(o.p50, 1)} / ${f(o.p99, 1)} | ${f(r.cpuUsPerReq)} / ${f(o.cpuUsPerReq)} | ` +
        `${f(r.others, 2)} / ${f(o.others, 2)} | ${r.failures} / ${o.failures} | ${f(r.load1, 1)} |`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
