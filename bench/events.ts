import { io } from 'socket.io-client';
import { execSql } from '../test/support/test-db';
import { fmt, freshDatabase, Kind, log, ms, sleep } from './common';
import { api } from './http';
import { ADMIN_TOKEN, startServer } from './server';

/**
 * The events suite (issue 14, CONTRACT §11–§13), per database:
 * - snapshot: a reset over REST (`GET …/events?after=0`) and over Socket.IO (`subscribe` with `since: 0`)
 *   for a project with 1,000 running workflows (3 steps each) and 100 finished: the time from the request to
 *   the whole answer (REST) or the ack (socket), and its size. Goal: < 200 ms.
 * - attempt: what `attempt` adds to each envelope (REST JSON and SSE frame), measured on 500 real events.
 * - sweep: the slow-step sweep with 10,000 running workflows whose type has a slow threshold, none past it
 *   and then all past it and already reported (the two steady states): process CPU per sweep
 *   (stepline_slow_sweep_cpu_seconds_total / stepline_slow_sweeps_total). Goal: < 5 ms.
 *
 *   BENCH_EVENTS_ACTIVE=1000   BENCH_EVENTS_RUNNING=10000   BENCH_EVENTS_REPEAT=20
 */

const ACTIVE = Number(process.env.BENCH_EVENTS_ACTIVE ?? 1000);
const RUNNING = Number(process.env.BENCH_EVENTS_RUNNING ?? 10_000);
const REPEAT = Number(process.env.BENCH_EVENTS_REPEAT ?? 20);
const SWEEP_WINDOW_MS = 8000;

