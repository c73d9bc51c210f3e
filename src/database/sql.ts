import type { Statement, Tx } from './db.service';

/** Placeholders per statement stay well under SQLite's and MySQL's limits. */
const MAX_PARAMS = 12000;

/** Multi-row INSERT statements (optionally upserts via `suffix`), chunked: set-based, never one per row. */
export function insertStatements(
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  suffix = '',
  verb = 'INSERT INTO',
): Statement[] {
  const out: Statement[] = [];
  const perChunk = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += perChunk) {
    const chunk = rows.slice(i, i + perChunk);
    out.push({
      sql: `${verb} ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}${suffix}`,
      params: chunk.flat(),
    });
  }
  return out;
}

export async function insertMany(
  tx: Tx,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  suffix = '',
  verb = 'INSERT INTO',
): Promise<void> {
  for (const st of insertStatements(table, columns, rows, suffix, verb)) await tx.exec(st.sql, st.params);
}

export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

export const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
export const parseJson = <T = unknown>(v: unknown): T | null =>
  v === null || v === undefined ? null : (JSON.parse(String(v)) as T);
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
