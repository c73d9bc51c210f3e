import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './support/test-db';

/**
 * The database is "ready" (for /health, the key lookups and the sweepers) only once its ready listeners have run:
 * the admin key is written by one, and a request let in before it would find no such key, be answered 401 and
 * have that answer cached as an unknown key for seconds. The listeners themselves may query.
 */
describe('database readiness', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('is not ready (ping refused as unavailable) while the ready listeners run, which may query; ready after', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(__dirname, 'support', 'db-ready-probe.js'),
      database.url,
    ]);
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out).toEqual({
      isReadyInListener: false,
      queryInListener: 1,
      pingInListener: 'unavailable: the database is not available yet',
      lateListenerSawReady: false,
      waitReadyResolvedReady: true,
      isReadyAfter: true,
      pingAfter: 'ok',
    });
  });
});
