import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

/**
 * Tests run on SQLite unless DATABASE_URL is a mysql:// URL; then every test database is created fresh
 * on that server (named after the URL's database plus a random suffix) and dropped afterwards.
 */
export const usingMysql = (): boolean => /^(mysql|mariadb):\/\//.test(process.env.DATABASE_URL ?? '');

/** The guard: never wipe a database whose name does not say it is for tests. */
export function assertTestDatabaseName(name: string): void {
  if (!/test/i.test(name))
    throw new Error(`refusing to wipe database "${name}": its name does not say it is for tests`);
}

export interface TestDatabase {
  url: string;
  kind: 'sqlite' | 'mysql';
  /** For MySQL: the server URL without database, e.g. for creating a proxy. */
  host?: string;
  port?: number;
  drop(): Promise<void>;
}

function mysqlBase(): URL {
  return new URL((process.env.DATABASE_URL as string).replace(/^mariadb:/, 'mysql:'));
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!usingMysql()) {
    const dir = mkdtempSync(join(tmpdir(), 'stepline-test-'));
    return {
      url: `sqlite:${join(dir, 'stepline.sqlite')}`,
      kind: 'sqlite',
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const base = mysqlBase();
  const prefix = base.pathname.replace(/^\//, '') || 'stepline_test';
  const name = `${prefix}_${randomBytes(4).toString('hex')}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 64);
  assertTestDatabaseName(name);
  const conn = await createConnection({
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username || 'root'),
    password: decodeURIComponent(base.password),
  });
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    kind: 'mysql',
    host: base.hostname,
    port: Number(base.port || 3306),
    drop: async () => {
      assertTestDatabaseName(name);
      const c = await createConnection({
        host: base.hostname,
        port: Number(base.port || 3306),
        user: decodeURIComponent(base.username || 'root'),
        password: decodeURIComponent(base.password),
      });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

/** Runs SQL straight on a test database (for tests that set up what an older version left behind). */
export async function execSql(db: TestDatabase, sql: string, params: unknown[] = []): Promise<any[]> {
  if (db.kind === 'sqlite') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3');
    const conn = new Database(db.url.slice('sqlite:'.length));
    try {
      const st = conn.prepare(sql);
      return st.reader ? st.all(...params) : (st.run(...params), []);
    } finally {
      conn.close();
    }
  }
  const conn = await createConnection(db.url);
  try {
    const [rows] = await conn.query(sql, params);
    return Array.isArray(rows) ? (rows as any[]) : [];
  } finally {
    await conn.end();
  }
}
