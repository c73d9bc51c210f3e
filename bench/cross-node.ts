import { Redis } from 'ioredis';
import { cores, fmt, freshDatabase, log, mib, ms, QUIET_MS, rssBytes, SECONDS, sleep } from './common';
import { ClientProc, closeGroup, connectGroup, drainClients, produce, split, Target } from './fanout';
import type { PhaseReport } from './fanout-client';
import { CpuUse, waitQuiet, watchCpu } from './machine';
import { seed } from './seed';
import { ADMIN_TOKEN, BenchServer, startServer } from './server';
import { LogHistogram } from './stats';
import { Spread } from './workload';

/**
 * Cross-node latency (§9, REDIS_URL): two instances of the real server on one MariaDB and one Redis.
 * Subscribers of one project are spread over both (Socket.IO, websocket, in separate client processes per
 * instance: fanout-client.ts); the producer POSTs progress updates to instance A only, at a fixed rate, each
 * stamped with its send time. B-side subscribers get every event through A's Redis message into B's
 * delivery hub; A-side subscribers are the same-instance reference. Reported per side: send → receive
 * p50/p99/max, lost, out of order, duplicates.
 *
 *   BENCH_CROSS_SUBSCRIBERS=1000   subscribers in all, half on each instance
 *   BENCH_CROSS_RATE=20            updates per second (to A)
 *   BENCH_SECONDS=5                length of the measured cell
 *   BENCH_CROSS_PROCS=1            client processes per instance
 *   BENCH_REDIS_URL=redis://127.0.0.1:6379
 */

const PROJECT = 'cross';
const WORKFLOW = 'wf-cross';
const STEP = 's0';

export interface CrossNodeOptions {
  subscribers?: number;
  rate?: number;
  seconds?: number;
  procsPerSide?: number;
  redisUrl?: string;
}

export interface CrossNodeSide {
  instance: 'A' | 'B';
  subscribers: number;
  connected: number;
  expected: number;
  delivered: number;
  lost: number;
  outOfOrder: number;
  duplicates: number;
  disconnects: number;
  reason?: string;
  p50: number;
  p99: number;
  max: number;
}

export interface CrossNodeResult {
  subscribers: number;
  rate: number;
  seconds: number;
  sentPerSecond: number;
  accepted: number;
  failedPosts: number;
  sides: CrossNodeSide[];
  rss: { A: number; B: number };
  cpu: CpuUse;
  drainTimedOut: boolean;
  /** Redis messages A sent and B received, and B's reads from the log to fill holes (should stay 0). */
  cluster: { sentByA: number; receivedByB: number; gapFillsOnB: number };
}

async function metricValue(base: string, name: string, labels: string): Promise<number> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split('\n'))
      if (line.startsWith(`${name}${labels} `)) return Number(line.split(' ')[1]);
  } catch {
    /* gone */
  }
  return 0;
}

async function clusterCounters(a: BenchServer, b: BenchServer): Promise<CrossNodeResult['cluster']> {
  return {
    sentByA: await metricValue(a.url, 'stepline_cluster_messages_total', '{direction="sent",topic="events"}'),
    receivedByB: await metricValue(
      b.url,
      'stepline_cluster_messages_total',
      '{direction="received",topic="events"}',
    ),
    gapFillsOnB: await metricValue(b.url, 'stepline_event_gap_fills_total', '{consumer="delivery"}'),
  };
}

