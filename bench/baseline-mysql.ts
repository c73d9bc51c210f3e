import { createPool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { Latencies, Measured } from './stats';
import type { Spread, Update } from './workload';
import {
  apply,
  finish,
  insertEvents,
  MYSQL_SEQ_ONE,
  mysqlSeqMany,
  mysqlSeqRead,
  selectSteps,
  selectWorkflows,
  upsertSteps,
  upsertWorkflows,
  workflowIdsOf,
} from './raw-transaction';

const RETRYABLE = new Set([1213, 1205]);

/** One transaction for these updates, straight through mysql2 (text protocol, as TypeORM's mysql driver uses). */
async function transaction(conn: PoolConnection, updates: Update[]): Promise<void> {
  await conn.query('START TRANSACTION');
  try {
    const now = Date.now();
    const ids = workflowIdsOf(updates);
    const [wfRows] = await conn.query<RowDataPacket[]>(selectWorkflows('mysql', ids.length), ids);
    const [stepRows] = await conn.query<RowDataPacket[]>(selectSteps(ids.length), ids);
    const a = apply(updates, wfRows, stepRows, now);
    await conn.query(upsertSteps('mysql', a.stepRows.length), a.stepRows.flat());
    const lastSeq = new Map<string, number>();
    if (a.perProject.size === 1) {
      const [[projectId, n]] = [...a.perProject];
      const [res] = await conn.query<ResultSetHeader>(MYSQL_SEQ_ONE, [projectId, n, now, now, n]);
      lastSeq.set(projectId, Number(res.insertId));
    } else {
      const projects = [...a.perProject.keys()].sort();
      await conn.query(
        mysqlSeqMany(projects.length),
        projects.flatMap((p) => [p, a.perProject.get(p), now, now]),
      );
      const [rows] = await conn.query<RowDataPacket[]>(mysqlSeqRead(projects.length), projects);
      for (const r of rows) lastSeq.set(r.id, Number(r.last_seq));
    }
    const { wfRows: wfOut, eventRows } = finish(a, lastSeq, now);
    await conn.query(upsertWorkflows('mysql', wfOut.length), wfOut.flat());
    await conn.query(insertEvents(eventRows.length), eventRows.flat());
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** N loops, each on its own connection, each running one transaction after another for `seconds`. */
export async function mysqlBaseline(
  url: string,
  spread: Spread,
  batch: number,
  connections: number,
  seconds: number,
): Promise<Measured> {
  const pool = createPool({
    uri: url,
    connectionLimit: connections,
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4_unicode_ci',
    // no async stack capture per query: the leanest raw client, the bar the app is measured against
    trace: false,
  });
  const lat = new Latencies();
  let ops = 0;
  let failures = 0;
  let retries = 0;
  const conns = await Promise.all(Array.from({ length: connections }, () => pool.getConnection()));
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    conns.map(async (conn) => {
      while (performance.now() < deadline) {
        const updates = batch === 1 ? [spread.next()] : spread.batch(batch);
        const t0 = performance.now();
        for (let attempt = 1; ; attempt++) {
          try {
            await transaction(conn, updates);
            ops++;
            lat.add(performance.now() - t0);
            break;
          } catch (err) {
            if (attempt < 8 && RETRYABLE.has((err as { errno?: number }).errno ?? 0)) {
              retries++;
              continue;
            }
            failures++;
            if (failures === 1) process.stderr.write(`baseline (mysql) transaction failed: ${String(err)}\n`);
            break;
          }
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  for (const c of conns) c.release();
  await pool.end();
  const [p50, p99] = lat.percentiles(50, 99);
  return { ops, updates: ops * batch, seconds: elapsed, p50, p99, failures, rejected: 0, retries };
}
