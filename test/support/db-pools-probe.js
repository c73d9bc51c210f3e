// Run by test/db-pools.e2e-spec.ts against the BUILT DbService (Nest 12 is ESM: ts-jest cannot load it):
// probes which connections take stacked statements. Prints one JSON line.
const { DbService } = require('../../dist/src/database/db.service');

async function main() {
  const db = new DbService({ databaseUrl: process.argv[2] });
  await db.connect();
  const out = {};
  try {
    await db.query('SELECT 1 AS a; SELECT 2 AS b');
    out.stackedQuery = 'accepted';
  } catch (e) {
    out.stackedQuery = `refused: ${e.message}`;
  }
  const insert = 'INSERT INTO projects (id, last_seq, last_event_at, created_at) VALUES (?, ?, ?, ?)';
  const res = await db.transaction((tx) =>
    tx.batch(
      [
        { sql: insert, params: ['pool-probe', 0, 0, 0] },
        { sql: 'SELECT id FROM projects WHERE id = ?', params: ['pool-probe'] },
      ],
      { commit: true },
    ),
  );
  out.batch = res.map((r) => r.rows.map((x) => x.id));
  out.committed = (await db.query('SELECT id FROM projects WHERE id = ?', ['pool-probe'])).length;
  try {
    await db.transaction((tx) =>
      tx.batch(
        [
          { sql: insert, params: ['pool-probe-2', 0, 0, 0] },
          { sql: 'INSERT INTO no_such_table (x) VALUES (?)', params: [1] },
        ],
        { commit: true },
      ),
    );
    out.failedBatch = 'committed';
  } catch {
    out.failedBatch = 'rejected';
  }
  out.afterFailed = (await db.query('SELECT id FROM projects WHERE id = ?', ['pool-probe-2'])).length;
  await db.onApplicationShutdown();
  process.stdout.write(JSON.stringify(out) + '\n');
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
