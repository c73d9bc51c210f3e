// before typeorm: TypeORM then loads only the driver this process uses
import './typeorm-drivers';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createPool, type Pool, type PoolConnection } from 'mysql2';
import { DataSource, QueryRunner } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { DomainError } from '../common/errors/domain-error';
import { AsyncMutex } from './async-mutex';
import { databaseKind, dataSourceOptions, writePoolOptions } from './data-source-options';
import { mysqlDialect, sqliteDialect } from './dialect';
import { joinStatements, MAX_STATEMENT_BYTES, valueBytes } from './sql';
import type { Dialect, Statement, StatementResult, Tx } from './tx';

const READ_COMMITTED = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

const toResult = (raw: any): StatementResult =>
  Array.isArray(raw)
    ? { rows: raw, affectedRows: 0, insertId: 0 }
    : {
        rows: [],
        affectedRows: Number(raw?.affectedRows ?? raw?.changes ?? 0),
        insertId: Number(raw?.insertId ?? raw?.lastInsertRowid ?? 0),
      };

type ReadyListener = () => Promise<void> | void;

/**
 * Owns the DataSource. The app listens before the database answers: it connects and migrates in the
 * background, retrying, and everything that needs the database answers 503 `unavailable` until then.
 */
@Injectable()
export class DbService implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  readonly dialect: Dialect;
  readonly dataSource: DataSource;
  private readonly mutex = new AsyncMutex();
  private ready = false;
  /** Connected and migrated: queries may run (`ready` follows once the ready listeners are done). */
  private connected = false;
  private closing = false;
  private readyWaiters: Array<() => void> = [];
  private readonly onReady: ReadyListener[] = [];
  /** MySQL connections already switched to READ COMMITTED for their session. */
  private readonly readCommitted = new WeakSet<object>();

  /**
   * MySQL/MariaDB: the write path's own mysql2 pool, the only one with `multipleStatements` (a write
   * transaction is a few multi-statement round trips, all parameterised). Every other query goes through
   * TypeORM's pool, where a stacked statement is refused.
   */
  private writePool?: Pool;

  constructor(private readonly config: AppConfig) {
    this.dialect = databaseKind(config.databaseUrl) === 'sqlite' ? sqliteDialect : mysqlDialect;
    this.dataSource = new DataSource(dataSourceOptions(config.databaseUrl, config.sqliteSynchronous));
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Runs `fn` once the database is connected and migrated (at once if it already is). */
  whenReady(fn: ReadyListener): void {
    if (this.ready) void Promise.resolve(fn()).catch((e) => this.logger.error(e));
    else this.onReady.push(fn);
  }

  waitReady(): Promise<void> {
    return this.ready ? Promise.resolve() : new Promise((r) => this.readyWaiters.push(r));
  }

  /** Connects and migrates, retrying every second until it succeeds or the app shuts down. */
  async connect(): Promise<void> {
    let attempt = 0;
    while (!this.closing) {
      try {
        if (!this.dataSource.isInitialized) await this.dataSource.initialize();
        await this.dataSource.runMigrations({ transaction: 'each' });
        if (this.dialect.kind === 'mysql' && !this.writePool)
          this.writePool = createPool(writePoolOptions(this.config.databaseUrl));
        // queries may run from here (the ready listeners need them: the admin key is written by one), but
        // `isReady`, /health and the key lookups wait until every listener is done: a request let in between
        // would find no admin key and be answered 401, and that answer would be cached as an unknown key
        this.connected = true;
        while (this.onReady.length > 0) for (const fn of this.onReady.splice(0)) await fn();
        this.ready = true;
        for (const w of this.readyWaiters.splice(0)) w();
        this.logger.log(`database ready (${this.dialect.kind})`);
        return;
      } catch (err) {
        if (attempt++ % 10 === 0) this.logger.warn(`database not ready, retrying: ${(err as Error).message}`);
        if (
          this.dataSource.isInitialized &&
          this.dialect.kind === 'mysql' &&
          !this.dialect.isUnavailable(err)
        ) {
          // a migration error is not a connectivity problem: do not spin on it silently
          this.logger.error(err);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async ping(): Promise<void> {
    if (!this.ready) throw new DomainError('unavailable', 'the database is not available yet');
    await this.query('SELECT 1 AS ok');
  }

  async query<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.assertReady();
    const run = async () => {
      const res = await this.dataSource.query(sql, params);
      return res as T[];
    };
    try {
      return this.dialect.kind === 'sqlite' ? await this.mutex.run(run) : await run();
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** ONE transaction; retried from the start on deadlock or lock timeout, so `fn` must be re-runnable. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.assertReady();
    for (let attempt = 1; ; attempt++) {
      try {
        return this.dialect.kind === 'sqlite'
          ? await this.mutex.run(() => this.runTx(fn))
          : await this.runTx(fn);
      } catch (err) {
        if (attempt < 8 && this.dialect.isRetryable(err)) {
          await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
          continue;
        }
        throw this.translate(err);
      }
    }
  }

  /**
   * ONE read-only transaction whose reads all see the same committed state, for reads that must agree with
   * each other (a snapshot and the project counter it is valid at). MySQL/MariaDB: REPEATABLE READ with
   * `START TRANSACTION WITH CONSISTENT SNAPSHOT` (the pool's sessions are READ COMMITTED, which would give
   * each statement its own snapshot); SQLite: BEGIN … COMMIT under the one-connection mutex, so no write
   * commits between the reads. `fn` must only read.
   */
  async readConsistent<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.assertReady();
    try {
      if (this.dialect.kind === 'sqlite') return await this.mutex.run(() => this.runTx(fn));
      // on the write pool's own connection (not TypeORM's): the read needs its session to itself
      const conn = await this.writeConnection();
      try {
        // SET TRANSACTION (without SESSION) applies to the next transaction only
        await this.send(
          conn,
          'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\nSTART TRANSACTION WITH CONSISTENT SNAPSHOT',
          [],
        );
        try {
          const query = async <R>(sql: string, params: unknown[] = []) =>
            toResult(await this.send(conn, sql, params)).rows as R[];
          const tx: Tx = {
            dialect: this.dialect,
            query,
            exec: () => Promise.reject(new Error('a consistent read does not write')),
            batch: async (statements) => {
              const out: StatementResult[] = [];
              for (const st of statements) out.push(toResult(await this.send(conn, st.sql, st.params)));
              return out;
            },
          };
          return await fn(tx);
        } finally {
          await this.send(conn, 'COMMIT', []).catch(() => conn.destroy());
        }
      } finally {
        conn.release();
      }
    } catch (err) {
      throw this.translate(err);
    }
  }

  private async runTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.dialect.kind === 'mysql') return this.runMysqlTx(fn);
    const qr = this.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      try {
        const result = await fn(this.txHandle(qr));
        await qr.commitTransaction();
        return result;
      } catch (err) {
        if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await qr.release();
    }
  }

  /**
   * MySQL/MariaDB: `START TRANSACTION` goes out with the transaction's first statements and `COMMIT` with
   * its last batch (`{ commit: true }`), or alone when `fn` returns: a group commit is three round trips
   * (load, steps + counter, rows + events + commit), not five. On the write pool's own mysql2 connection:
   * TypeORM's query wrapper cost a fifth of the CPU of a write.
   */
  private async runMysqlTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const conn = await this.writeConnection();
    const state = { begun: false, done: false };
    try {
      const result = await fn(this.mysqlTxHandle(conn, state));
      if (state.begun && !state.done) await this.send(conn, 'COMMIT', []);
      state.done = true;
      return result;
    } catch (err) {
      if (state.begun && !state.done) {
        // a failed statement stops its batch before COMMIT: the transaction is still open (or, after a
        // deadlock, already rolled back by the server); never hand a connection back inside a transaction
        await this.send(conn, 'ROLLBACK', []).catch(() => conn.destroy());
      }
      throw err;
    } finally {
      conn.release();
    }
  }

  private writeConnection(): Promise<PoolConnection> {
    const pool = this.writePool;
    if (!pool) return Promise.reject(new DomainError('unavailable', 'the database is not available yet'));
    return new Promise((resolve, reject) =>
      pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))),
    );
  }

  private send(conn: PoolConnection, sql: string, params: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) =>
      conn.query(sql, params, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result))),
    );
  }

  private mysqlTxHandle(conn: PoolConnection, state: { begun: boolean; done: boolean }): Tx {
    const run = async (statements: Statement[], commit: boolean): Promise<StatementResult[]> => {
      if (state.done) throw new Error('the transaction is already committed');
      // a batch past MAX_BATCH_BYTES goes in several round trips of the same transaction: one packet over the
      // server's max_allowed_packet (16 MiB by default) would drop the connection (a group commit of many
      // projects' large step results reaches that)
      if (statements.length > 1 && batchBytes(statements) > MAX_BATCH_BYTES) {
        const out: StatementResult[] = [];
        let chunk: Statement[] = [];
        let bytes = 0;
        for (const st of statements) {
          const b = statementBytes(st);
          if (chunk.length > 0 && bytes + b > MAX_BATCH_BYTES) {
            out.push(...(await run(chunk, false)));
            chunk = [];
            bytes = 0;
          }
          chunk.push(st);
          bytes += b;
        }
        out.push(...(await run(chunk, commit)));
        return out;
      }
      if (statements.length === 0 && !(commit && state.begun)) {
        if (commit) state.done = true;
        return [];
      }
      // READ COMMITTED: FOR UPDATE of an id that does not exist yet takes no gap lock, so concurrent creates
      // do not deadlock; correctness rests on row locks and the counter row, not on snapshot reads. Set once
      // per pooled connection, in the same round trip as its first transaction's first statements.
      const setIsolation = !this.readCommitted.has(conn);
      const head = setIsolation ? [READ_COMMITTED] : [];
      if (!state.begun) head.push('START TRANSACTION');
      const { sql, params } = joinStatements(head, statements, commit ? ['COMMIT'] : []);
      state.begun = true;
      const raw = await this.send(conn, sql, params);
      if (commit) state.done = true;
      if (setIsolation) this.readCommitted.add(conn);
      const count = head.length + statements.length + (commit ? 1 : 0);
      if (count === 1) return [toResult(raw)];
      const all = raw as unknown[];
      const out: StatementResult[] = new Array(statements.length);
      for (let i = 0; i < statements.length; i++) out[i] = toResult(all[head.length + i]);
      return out;
    };
    return {
      dialect: this.dialect,
      batch: (statements, options) => run(statements, options?.commit === true),
      query: async <R>(sql: string, params: unknown[] = []) =>
        (await run([{ sql, params }], false))[0].rows as R[],
      exec: async (sql: string, params: unknown[] = []) => {
        const r = (await run([{ sql, params }], false))[0];
        return { affectedRows: r.affectedRows, insertId: r.insertId };
      },
    };
  }

  /** SQLite: one statement after the other (synchronous driver, one writer at a time). */
  private txHandle(qr: QueryRunner): Tx {
    return {
      dialect: this.dialect,
      batch: async (statements: Statement[]) => {
        const out: StatementResult[] = [];
        for (const st of statements) {
          const res = await qr.query(st.sql, st.params, true);
          const r = toResult(res.raw);
          // better-sqlite3 reports the changed-row count as `affected`, not inside `raw`
          if (typeof res.affected === 'number') r.affectedRows = res.affected;
          if (!Array.isArray(res.raw) && Array.isArray(res.records) && res.records.length)
            r.rows = res.records;
          out.push(r);
        }
        return out;
      },
      query: async <R>(sql: string, params: unknown[] = []) => (await qr.query(sql, params)) as R[],
      exec: async (sql: string, params: unknown[] = []) => {
        const res = await qr.query(sql, params, true);
        const raw = res.raw ?? {};
        return {
          affectedRows: Number(res.affected ?? raw.affectedRows ?? raw.changes ?? 0),
          insertId: Number(raw.insertId ?? raw.lastInsertRowid ?? 0),
        };
      },
    };
  }

  private assertReady(): void {
    if (!this.connected) throw new DomainError('unavailable', 'the database is not available yet');
  }

  private translate(err: unknown): unknown {
    if (err instanceof DomainError) return err;
    if (this.dialect.isUnavailable(err))
      return new DomainError('unavailable', 'the database is not available');
    return err;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    const pool = this.writePool;
    this.writePool = undefined;
    if (pool) await new Promise<void>((r) => pool.end(() => r()));
    if (this.dataSource.isInitialized) await this.mutex.run(() => this.dataSource.destroy());
  }
}

/** What one multi-statement round trip may carry, by estimate (see valueBytes). */
const MAX_BATCH_BYTES = MAX_STATEMENT_BYTES;

function statementBytes(st: Statement): number {
  if (st.paramBytes !== undefined) return st.sql.length + st.paramBytes;
  let n = st.sql.length;
  const p = st.params;
  for (let i = 0; i < p.length; i++) n += valueBytes(p[i]);
  return n;
}

function batchBytes(statements: readonly Statement[]): number {
  let n = 0;
  for (const st of statements) {
    n += statementBytes(st);
    if (n > MAX_BATCH_BYTES) break;
  }
  return n;
}
