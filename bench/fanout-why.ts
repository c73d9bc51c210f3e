import { cores, fmt, freshDatabase, Kind, log, ms, sleep } from './common';
import { ClientProc, closeGroup, connectGroup, phase, PhaseResult, Target, usPerDelivery } from './fanout';
import { waitQuiet } from './machine';
import { seed } from './seed';
import { ADMIN_TOKEN, BenchServer, startFanoutBaseline, startServer, startWsBaseline } from './server';
import { Spread } from './workload';

/**
 * Why did the fan-out baseline measure bare Socket.IO at ~465 ms p99 (1,000 subscribers, 50/s) when an
 * outside harness measured 47–64 ms on the same machine? `node dist-bench/bench/fanout-why.js` runs the
 * same bare server under the harness shapes that differ, each ROUNDS times, interleaved, and prints one
 * line per cell (p50/p99/max, CPU of the server, the subscriber processes, the bench and everyone else):
 *
 *   old      the suite as it was: 2 subscriber processes that also hold Stepline's 1,000 subscribers, the
 *            bare cell run right after Stepline's cell (Stepline on BENCH_WHY_DB, default sqlite, as then)
 *   2procs   2 subscriber processes, nothing else connected
 *   1proc    1,000 subscribers in ONE process (the outside harness's shape), producer in the bench process
 *   inproc   1,000 subscribers in ONE process with the producer in that same process
 *   ws       a plain `ws` server and plain `ws` clients in 2 processes (an independent floor)
 *   cork     bare Socket.IO with Stepline's engine.io cork patch (FANOUT_CORK=1), 2 processes; cork1: 1 process
 *   stepline Stepline alone, 2 processes; stepline1: 1 process
 *
 *   BENCH_WHY_ROUNDS=3  BENCH_WHY_SECONDS=5  BENCH_WHY_RATE=50  BENCH_WHY_SUBS=1000  BENCH_WHY_CELLS=old,2procs,...
 */
const ROUNDS = Number(process.env.BENCH_WHY_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_WHY_SECONDS ?? 5);
const RATE = Number(process.env.BENCH_WHY_RATE ?? 50);
const SUBS = Number(process.env.BENCH_WHY_SUBS ?? 1000);
const DB = (process.env.BENCH_WHY_DB ?? 'sqlite') as Kind;
const CELLS = (
  process.env.BENCH_WHY_CELLS ?? 'old,2procs,1proc,inproc,ws,cork,cork1,stepline,stepline1'
).split(',');
const PROJECT = 'fan';
const servers: BenchServer[] = [];

const line = (cell: string, r: PhaseResult) =>
  `${cell.padEnd(8)} ${r.who.padEnd(9)} p50 ${ms(r.p50).padStart(6)} p99 ${ms(r.p99).padStart(6)} max ${ms(r.max).padStart(6)} ms · ` +
  `${fmt(r.delivered)}/${fmt(r.expected)} delivered, ${r.outOfOrder} out of order, sent ${fmt(r.sentPerSecond)}/s, ${r.late} late · ` +
  `cores: server ${cores(r.cpu.groups.server)} clients ${cores(r.cpu.groups.clients)} bench ${cores(r.cpu.groups.bench)} others ${cores(r.cpu.others)} · ` +
  `µs CPU per delivery: server ${fmt(usPerDelivery(r, 'server'), 1)} clients ${fmt(usPerDelivery(r, 'clients'), 1)}`;

