// One-off probe (after `npm run build` and `npx tsc -p tsconfig.bench.json`; node bench/probes/create-batched-raw.js):
// a second, independent raw create baseline, see README #19. The bench's raw create sends its statements one by
// one (START, steps, counter, workflow, event, COMMIT: six round trips); this one sends the app's own two
// multi-statement round trips (START + steps + counter; workflow + event + COMMIT), raw mysql2, no HTTP.
// Alternates, same run, 8 connections, 5 s each, 3 times: the app's create, the bench's raw create, this one.
const D = '../../dist-bench/bench/';
const mysql = require('mysql2');
const { startServer, ADMIN_TOKEN } = require(D + 'server');
const { seed } = require(D + 'seed');
const { layouts, createBody } = require(D + 'workload');
const { freshDatabase } = require(D + 'common');
const { runHttp } = require(D + 'load');
const { mysqlCreateBaseline } = require(D + 'baseline-create');
const { insertEvents, MYSQL_SEQ_ONE } = require(D + 'raw-transaction');
const {
  STEP_COLUMNS,
  WORKFLOW_COLUMNS,
} = require('../../dist-bench/src/modules/workflows/database/workflow.mapper');
const { Latencies } = require(D + 'stats');

const C = 8,
  SECS = 5,
  REPS = 3;
const insertSql = (t, cols, n) =>
  `INSERT INTO ${t} (${cols.join(', ')}) VALUES ${Array(n)
    .fill(`(${cols.map(() => '?').join(', ')})`)
    .join(', ')}`;

async function batchedRaw(url) {
  const pool = mysql
    .createPool({
      uri: url,
      connectionLimit: C,
      multipleStatements: true,
      supportBigNumbers: true,
      charset: 'utf8mb4_unicode_ci',
    })
    .promise();
  const [[wf0]] = await pool.query(
    `SELECT ${WORKFLOW_COLUMNS.join(', ')} FROM workflows ORDER BY id LIMIT 1`,
  );
  const [steps] = await pool.query(
    `SELECT ${STEP_COLUMNS.join(', ')} FROM workflow_steps WHERE workflow_id = ? ORDER BY position`,
    [wf0.id],
  );
  const [[ev]] = await pool.query(
    "SELECT data FROM events WHERE type = 'workflow:created' AND workflow_id = ? LIMIT 1",
    [wf0.id],
  );
  const rt1 = `START TRANSACTION;\n${insertSql('workflow_steps', STEP_COLUMNS, steps.length)};\n${MYSQL_SEQ_ONE}`;
  const rt2 = `${insertSql('workflows', WORKFLOW_COLUMNS, 1)};\n${insertEvents(1)};\nCOMMIT`;
  const lat = new Latencies();
  let ops = 0,
    n = 0;
  const conns = await Promise.all(Array.from({ length: C }, () => pool.getConnection()));
  const start = performance.now(),
    deadline = start + SECS * 1000;
  await Promise.all(
    conns.map(async (conn) => {
      while (performance.now() < deadline) {
        const i = n++,
          id = `braw-${process.pid}-${Date.now()}-${i}`,
          p = `c${String(i % 50).padStart(2, '0')}`,
          now = Date.now();
        const t0 = performance.now();
        const [r1] = await conn.query(rt1, [
          ...steps.flatMap((s) => STEP_COLUMNS.map((c) => (c === 'workflow_id' ? id : (s[c] ?? null)))),
          p,
          1,
          now,
          now,
          1,
        ]);
        const seq = Number(r1[2].insertId);
        const wf = {
          ...wf0,
          id,
          project_id: p,
          created_at: now,
          updated_at: now,
          last_seq: seq,
          created_seq: seq,
        };
        await conn.query(rt2, [
          ...WORKFLOW_COLUMNS.map((c) => wf[c] ?? null),
          p,
          seq,
          'workflow:created',
          id,
          null,
          1,
          now,
          ev?.data ?? '{}',
        ]);
        ops++;
        lat.add(performance.now() - t0);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  conns.forEach((c) => c.release());
  await pool.end();
  const [p50, p99] = lat.percentiles(50, 99);
  return { ops, seconds: secs, p50, p99 };
}

(async () => {
  const spreads = layouts();
  const rawDb = await freshDatabase('mysql'),
    bDb = await freshDatabase('mysql'),
    appDb = await freshDatabase('mysql');
  for (const db of [rawDb, bDb]) {
    const prep = await startServer(db.url);
    await seed(prep.url, ADMIN_TOKEN, spreads);
    await prep.stop();
  }
  const server = await startServer(appDb.url);
  const token = await seed(server.url, ADMIN_TOKEN, spreads);
  let k = 0;
  const f = (r) => `${(r.ops / r.seconds).toFixed(0)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)}`;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let rep = 0; rep < REPS; rep++) {
    await sleep(1500);
    const a = await runHttp({
      url: server.url,
      connections: C,
      seconds: SECS,
      method: 'POST',
      expect: 201,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      next: () => ({
        path: `/api/projects/c${String(k++ % 50).padStart(2, '0')}/workflows`,
        body: createBody(),
      }),
    });
    await sleep(1500);
    const r = await mysqlCreateBaseline(rawDb.url, C, SECS);
    await sleep(1500);
    const b = await batchedRaw(bDb.url);
    console.log(
      `rep ${rep}: app ${f(a)} | raw 6 round trips ${f(r)} | raw batched 2 ${f(b)} | app p99 / raw ${(a.p99 / r.p99).toFixed(2)}x, / batched ${(a.p99 / b.p99).toFixed(2)}x`,
    );
  }
  await server.stop();
  for (const db of [rawDb, bDb, appDb]) await db.drop?.();
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
