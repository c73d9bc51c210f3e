import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './support/test-db';

/**
 * The write path's multi-statement connection is its own (on MySQL/MariaDB a mysql2 pool of ours, through
 * mysql2's public API); every other query runs on TypeORM's pool, where a stacked statement is refused, so a
 * future string-concatenation bug cannot become stacked SQL there.
 */
describe('database pools', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('takes stacked statements only on the write path, and commits or rolls back a batch whole', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(__dirname, 'support', 'db-pools-probe.js'),
      database.url,
    ]);
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.stackedQuery).toMatch(/^refused/);
    expect(out.batch).toEqual([[], ['pool-probe']]);
    expect(out.committed).toBe(1);
    expect(out.failedBatch).toBe('rejected');
    expect(out.afterFailed).toBe(0);
  });
});
