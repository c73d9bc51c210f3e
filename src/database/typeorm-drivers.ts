import Module from 'node:module';
import { dirname } from 'node:path';
import type { DataSource } from 'typeorm';
import type { Driver } from 'typeorm/driver/Driver.js';

/**
 * TypeORM's `DriverFactory` requires the driver classes of all 17 databases it knows (each with its query
 * runner: ~1,100 KiB of source for Oracle, SAP, Spanner, Postgres, SQL Server, Mongo, …) when `typeorm` is
 * loaded, though a process only ever builds one. This puts a factory that requires a driver when a
 * DataSource asks for it in the module cache, under the original's file name, before `typeorm` is loaded;
 * every other type still goes to TypeORM's own factory, loaded on demand. It must be imported before the
 * first `import … from 'typeorm'` (db.service.ts imports it first). Its tripwire: boot-footprint.e2e-spec.ts
 * fails when a booted server has another driver's module loaded (e.g. after an upgrade moves the factory).
 */
const FACTORY = require.resolve('typeorm/driver/DriverFactory.js');

interface DriverFactory {
  create(dataSource: DataSource): Driver;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const drivers: Record<string, () => new (ds: DataSource) => Driver> = {
  mysql: () =>
    (require('typeorm/driver/mysql/MysqlDriver.js') as typeof import('typeorm/driver/mysql/MysqlDriver.js'))
      .MysqlDriver,
  'better-sqlite3': () =>
    (
      require('typeorm/driver/better-sqlite3/BetterSqlite3Driver.js') as typeof import('typeorm/driver/better-sqlite3/BetterSqlite3Driver.js')
    ).BetterSqlite3Driver,
};
/* eslint-enable @typescript-eslint/no-require-imports */

let original: DriverFactory | undefined;

/** TypeORM's own factory, for the types this process was not expected to use. */
function originalFactory(): DriverFactory {
  if (original) return original;
  // a module of its own (not the cache's entry, which is this file's factory), compiled from the original file
  const m = new Module(FACTORY, module) as Module & { load(file: string): void };
  m.filename = FACTORY;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    dirname(FACTORY),
  );
  m.load(FACTORY);
  const Factory = (m.exports as { DriverFactory: new () => DriverFactory }).DriverFactory;
  return (original = new Factory());
}

export class LazyDriverFactory implements DriverFactory {
  create(dataSource: DataSource): Driver {
    const load = drivers[dataSource.options.type];
    return load ? new (load())(dataSource) : originalFactory().create(dataSource);
  }
}

/** Whether TypeORM got this factory (false: `typeorm` was loaded before this module). */
export const lazyDriversInstalled = ((): boolean => {
  const cached = require.cache[FACTORY];
  if (cached) return (cached.exports as { DriverFactory?: unknown }).DriverFactory === LazyDriverFactory;
  const m = new Module(FACTORY, module);
  m.filename = FACTORY;
  m.loaded = true;
  m.exports = { DriverFactory: LazyDriverFactory };
  require.cache[FACTORY] = m;
  return true;
})();
