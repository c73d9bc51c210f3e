import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { PoolOptions } from 'mysql2';
import { MIGRATIONS } from '../../migrations';

/**
 * mysql2's prepared-statement cache per connection. Nothing here prepares statements (queries go through
 * `query`, not `execute`), but the cache's LRU allocates its four arrays at full size when the connection
 * opens: at mysql2's default of 16,000 entries that is ~500 KiB of heap per pooled connection (up to 40).
 */
export const MAX_PREPARED_STATEMENTS = 16;

export type DatabaseKind = 'sqlite' | 'mysql';

export function databaseKind(url: string): DatabaseKind {
  return url.startsWith('sqlite:') ? 'sqlite' : 'mysql';
}

/**
 * TypeORM options for `sqlite:<file>` (better-sqlite3, WAL) or `mysql://…` (mysql2). TypeORM is the
 * connection pool and the migration runner here, with no entities: repositories write set-based SQL
 * (see README, "TypeORM's role"). `synchronize` is always off.
 */
export function dataSourceOptions(
  url: string,
  sqliteSynchronous: 'FULL' | 'NORMAL' = 'FULL',
): DataSourceOptions {
  const common = {
    entities: [],
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: false,
  };
  if (databaseKind(url) === 'sqlite') {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: file,
      enableWAL: true,
      statementCacheSize: 500,
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        // FULL syncs the WAL at every commit: "2xx = committed" holds through a power loss or an OS crash.
        // NORMAL (SQLITE_SYNCHRONOUS, an explicit opt-in) survives a process crash only.
        db.pragma(`synchronous = ${sqliteSynchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    };
  }
  return {
    ...common,
    type: 'mysql',
    connectorPackage: 'mysql2',
    url: url.replace(/^mariadb:/, 'mysql:'),
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: false,
    // no stack capture per query: it costs ~5 % of a write on the hot path
    trace: false,
    extra: {
      connectionLimit: 16,
      enableKeepAlive: true,
      connectTimeout: 3000,
      maxPreparedStatements: MAX_PREPARED_STATEMENTS,
    },
  } as DataSourceOptions;
}

/** The write path's pool (MySQL/MariaDB only): the one place with `multipleStatements`. */
export function writePoolOptions(url: string): PoolOptions {
  return {
    uri: url.replace(/^mariadb:/, 'mysql:'),
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: true,
    connectionLimit: 24,
    enableKeepAlive: true,
    connectTimeout: 3000,
    maxPreparedStatements: MAX_PREPARED_STATEMENTS,
  };
}
