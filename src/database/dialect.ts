import type { Dialect } from './tx';

// deadlock, lock wait timeout, and a duplicate key from a concurrent create (the retry reloads and sees it)
const MYSQL_RETRYABLE = new Set([1213, 1205, 1062]);
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_NET_READ_INTERRUPTED',
  'POOL_CLOSED',
]);

function errCode(err: unknown): { code?: string; errno?: number; fatal?: boolean } {
  const e = (err ?? {}) as any;
  const inner = e.driverError ?? e;
  return { code: inner.code ?? e.code, errno: inner.errno ?? e.errno, fatal: inner.fatal ?? e.fatal };
}

export const mysqlDialect: Dialect = {
  kind: 'mysql',
  forUpdate: ' FOR UPDATE',
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  insertIgnore: () => 'INSERT IGNORE INTO',
  upsert: (_conflict, update) =>
    ` ON DUPLICATE KEY UPDATE ${update.map((c) => `${c} = VALUES(${c})`).join(', ')}`,
  // LAST_INSERT_ID(expr) hands the new counter back in the OK packet: no extra read, and the row lock is
  // taken last in the transaction so it is held for the shortest time.
  seqStatement: (projectId, n, now) => ({
    sql:
      'INSERT INTO projects (id, last_seq, last_event_at, created_at) VALUES (?, LAST_INSERT_ID(?), ?, ?) ' +
      'ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + ?), last_event_at = VALUES(last_event_at)',
    params: [projectId, n, now, now, n],
    read: (r) => Number(r.insertId),
  }),
  isRetryable: (err) => MYSQL_RETRYABLE.has(errCode(err).errno ?? -1),
  isUnavailable: (err) => {
    const { code, fatal } = errCode(err);
    return fatal === true || (code !== undefined && UNAVAILABLE_CODES.has(code));
  },
};

export const sqliteDialect: Dialect = {
  kind: 'sqlite',
  forUpdate: '',
  skipLocked: '',
  insertIgnore: () => 'INSERT OR IGNORE INTO',
  upsert: (conflict, update) =>
    ` ON CONFLICT(${conflict.join(', ')}) DO UPDATE SET ${update.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  seqStatement: (projectId, n, now) => ({
    sql:
      'INSERT INTO projects (id, last_seq, last_event_at, created_at) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT(id) DO UPDATE SET last_seq = last_seq + excluded.last_seq, last_event_at = excluded.last_event_at ' +
      'RETURNING last_seq',
    params: [projectId, n, now, now],
    read: (r) => Number(r.rows[0].last_seq),
  }),
  isRetryable: (err) => errCode(err).code === 'SQLITE_BUSY',
  isUnavailable: (err) =>
    ['SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_READONLY'].includes(errCode(err).code ?? ''),
};