export interface EventsRow {
  db: Kind;
  snapshotWorkflows: number;
  restMs: number[];
  socketMs: number[];
  snapshotBytes: number;
  envelopeBytes: number;
  attemptBytes: number;
  sseFrameBytes: number;
  running: number;
  sweeps: number;
  cpuMsPerSweep: number;
  cpuMsPerSweepReported: number;
  cpuMsPerSweepAgain: number;
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function must(base: string, path: string, body: unknown, status = 200): Promise<any> {
  const res = await api(base, ADMIN_TOKEN, path, body);
  if (res.status !== status) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function metricValue(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

export async function runEvents(kinds: Kind[]): Promise<EventsRow[]> {
  const rows: EventsRow[] = [];
  for (const kind of kinds) {
    const db = await freshDatabase(kind);
    // events older than ~3.6 s are trimmed (every 200 ms): positions age out while the bench waits
    const server = await startServer(db.url, { EVENT_RETENTION_HOURS: '0.001', SWEEP_INTERVAL_MS: '200' });
    const base = server.url;
    try {
      // ---- attempt: bytes per envelope with and without it -----------------------------------------------
      log(`events/${kind}: attempt bytes`);
      await must(
        base,
        '/api/projects/bytes/workflows',
        { id: 'bytes-wf', type: 't', steps: [{ id: 's' }] },
        201,
      );
      await must(base, '/api/progress', {
        updates: Array.from({ length: 500 }, (_, i) => ({
          workflowId: 'bytes-wf',
          stepId: 's',
          current: i + 1,
          total: 1000,
        })),
      });
      const evs = (await (
        await fetch(`${base}/api/projects/bytes/events?after=0&limit=1000`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).json()) as { items: Record<string, unknown>[] };
      let withA = 0;
      let withoutA = 0;
      let frame = 0;
      for (const e of evs.items) {
        const json = JSON.stringify(e);
        withA += Buffer.byteLength(json);
        const { attempt: _attempt, ...rest } = e;
        withoutA += Buffer.byteLength(JSON.stringify(rest));
        frame += Buffer.byteLength(`id: ${String(e.seq)}\nevent: ${String(e.type)}\ndata: ${json}\n\n`);
      }
      const n = evs.items.length;

      // ---- snapshot of ACTIVE running workflows + 100 finished -------------------------------------------
      log(`events/${kind}: seeding ${ACTIVE} active workflows`);
      const ids = Array.from({ length: ACTIVE }, (_, i) => `snap-${i}`);
      await pool(ids, 16, async (id) => {
        await must(
          base,
          '/api/projects/snap/workflows',
          { id, type: 'snap', steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] },
          201,
        );
      });
      for (let i = 0; i < ids.length; i += 1000)
        await must(base, '/api/progress', {
          updates: ids
            .slice(i, i + 1000)
            .map((id) => ({ workflowId: id, stepId: 'a', progress: 40, message: 'working' })),
        });
      await pool(
        Array.from({ length: 100 }, (_, i) => `snap-done-${i}`),
        16,
        async (id) => {
          await must(base, '/api/projects/snap/workflows', { id, type: 'snap', steps: [{ id: 'a' }] }, 201);
          await must(base, `/api/workflows/${id}/steps/a/complete`, { result: { ok: true } });
        },
      );
      for (;;) {
        const r = await fetch(`${base}/api/projects/snap/events?after=0&limit=1`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        if (((await r.json()) as { reset?: boolean }).reset) break;
        await sleep(300);
      }
      log(`events/${kind}: ${REPEAT} REST and ${REPEAT} socket resets`);
      const restMs: number[] = [];
      let snapshotBytes = 0;
      let snapshotWorkflows = 0;
      for (let i = 0; i < REPEAT; i++) {
        const t = performance.now();
        const r = await fetch(`${base}/api/projects/snap/events?after=0`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        const text = await r.text();
        restMs.push(performance.now() - t);
        snapshotBytes = Buffer.byteLength(text);
        snapshotWorkflows = (JSON.parse(text) as { snapshot: { workflows: unknown[] } }).snapshot.workflows
          .length;
      }
      const socket = io(base, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'] });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const socketMs: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        const t = performance.now();
        const a = (await socket
          .timeout(30_000)
          .emitWithAck('subscribe', { projectId: 'snap', since: 0 })) as {
          reset?: boolean;
        };
        socketMs.push(performance.now() - t);
        if (!a.reset) throw new Error('expected a reset');
        await socket.timeout(10_000).emitWithAck('unsubscribe', { projectId: 'snap' });
      }
      socket.close();

      // ---- slow-step sweep with RUNNING running workflows ------------------------------------------------
      log(`events/${kind}: seeding ${RUNNING} running workflows for the sweep`);
      const running = Array.from({ length: RUNNING }, (_, i) => `run-${i}`);
      await pool(running, 16, async (id) => {
        await must(
          base,
          '/api/projects/sweep/workflows',
          { id, type: 'sweepy', steps: [{ id: 's' }, { id: 't' }] },
          201,
        );
      });
      for (let i = 0; i < running.length; i += 1000)
        await must(base, '/api/progress', {
          updates: running.slice(i, i + 1000).map((id) => ({ workflowId: id, stepId: 's', progress: 1 })),
        });
      // a threshold for the type's running step (as 5 recorded runs would leave), one hour: none is past it
      await execSql(
        db,
        'INSERT INTO step_thresholds (project_id, type, step_id, threshold_ms, runs, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        ['sweep', 'sweepy', 's', 3_600_000, 20, Date.now()],
      );
      // the seeding's events age out first: their trimming (in-process on SQLite) is no part of a sweep
      const lastSeq = (
        (await (
          await fetch(`${base}/api/projects/sweep/events?after=0&limit=1`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          })
        ).json()) as { lastSeq: number }
      ).lastSeq;
      for (;;) {
        const r = await fetch(`${base}/api/projects/sweep/events?after=${lastSeq - 1}&limit=1`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        if (((await r.json()) as { reset?: boolean }).reset) break;
        await sleep(300);
      }
      const measureSweeps = async (): Promise<{ sweeps: number; cpuMs: number }> => {
        await sleep(1500);
        const s0 = await metricValue(base, 'stepline_slow_sweeps_total');
        const c0 = await metricValue(base, 'stepline_slow_sweep_cpu_seconds_total');
        await sleep(SWEEP_WINDOW_MS);
        const s1 = await metricValue(base, 'stepline_slow_sweeps_total');
        const c1 = await metricValue(base, 'stepline_slow_sweep_cpu_seconds_total');
        return { sweeps: s1 - s0, cpuMs: ((c1 - c0) * 1000) / Math.max(1, s1 - s0) };
      };
      // and the server settles (the seeding's garbage collected): process CPU counts all the process does
      await sleep(5000);
      log(`events/${kind}: sweeps, none past its threshold`);
      const within = await measureSweeps();
      // every one past a 1 ms threshold and already reported (as after its workflow:step:slow)
      await execSql(db, "UPDATE workflow_steps SET slow_attempt = 1 WHERE status = 'running'");
      await execSql(db, 'UPDATE step_thresholds SET threshold_ms = 1');
      log(`events/${kind}: sweeps, all past their threshold and reported`);
      const reported = await measureSweeps();
      // and none past again, now that the server has run a while (the first window may hold warm-up work)
      await execSql(db, "UPDATE workflow_steps SET slow_attempt = NULL WHERE status = 'running'");
      await execSql(db, 'UPDATE step_thresholds SET threshold_ms = 3600000');
      log(`events/${kind}: sweeps, none past its threshold, again`);
      const again = await measureSweeps();
      rows.push({
        db: kind,
        snapshotWorkflows,
        restMs,
        socketMs,
        snapshotBytes,
        envelopeBytes: withA / n,
        attemptBytes: (withA - withoutA) / n,
        sseFrameBytes: frame / n,
        running: RUNNING,
        sweeps: within.sweeps + reported.sweeps + again.sweeps,
        cpuMsPerSweep: within.cpuMs,
        cpuMsPerSweepAgain: again.cpuMs,
        cpuMsPerSweepReported: reported.cpuMs,
      });
    } finally {
      await server.stop();
      await db.drop();
    }
  }
  return rows;
}

export function eventsReport(rows: EventsRow[]): string {
  const lines = [
    '## Events: snapshots, attempt, slow-step sweep (issue 14)',
    '',
    'snapshot = a reset of a project with the given active (running, 3 steps) and 100 finished workflows: REST is ' +
      'request → whole body, socket is `subscribe` → ack (websocket), each repeated. attempt = the bytes `"attempt":n` ' +
      'adds to each envelope (mean over 500 real events). sweep = process CPU per slow-step sweep with that many ' +
      'running workflows (one running step each) whose step has a threshold: none past it, and all past it and already ' +
      'reported (the two steady states), 8 s each. The CPU is the process\u2019s (user + system) from start to end of each ' +
      'sweep; on SQLite that includes the query itself (in-process), on MariaDB the database server\u2019s share is not in it.',
    '',
    '| db | workflows in snapshot | snapshot bytes | REST p50 / p95 ms | socket p50 / p95 ms | envelope bytes | attempt bytes (%) | SSE frame bytes | running | sweeps | CPU ms per sweep (none past / all reported / none past again) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.db} | ${r.snapshotWorkflows} | ${fmt(r.snapshotBytes)} | ${ms(pct(r.restMs, 0.5))} / ${ms(pct(r.restMs, 0.95))} | ` +
        `${ms(pct(r.socketMs, 0.5))} / ${ms(pct(r.socketMs, 0.95))} | ${fmt(r.envelopeBytes, 1)} | ` +
        `${fmt(r.attemptBytes, 1)} (${fmt((100 * r.attemptBytes) / r.envelopeBytes, 1)} %) | ${fmt(r.sseFrameBytes, 1)} | ` +
        `${fmt(r.running)} | ${r.sweeps} | ${ms(r.cpuMsPerSweep)} / ${ms(r.cpuMsPerSweepReported)} / ${ms(r.cpuMsPerSweepAgain)} |`,
    );
  lines.push('');
  return lines.join('\n');
}