async function main(): Promise<void> {
  const db = await freshDatabase(DB);
  const procs = [new ClientProc(), new ClientProc()];
  const results: { cell: string; r: PhaseResult }[] = [];
  try {
    const stepline = await startServer(db.url);
    servers.push(stepline);
    stepline.proc.once('exit', (code, sig) =>
      log(`Stepline exited (${sig ?? code}): ${stepline.output().slice(-2000)}`),
    );
    const producerKey = await seed(stepline.url, ADMIN_TOKEN, [
      new Spread(PROJECT, [{ projectId: PROJECT, workflowId: 'wf-fan' }]),
    ]);
    const viewer = await fetch(`${stepline.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'why', role: 'viewer', projects: [PROJECT] }),
    });
    const viewerKey = ((await viewer.json()) as { key: string }).key;
    const bare = await startFanoutBaseline('t');
    const ws = await startWsBaseline('t');
    const corked = await startFanoutBaseline('t', { FANOUT_CORK: '1' });
    servers.push(bare, ws, corked);
    const S: Target = {
      who: 'Stepline',
      base: new URL(stepline.url),
      path: '/api/workflows/wf-fan/steps/s0/progress',
      headers: { authorization: `Bearer ${producerKey}` },
      server: stepline,
      kind: 'socket.io',
      token: viewerKey,
    };
    const B: Target = {
      who: 'Socket.IO',
      base: new URL(bare.url),
      path: '/emit',
      headers: {},
      server: bare,
      kind: 'socket.io',
      token: 't',
    };
    const W: Target = { ...B, who: 'ws', base: new URL(ws.url), server: ws, kind: 'ws' };
    const C: Target = { ...B, base: new URL(corked.url), server: corked };
    const conn = (t: Target, on: ClientProc[], group: string) =>
      connectGroup(on, group, t.base.origin, t.token, PROJECT, SUBS, t.kind);
    const measure = async (
      cell: string,
      t: Target,
      on: ClientProc[],
      group: string,
      producer?: ClientProc,
    ) => {
      await phase(t, on, group, SUBS, RATE, 1, producer); // warm-up
      const r = await phase(t, on, group, SUBS, RATE, SECONDS, producer);
      results.push({ cell, r });
      log(line(cell, r));
    };
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}`);
      for (const cell of CELLS) {
        await waitQuiet(3000);
        if (cell === 'old') {
          await conn(S, procs, 'S');
          await conn(B, procs, 'B');
          await phase(S, procs, 'S', SUBS, RATE, 1);
          await phase(B, procs, 'B', SUBS, RATE, 1);
          const s = await phase(S, procs, 'S', SUBS, RATE, SECONDS);
          results.push({ cell, r: s });
          log(line(cell, s));
          const b = await phase(B, procs, 'B', SUBS, RATE, SECONDS);
          results.push({ cell, r: b });
          log(line(cell, b));
          await closeGroup(procs, 'S');
          await closeGroup(procs, 'B');
        } else if (cell === '2procs') {
          await conn(B, procs, 'B');
          await measure(cell, B, procs, 'B');
          await closeGroup(procs, 'B');
        } else if (cell === '1proc' || cell === 'inproc') {
          const one = [procs[0]];
          await conn(B, one, 'B');
          await measure(cell, B, one, 'B', cell === 'inproc' ? procs[0] : undefined);
          await closeGroup(one, 'B');
        } else if (cell === 'cork') {
          await conn(C, procs, 'C');
          await measure(cell, C, procs, 'C');
          await closeGroup(procs, 'C');
        } else if (cell === 'cork1') {
          await conn(C, [procs[0]], 'C');
          await measure(cell, C, [procs[0]], 'C');
          await closeGroup([procs[0]], 'C');
        } else if (cell === 'stepline1') {
          await conn(S, [procs[0]], 'S');
          await measure(cell, S, [procs[0]], 'S');
          await closeGroup([procs[0]], 'S');
        } else if (cell === 'stepline') {
          await conn(S, procs, 'S');
          await measure(cell, S, procs, 'S');
          await closeGroup(procs, 'S');
        } else if (cell === 'ws') {
          await conn(W, procs, 'W');
          await measure(cell, W, procs, 'W');
          await closeGroup(procs, 'W');
        }
        await sleep(500);
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    for (const s of servers) await s.stop();
    await db.drop();
  }
  log('\nmedian p99 by cell:');
  const cells = [...new Set(results.map((x) => `${x.cell}/${x.r.who}`))];
  for (const c of cells) {
    const p99s = results.filter((x) => `${x.cell}/${x.r.who}` === c).map((x) => x.r.p99);
    const sorted = [...p99s].sort((a, b) => a - b);
    log(
      `  ${c.padEnd(20)} ${ms(sorted[Math.floor((sorted.length - 1) / 2)])} ms  (${p99s.map(ms).join(' / ')})`,
    );
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    for (const s of servers) s.proc.kill('SIGTERM');
    process.exit(1);
  });

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(String(err instanceof Error ? err.stack : err));
    process.exit(1);
  },
);
