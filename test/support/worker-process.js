'use strict';
/**
 * An external queue worker as a separate OS process, written with nothing but `fetch`, so that a test can
 * crash it for real (SIGKILL) or freeze it (SIGSTOP / SIGCONT). Run with `node worker-process.js`.
 *
 * Configuration (environment):
 *   STEPLINE_URL, STEPLINE_KEY     the server and a producer key
 *   QUEUE, WORKER_ID               what to claim and as whom
 *   LEASE_MS (30000), WAIT_MS (5000)
 *   HEARTBEAT_MS                   heartbeat every n ms while working (unset: never)
 *   PROGRESS_MS                    report progress on the first step every n ms (unset: never)
 *
 * It claims once, starts the first step, reports its first progress and then keeps working as configured.
 * Everything it does is printed on stdout as one JSON line per action:
 *   {"event":"claimed","workflowId","leaseToken","leaseExpiresAt","attempt","steps":[...]}  or {"event":"empty"}
 *   {"event":"started","status":200}   {"event":"progress","status","code","value","sent"}
 *   {"event":"heartbeat","status","code","leaseExpiresAt","sent"}   (sent: when the request left; t: when it was printed)
 * Commands on stdin, one per line:
 *   probe    one write of each kind with its token — progress, complete, log, heartbeat, batch — printed as
 *            {"event":"probe","results":{"progress":{status,code},...}}
 *   finish   completes every step in order: {"event":"finished","statuses":[...]}
 *   exit     exits 0
 */

const base = process.env.STEPLINE_URL;
const key = process.env.STEPLINE_KEY;
const queue = process.env.QUEUE;
const workerId = process.env.WORKER_ID ?? `worker-${process.pid}`;
const leaseMs = Number(process.env.LEASE_MS ?? 30000);
const waitMs = Number(process.env.WAIT_MS ?? 5000);
const heartbeatMs = process.env.HEARTBEAT_MS ? Number(process.env.HEARTBEAT_MS) : 0;
const progressMs = process.env.PROGRESS_MS ? Number(process.env.PROGRESS_MS) : 0;

const say = (o) => process.stdout.write(`${JSON.stringify({ ...o, t: Date.now() })}\n`);

async function call(method, path, body, lease) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  if (lease) headers['x-lease-token'] = lease;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

const outcome = (r) => ({ status: r.status, code: r.body && r.body.code });

let job;
let value = 1;

async function probe() {
  const id = job.workflowId;
  const step = job.steps[0];
  const results = {};
  results.progress = outcome(
    await call('POST', `/api/workflows/${id}/steps/${step}/progress`, { progress: 99 }, job.leaseToken),
  );
  results.complete = outcome(
    await call(
      'POST',
      `/api/workflows/${id}/steps/${step}/complete`,
      { result: { zombie: true } },
      job.leaseToken,
    ),
  );
  results.log = outcome(
    await call('POST', `/api/workflows/${id}/logs`, { level: 'info', message: 'zombie' }, job.leaseToken),
  );
  results.heartbeat = outcome(
    await call('POST', `/api/workflows/${id}/heartbeat`, { leaseToken: job.leaseToken, leaseMs }),
  );
  const batch = await call(
    'POST',
    '/api/progress',
    { updates: [{ workflowId: id, stepId: step, progress: 99 }] },
    job.leaseToken,
  );
  results.batch = {
    status: batch.status,
    code: batch.body && batch.body.results && batch.body.results[0].code,
  };
  say({ event: 'probe', results });
}

async function finish() {
  const statuses = [];
  for (const step of job.steps) {
    const r = await call(
      'POST',
      `/api/workflows/${job.workflowId}/steps/${step}/complete`,
      { result: { step, by: workerId } },
      job.leaseToken,
    );
    statuses.push(r.status);
  }
  say({ event: 'finished', statuses });
}

function listen() {
  let buf = '';
  let chain = Promise.resolve();
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      chain = chain.then(async () => {
        if (cmd === 'probe') await probe();
        else if (cmd === 'finish') await finish();
        else if (cmd === 'exit') process.exit(0);
      });
    }
  });
}

async function main() {
  const claim = await call('POST', `/api/queues/${queue}/claim`, { workerId, leaseMs, waitMs });
  if (claim.status === 204) {
    say({ event: 'empty' });
    process.exit(0);
  }
  if (claim.status !== 200) {
    say({ event: 'error', status: claim.status, body: claim.body });
    process.exit(1);
  }
  job = {
    workflowId: claim.body.workflow.id,
    leaseToken: claim.body.leaseToken,
    steps: claim.body.workflow.steps.map((s) => s.id),
  };
  say({
    event: 'claimed',
    workflowId: job.workflowId,
    leaseToken: job.leaseToken,
    leaseExpiresAt: claim.body.leaseExpiresAt,
    attempt: claim.body.attempt,
    steps: job.steps,
  });
  listen();
  const started = await call(
    'POST',
    `/api/workflows/${job.workflowId}/steps/${job.steps[0]}/start`,
    { message: `picked up by ${workerId}` },
    job.leaseToken,
  );
  say({ event: 'started', status: started.status, code: started.body && started.body.code });
  if (heartbeatMs > 0)
    setInterval(async () => {
      const sent = Date.now();
      const r = await call('POST', `/api/workflows/${job.workflowId}/heartbeat`, {
        leaseToken: job.leaseToken,
        leaseMs,
      }).catch((e) => ({ status: 0, body: { code: String(e) } }));
      say({ event: 'heartbeat', sent, ...outcome(r), leaseExpiresAt: r.body && r.body.leaseExpiresAt });
    }, heartbeatMs);
  if (progressMs > 0)
    setInterval(async () => {
      if (value >= 98) return;
      const v = value++;
      const sent = Date.now();
      const r = await call(
        'POST',
        `/api/workflows/${job.workflowId}/steps/${job.steps[0]}/progress`,
        { progress: v, message: `tick ${v}` },
        job.leaseToken,
      ).catch((e) => ({ status: 0, body: { code: String(e) } }));
      say({ event: 'progress', value: v, sent, ...outcome(r) });
    }, progressMs);
}

main().catch((err) => {
  say({ event: 'error', message: String(err && err.stack) });
  process.exit(1);
});
