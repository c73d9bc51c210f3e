// One-off probe (node bench/probes/claim-batched-raw.js): an independent raw claim baseline, see README #19.
// independent claim baseline: the app's own three batched round trips, raw mysql2, 8 workers, 5 s, 20,000 rows
const mysql = require('mysql2');
const N = 20000,
  C = 8,
  SECS = 5;
(async () => {
  const admin = mysql
    .createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true })
    .promise();
  await admin.query('DROP DATABASE IF EXISTS skipl_test; CREATE DATABASE skipl_test');
  await admin.query(`CREATE TABLE skipl_test.workflows (id VARCHAR(64) PRIMARY KEY, queue VARCHAR(64), status VARCHAR(16), lease_token VARCHAR(64) NULL,
    available_at BIGINT, created_at BIGINT, created_seq BIGINT, worker_id VARCHAR(64), lease_expires_at BIGINT, pad TEXT,
    KEY ix (queue, status, lease_token, available_at, created_at, created_seq))`);
  await admin.query(
    'CREATE TABLE skipl_test.queue_workers (queue VARCHAR(64), worker_id VARCHAR(64), last_seen_at BIGINT, PRIMARY KEY (queue, worker_id))',
  );
  const t0 = Date.now() - 100000;
  for (let b = 0; b < N; b += 2000) {
    const rows = [];
    for (let i = b; i < b + 2000; i++)
      rows.push([`w-${i}`, 'q', 'queued', null, t0 + i, t0 + i, i + 1, null, null, 'x'.repeat(300)]);
    await admin.query('INSERT INTO skipl_test.workflows VALUES ?', [rows]);
  }
  const pool = mysql
    .createPool({
      host: '127.0.0.1',
      user: 'root',
      database: 'skipl_test',
      connectionLimit: C,
      multipleStatements: true,
    })
    .promise();
  const lat = [];
  let ops = 0;
  const end = Date.now() + SECS * 1000;
  await Promise.all(
    Array.from({ length: C }, async (_, c) => {
      const conn = await pool.getConnection();
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      let seen = 0;
      while (Date.now() < end) {
        const s = performance.now();
        const now = Date.now();
        const [r1] = await conn.query(
          "START TRANSACTION; SELECT id FROM workflows WHERE queue = 'q' AND status = 'queued' AND lease_token IS NULL AND available_at <= ? ORDER BY available_at, created_at, created_seq LIMIT 1 FOR UPDATE SKIP LOCKED",
          [now],
        );
        const id = r1[1][0]?.id;
        await conn.query('SELECT * FROM workflows WHERE id = ? FOR UPDATE', [id]);
        const up =
          now - seen > 1000
            ? ((seen = now),
              ';INSERT INTO queue_workers VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE last_seen_at = VALUES(last_seen_at)')
            : '';
        await conn.query(
          `UPDATE workflows SET lease_token = ?, worker_id = ?, lease_expires_at = ? WHERE id = ?${up}; COMMIT`,
          [`t${c}-${ops}`, `w${c}`, now + 30000, id, ...(up ? ['q', `w${c}`, now] : [])],
        );
        lat.push(performance.now() - s);
        ops++;
      }
      conn.release();
    }),
  );
  lat.sort((a, b) => a - b);
  console.log(
    `batched raw claim, ${C} workers: ${Math.round(ops / SECS)}/s p50 ${lat[Math.floor(lat.length * 0.5)].toFixed(2)} ms p99 ${lat[Math.floor(lat.length * 0.99)].toFixed(2)} ms`,
  );
  await pool.end();
  await admin.query('DROP DATABASE skipl_test');
  await admin.end();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
