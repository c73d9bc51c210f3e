import { RawJson } from '../common/json/raw-json';
import type { Statement } from './tx';

/** Placeholders per statement stay well under SQLite's and MySQL's limits. */
const MAX_PARAMS = 12000;

/**
 * Multi-row INSERT statements (optionally upserts via `suffix`), chunked: set-based, never one per row.
 * Built with plain loops and `repeat`: on the write path a batch's events go through here, and `flat()` /
 * `map().join()` cost some thirty times as much for a hundred rows.
 */
export function insertStatements(
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  suffix = '',
  verb = 'INSERT INTO',
): Statement[] {
  const out: Statement[] = [];
  const perChunk = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const tuple = `(${'?, '.repeat(columns.length - 1)}?)`;
  const head = `${verb} ${table} (${columns.join(', ')}) VALUES ${tuple}`;
  const nextTuple = `, ${tuple}`;
  for (let start = 0; start < rows.length;) {
    const params: unknown[] = [];
    let bytes = 0;
    let r = start;
    // a statement also ends past MAX_STATEMENT_BYTES of values: one over the server's max_allowed_packet
    // (16 MiB by default on MariaDB) would drop the connection
    for (; r < rows.length && r - start < perChunk && (r === start || bytes <= MAX_STATEMENT_BYTES); r++) {
      const row = rows[r];
      for (let c = 0; c < row.length; c++) {
        const v = row[c];
        params.push(v);
        bytes += valueBytes(v);
      }
    }
    out.push({ sql: head + nextTuple.repeat(r - start - 1) + suffix, params, paramBytes: bytes });
    start = r;
  }
  return out;
}

/** Values per multi-row statement, by estimate (see valueBytes). */
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/** A value's size on the wire, roughly: strings by their length (escaping not counted), anything else 8. */
export function valueBytes(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (v instanceof RawJson) return v.text.length;
  if (Buffer.isBuffer(v)) return v.length;
  return 8;
}

/**
 * One multi-statement text for MySQL (one round trip): `head` and `tail` are statements without
 * parameters (START TRANSACTION, COMMIT) around `statements`. Params are flattened with a plain loop.
 */
export function joinStatements(
  head: readonly string[],
  statements: readonly Statement[],
  tail: readonly string[] = [],
): Statement {
  let sql = '';
  const params: unknown[] = [];
  for (const h of head) sql += sql ? `;\n${h}` : h;
  for (const st of statements) {
    sql += sql ? `;\n${st.sql}` : st.sql;
    const p = st.params;
    for (let i = 0; i < p.length; i++) params.push(p[i]);
  }
  for (const t of tail) sql += sql ? `;\n${t}` : t;
  return { sql, params };
}

/** A typed column→value record as the positional values of `columns` (the order insertStatements wants). */
export function rowValues<C extends string>(
  columns: readonly C[],
  row: Readonly<Record<C, unknown>>,
): unknown[] {
  const out: unknown[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) out[i] = row[columns[i]];
  return out;
}

export function placeholders(n: number): string {
  return n > 0 ? `?${', ?'.repeat(n - 1)}` : '';
}

/** A value as stored JSON text (a RawJson is stored as the text it was loaded from). */
export const json = (v: unknown): string | null =>
  v === null || v === undefined ? null : v instanceof RawJson ? v.text : JSON.stringify(v);
export const parseJson = <T = unknown>(v: unknown): T | null =>
  v === null || v === undefined ? null : (JSON.parse(String(v)) as T);
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
