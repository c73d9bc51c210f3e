// Run by test/db-ready.e2e-spec.ts against the BUILT DbService (ts-jest cannot load the ESM Nest build):
// what the service says while its ready listeners (the admin key's bootstrap is one) are still running.
// Prints one JSON line.
const { DbService } = require('../../dist/src/database/db.service');

async function main() {
  const db = new DbService({ databaseUrl: process.argv[2] });
  const out = {};
  db.whenReady(async () => {
    out.isReadyInListener = db.isReady;
    out.queryInListener = (await db.query('SELECT 1 AS ok'))[0].ok;
    try {
      await db.ping();
      out.pingInListener = 'ok';
    } catch (e) {
      out.pingInListener = `${e.code}: ${e.message}`;
    }
    // a listener registered while the listeners run still runs before `ready`
    db.whenReady(() => {
      out.lateListenerSawReady = db.isReady;
    });
  });
  let waited = false;
  const waiter = db.waitReady().then(() => (waited = db.isReady));
  await db.connect();
  await waiter;
  out.waitReadyResolvedReady = waited;
  out.isReadyAfter = db.isReady;
  await db.ping();
  out.pingAfter = 'ok';
  await db.onApplicationShutdown();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
