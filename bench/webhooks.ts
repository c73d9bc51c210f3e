import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kind, fmt, freshDatabase, log, ms, SECONDS, sleep } from './common';
import { ADMIN_TOKEN, startServer } from './server';
import { Latencies } from './stats';

/**
 * Webhooks (§15): the real server delivering to a receiver in this process (node:http on 127.0.0.1, answers
 * 200 at once; WEBHOOK_ALLOWED_HOSTS=127.0.0.1).
 *
 * throughput: BENCH_WEBHOOK_EVENTS events are written first (batches of 100 progress updates to one running
 * step, one event each), then a webhook is created `from: "start"`; the clock runs from creation to the last
 * event's receipt, so it measures delivery alone (read the log, sign, POST 100 events, advance the cursor).
 * latency: a webhook `from: "now"`, then single progress updates at BENCH_WEBHOOK_RATE per second for
 * 2 × BENCH_SECONDS, each carrying its send time in `message`; send → receipt per event (the send precedes
 * the commit, so this bounds commit → receipt from above).
 *
 *   BENCH_WEBHOOK_EVENTS=20000   BENCH_WEBHOOK_RATE=100   BENCH_DB=sqlite|mysql|both
 */

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 20_000);
const RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 100);
const PROJECT = 'hooks';

export interface WebhookBenchRow {
  db: Kind;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  requests: number;
  rate: number;
  sent: number;
  received: number;
  p50: number;
  p99: number;
  max: number;
}

class Receiver {
  private server!: Server;
  port = 0;
  onBody: (body: any, at: number) => void = () => undefined;
  requests = 0;

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        this.requests++;
        res.end('ok');
        this.onBody(JSON.parse(Buffer.concat(chunks).toString('utf8')), at);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`webhooks bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function benchOne(db: Kind): Promise<WebhookBenchRow> {
  const database = await freshDatabase(db);
  const server = await startServer(database.url, { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  const rx = new Receiver();
  await rx.start();
  try {
    const base = server.url;
    await call(base, 'POST', `/api/projects/${PROJECT}/workflows`, {
      id: 'wf-hooks',
      type: 'bench',
      steps: [{ id: 's0' }],
    });
    await call(base, 'POST', '/api/workflows/wf-hooks/steps/s0/start', {});
    let current = 0;
    log(`webhooks (${db}): writing ${EVENTS} events`);
    for (let i = 0; i < EVENTS; i += 100) {
      const n = Math.min(100, EVENTS - i);
      await call(base, 'POST', '/api/progress', {
        updates: Array.from({ length: n }, () => ({
          workflowId: 'wf-hooks',
          stepId: 's0',
          current: ++current,
          total: 1_000_000_000,
        })),
      });
    }
    const lastSeq = (await call(base, 'GET', `/api/projects/${PROJECT}/events?after=0&limit=1`))
      .lastSeq as number;

    // throughput: the whole log to one fast receiver
    let maxSeq = 0;
    let count = 0;
    rx.onBody = (b) => {
      for (const e of b.events ?? []) {
        count++;
        if (e.seq > maxSeq) maxSeq = e.seq;
      }
    };
    const t0 = Date.now();
    const hook = await call(base, 'POST', `/api/projects/${PROJECT}/webhooks`, {
      url: `http://127.0.0.1:${rx.port}/all`,
      from: 'start',
    });
    await until('the whole log', () => maxSeq >= lastSeq, 300_000);
    const seconds = (Date.now() - t0) / 1000;
    const requests = rx.requests;
    await call(base, 'DELETE', `/api/projects/${PROJECT}/webhooks/${hook.id}`);
    log(`webhooks (${db}): ${count} events in ${seconds.toFixed(2)} s, ${requests} requests`);

    // latency at RATE events/s
    const lat = new Latencies();
    rx.onBody = (b, at) => {
      for (const e of b.events ?? []) {
        const m = /^t(\d+)$/.exec(String(e.data?.message ?? ''));
        if (m) lat.add(at - Number(m[1]));
      }
    };
    await call(base, 'POST', `/api/projects/${PROJECT}/webhooks`, {
      url: `http://127.0.0.1:${rx.port}/live`,
      types: ['workflow:step:progress'],
    });
    const total = RATE * SECONDS * 2;
    const start = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      inflight.push(
        call(base, 'POST', '/api/workflows/wf-hooks/steps/s0/progress', {
          current: ++current,
          total: 1_000_000_000,
          message: `t${Date.now()}`,
        }),
      );
    }
    await Promise.all(inflight);
    await until('the live events', () => lat.count >= total, 60_000).catch((e: Error) => log(e.message));
    const [p50, p99, max] = lat.percentiles(50, 99, 100);
    return {
      db,
      events: count,
      seconds,
      eventsPerSecond: count / seconds,
      requests,
      rate: RATE,
      sent: total,
      received: lat.count,
      p50,
      p99,
      max,
    };
  } finally {
    await rx.close();
    await server.stop();
    await database.drop();
  }
}

export async function runWebhooks(dbs: Kind[]): Promise<WebhookBenchRow[]> {
  const rows: WebhookBenchRow[] = [];
  for (const db of dbs) rows.push(await benchOne(db));
  return rows;
}

export function webhooksReport(rows: WebhookBenchRow[]): string {
  const lines = [
    '## Webhooks (#16)',
    '',
    `Throughput: ${fmt(rows[0]?.events ?? 0)} events already in the log, a webhook created \`from: "start"\`, to one ` +
      'receiver in the bench process that answers 200 at once; from creation to the last receipt (100 events per POST). ' +
      `Latency: single progress updates at ${fmt(rows[0]?.rate ?? 0)}/s for ${SECONDS * 2} s, POST sent → receipt at the ` +
      'receiver (an upper bound on commit → receipt).',
    '',
    '| db | events | s | events/s | POSTs | sent | received | p50 ms | p99 ms | max ms |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.db === 'mysql' ? 'MariaDB' : 'SQLite'} | ${fmt(r.events)} | ${r.seconds.toFixed(2)} | ${fmt(r.eventsPerSecond)} | ${fmt(r.requests)} | ${fmt(r.sent)} | ${fmt(r.received)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`,
    );
  lines.push('');
  return lines.join('\n');
}
