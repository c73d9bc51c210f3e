// The parts of better-sqlite3 12 the raw baseline uses (the package ships no types).
declare module 'better-sqlite3' {
  namespace Database {
    interface Statement {
      run(params?: unknown[]): { changes: number; lastInsertRowid: number | bigint };
      all(params?: unknown[]): unknown[];
    }
    interface Database {
      prepare(sql: string): Statement;
      pragma(source: string): unknown;
      transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
      close(): void;
    }
  }
  const Database: new (filename: string) => Database.Database;
  export = Database;
}