export async function runCrossNode(opts: CrossNodeOptions = {}): Promise<CrossNodeResult> {
  const subscribers = opts.subscribers ?? Number(process.env.BENCH_CROSS_SUBSCRIBERS ?? 1000);
  const rate = opts.rate ?? Number(process.env.BENCH_CROSS_RATE ?? 20);
  const seconds = opts.seconds ?? SECONDS;
  const perSide = opts.procsPerSide ?? Number(process.env.BENCH_CROSS_PROCS ?? 1);
  const redisUrl = opts.redisUrl ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  log(`\n== cross-node latency (two instances, MariaDB + Redis ${redisUrl}) ==`);

  const probe = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new Error(`cross-node needs Redis at ${redisUrl}: ${(err as Error).message}`, { cause: err });
  } finally {
    probe.disconnect();
  }

  const db = await freshDatabase('mysql');
  const servers: BenchServer[] = [];
  const procs: { side: 'A' | 'B'; proc: ClientProc }[] = [];
  try {
    // A first (it migrates), then B; both announce to the other through Redis
    const a = await startServer(db.url, { REDIS_URL: redisUrl });
    servers.push(a);
    const b = await startServer(db.url, { REDIS_URL: redisUrl });
    servers.push(b);
    const producerKey = await seed(a.url, ADMIN_TOKEN, [
      new Spread(PROJECT, [{ projectId: PROJECT, workflowId: WORKFLOW }]),
    ]);
    const viewer = await fetch(`${a.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cross-node', role: 'viewer', projects: [PROJECT] }),
    });
    if (viewer.status !== 201) throw new Error(`create viewer key: HTTP ${viewer.status}`);
    const viewerKey = ((await viewer.json()) as { key: string }).key;

    for (const side of ['A', 'B'] as const)
      for (let i = 0; i < perSide; i++) procs.push({ side, proc: new ClientProc() });
    const sideProcs = (side: 'A' | 'B') => procs.filter((p) => p.side === side).map((p) => p.proc);
    const [countA, countB] = split(subscribers, 2);
    const counts = { A: countA, B: countB };
    for (const [side, server] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const c = await connectGroup(sideProcs(side), 'cross', server.url, viewerKey, PROJECT, counts[side]);
      log(
        `  ${fmt(c.connected)}/${fmt(counts[side])} subscribers on ${side} in ${(c.ms / 1000).toFixed(1)} s` +
          (c.failed ? ` (${c.failed} failed: ${c.error})` : ''),
      );
    }

    const target: Target = {
      who: 'Stepline',
      base: new URL(a.url),
      path: `/api/workflows/${WORKFLOW}/steps/${STEP}/progress`,
      headers: { authorization: `Bearer ${producerKey}` },
      server: a,
      kind: 'socket.io',
      token: viewerKey,
    };
    const all = procs.map((p) => p.proc);

    // warm-up (JIT, connections, Redis): not measured
    await Promise.all(all.map((p) => p.call({ op: 'phase', tag: 'xwarm' })));
    await produce(target, rate, 1, 'xwarm');
    await sleep(1000);
    await waitQuiet(Math.min(QUIET_MS, 3000));

    const before = await clusterCounters(a, b);
    await Promise.all(all.map((p) => p.call({ op: 'phase', tag: 'xnode' })));
    const rss = { A: rssBytes(a.proc.pid), B: rssBytes(b.proc.pid) };
    const sampler = setInterval(() => {
      rss.A = Math.max(rss.A, rssBytes(a.proc.pid));
      rss.B = Math.max(rss.B, rssBytes(b.proc.pid));
    }, 250);
    const cpu = watchCpu({
      A: [a.proc.pid!],
      B: [b.proc.pid!],
      clients: all.map((p) => p.pid),
      bench: [process.pid],
    });
    const prod = await produce(target, rate, seconds, 'xnode');
    // drain: until every accepted update reached every subscriber, or nothing moves for 2 s
    const drainTimedOut = await drainClients(all, prod.accepted * subscribers);
    const used = cpu.stop();
    clearInterval(sampler);
    const after = await clusterCounters(a, b);

    const sides: CrossNodeSide[] = [];
    for (const side of ['A', 'B'] as const) {
      const reports = await Promise.all(
        sideProcs(side).map((p) => p.call<PhaseReport>({ op: 'report', group: 'cross' })),
      );
      const hist = new LogHistogram();
      for (const r of reports) hist.merge(r.hist);
      const sum = (f: (r: PhaseReport) => number) => reports.reduce((n, r) => n + f(r), 0);
      const exp = prod.accepted * counts[side];
      const delivered = sum((r) => r.delivered);
      const outOfOrder = sum((r) => r.outOfOrder);
      sides.push({
        instance: side,
        subscribers: counts[side],
        connected: sum((r) => r.connected),
        expected: exp,
        delivered: delivered + outOfOrder,
        lost: Math.max(0, exp - delivered - outOfOrder),
        outOfOrder,
        duplicates: sum((r) => r.duplicates),
        disconnects: sum((r) => r.disconnects),
        reason: reports.find((r) => r.reason)?.reason,
        p50: hist.percentile(50),
        p99: hist.percentile(99),
        max: hist.max,
      });
    }
    await Promise.all([closeGroup(sideProcs('A'), 'cross'), closeGroup(sideProcs('B'), 'cross')]);

    const result: CrossNodeResult = {
      subscribers,
      rate,
      seconds,
      sentPerSecond: prod.sentPerSecond,
      accepted: prod.accepted,
      failedPosts: prod.failed,
      sides,
      rss,
      cpu: used,
      drainTimedOut,
      cluster: {
        sentByA: after.sentByA - before.sentByA,
        receivedByB: after.receivedByB - before.receivedByB,
        gapFillsOnB: after.gapFillsOnB - before.gapFillsOnB,
      },
    };
    for (const s of sides)
      log(
        `  subscribers on ${s.instance}${s.instance === 'B' ? ' (cross-node)' : ' (same node)'}: ` +
          `${fmt(s.delivered)}/${fmt(s.expected)} delivered, p50 ${ms(s.p50)} p99 ${ms(s.p99)} max ${ms(s.max)} ms, ` +
          `lost ${s.lost}, out of order ${s.outOfOrder}, duplicates ${s.duplicates}` +
          (s.disconnects ? `, ${s.disconnects} disconnects (${s.reason})` : ''),
      );
    log(
      `  sent ${fmt(prod.sentPerSecond, 1)}/s, ${prod.accepted} accepted, ${prod.failed} failed; Redis messages A→ ${result.cluster.sentByA}, ` +
        `→B ${result.cluster.receivedByB}, gap fills on B ${result.cluster.gapFillsOnB}; RSS A ${mib(rss.A)} / B ${mib(rss.B)} MiB; ` +
        `CPU A ${cores(used.groups.A)} / B ${cores(used.groups.B)} / clients ${cores(used.groups.clients)} / others ${cores(used.others)} cores`,
    );
    return result;
  } finally {
    await Promise.all(procs.map((p) => p.proc.stop()));
    for (const s of servers) {
      const died = s.exit();
      if (died) log(`an instance ${died} during the run; its last output:\n${s.output().slice(-3000)}`);
      await s.stop();
    }
    await db.drop();
  }
}

/** The markdown section for bench/results.md. */
export function crossNodeReport(r: CrossNodeResult): string {
  const lines: string[] = [];
  const row = (...cols: string[]) => lines.push(`| ${cols.join(' | ')} |`);
  lines.push('## Cross-node latency (two instances, REDIS_URL)');
  lines.push('');
  lines.push(
    `Two instances of the server on one MariaDB and one Redis; ${fmt(r.subscribers)} Socket.IO subscribers of one ` +
      `project, half on each instance (websocket, separate client processes per instance). The producer POSTs ` +
      `${r.rate} progress updates/s to instance A only for ${r.seconds} s; each update's \`message\` carries its send ` +
      'time and each subscriber takes send → receive. Subscribers on B get every event through Redis (A publishes ' +
      "after its commit; B's delivery hub puts it in seq order), those on A are the same-node reference. " +
      'Target: B-side p99 < 100 ms, 0 lost, 0 out of order.',
  );
  lines.push('');
  row(
    'subscribers on',
    'count',
    'delivered',
    'lost',
    'out of order',
    'duplicates',
    'p50 ms',
    'p99 ms',
    'max ms',
    'target',
  );
  row('---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '---');
  for (const s of r.sides) {
    const ok = s.p99 < 100 && s.lost === 0 && s.outOfOrder === 0;
    row(
      s.instance === 'B' ? 'B (cross-node)' : 'A (same node)',
      fmt(s.subscribers),
      `${fmt(s.delivered)}/${fmt(s.expected)}`,
      fmt(s.lost),
      fmt(s.outOfOrder),
      fmt(s.duplicates),
      ms(s.p50),
      ms(s.p99),
      ms(s.max),
      s.instance === 'B' ? (ok ? '✔' : '✘') : '',
    );
  }
  lines.push('');
  lines.push(
    `Sent ${fmt(r.sentPerSecond, 1)}/s (${fmt(r.accepted)} accepted, ${fmt(r.failedPosts)} failed). Redis messages ` +
      `sent by A ${fmt(r.cluster.sentByA)}, received by B ${fmt(r.cluster.receivedByB)}; holes B read from the log ` +
      `${fmt(r.cluster.gapFillsOnB)}. RSS A ${mib(r.rss.A)} MiB, B ${mib(r.rss.B)} MiB. CPU (cores): A ` +
      `${cores(r.cpu.groups.A)}, B ${cores(r.cpu.groups.B)}, clients ${cores(r.cpu.groups.clients)}, others ${cores(r.cpu.others)}` +
      `${r.drainTimedOut ? '. The drain timed out: events were still missing.' : '.'}`,
  );
  return lines.join('\n');
}

if (require.main === module) {
  runCrossNode().then(
    (r) => process.stdout.write(`${crossNodeReport(r)}\n`),
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
