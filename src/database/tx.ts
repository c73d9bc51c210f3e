import type { DatabaseKind } from './data-source-options';

/**
 * The transaction port: what a repository may do inside ONE database transaction. DbService is its adapter
 * (SQLite and MySQL/MariaDB); nothing outside src/database/ knows which one runs.
 */

export interface ExecResult {
  affectedRows: number;
  insertId: number;
}

export interface Statement {
  sql: string;
  params: unknown[];
  /** The params' size by valueBytes, where the builder already counted it (insertStatements). */
  paramBytes?: number;
}

/** One statement's outcome in a batch: rows for a SELECT (or RETURNING), counts for a write. */
export interface StatementResult extends ExecResult {
  rows: any[];
}

/** A transaction's handle: plain parameterised SQL, set-based where it matters. */
export interface Tx {
  readonly dialect: Dialect;
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string, params?: unknown[]): Promise<ExecResult>;
  /**
   * Several statements in order: one round trip on MySQL (multi-statement), one after the other on SQLite.
   * The hot write path uses it to keep a group commit to a handful of round trips.
   */
  batch(statements: Statement[], options?: BatchOptions): Promise<StatementResult[]>;
}

export interface BatchOptions {
  /**
   * Commit the transaction with these statements: on MySQL `COMMIT` travels in the same round trip, and
   * runs only if every statement before it succeeded (the server stops a multi-statement at the first
   * error; the transaction is then rolled back). Nothing may run on the Tx afterwards. On SQLite the
   * commit happens when `fn` returns, as for any other transaction.
   */
  commit?: boolean;
}

/** The counter statement, and how to read the new last seq from its result. */
export interface SeqStatement extends Statement {
  read(result: StatementResult): number;
}

/**
 * Everything that differs between SQLite and MySQL/MariaDB lives here, so that no other module knows
 * which database it runs on.
 */
export interface Dialect {
  readonly kind: DatabaseKind;
  /** Suffix that row-locks the selected rows inside a transaction (nothing on SQLite: one writer at a time). */
  readonly forUpdate: string;
  /** Suffix that makes the claim query skip rows other transactions hold. */
  readonly skipLocked: string;
  insertIgnore(): string;
  /** Multi-row upsert suffix: update `updateCols` when the key exists. */
  upsert(conflictCols: string[], updateCols: string[]): string;
  /** Adds n to the project's seq counter (creating the project row on its first write); read() gives the new last seq. */
  seqStatement(projectId: string, n: number, now: number): SeqStatement;
  isRetryable(err: unknown): boolean;
  isUnavailable(err: unknown): boolean;
}
