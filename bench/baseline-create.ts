import { createPool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { STEP_COLUMNS, WORKFLOW_COLUMNS } from '../src/modules/workflows/database/workflow.mapper';
import { insertEvents, MYSQL_SEQ_ONE } from './raw-transaction';
import { Latencies, Measured } from './stats';

const RETRYABLE = new Set([1213, 1205]);
/** Workflows the baseline created in this process: ids stay unique over its runs. */
let n = 0;

const insertSql = (table: string, columns: readonly string[], rows: number) => {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`;
};

/**
 * The create baseline (MariaDB): what `POST /api/projects/:p/workflows` commits, as one raw transaction with
 * no framework, on N connections over the same 50 projects as the app's create cell — the step rows (one
 * multi-row INSERT), the project's counter row (taken last of the locks, as the app does), the workflow row,
 * its `workflow:created` event, COMMIT. The rows are copies of a workflow the app seeded in the baseline's
 * database (all columns, the app's own values), with a new id, project and times.
 */
export async function mysqlCreateBaseline(
  url: string,
  connections: number,
  seconds: number,
): Promise<Measured> {
  const pool = createPool({
    uri: url,
    connectionLimit: connections,
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4_unicode_ci',
    trace: false,
  });
  const [[wfTemplate]] = await pool.query<RowDataPacket[]>(
    `SELECT ${WORKFLOW_COLUMNS.join(', ')} FROM workflows ORDER BY id LIMIT 1`,
  );
  const [stepTemplate] = await pool.query<RowDataPacket[]>(
    `SELECT ${STEP_COLUMNS.join(', ')} FROM workflow_steps WHERE workflow_id = ? ORDER BY position`,
    [wfTemplate.id],
  );
  const [[created]] = await pool.query<RowDataPacket[]>(
    "SELECT data FROM events WHERE type = 'workflow:created' AND workflow_id = ? LIMIT 1",
    [wfTemplate.id],
  );
  const stepsSql = insertSql('workflow_steps', STEP_COLUMNS, stepTemplate.length);
  const wfSql = insertSql('workflows', WORKFLOW_COLUMNS, 1);
  const eventSql = insertEvents(1);
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
        const i = n++;
        const id = `raw-create-${process.pid}-${i}`;
        const projectId = `c${String(i % 50).padStart(2, '0')}`;
        const t0 = performance.now();
        for (let attempt = 1; ; attempt++) {
          const now = Date.now();
          try {
            await conn.query('START TRANSACTION');
            await conn.query(
              stepsSql,
              stepTemplate.flatMap((s) =>
                STEP_COLUMNS.map((c) => (c === 'workflow_id' ? id : ((s[c] as unknown) ?? null))),
              ),
            );
            const [res] = await conn.query<ResultSetHeader>(MYSQL_SEQ_ONE, [projectId, 1, now, now, 1]);
            const seq = Number(res.insertId);
            const wf: Record<string, unknown> = {
              ...wfTemplate,
              id,
              project_id: projectId,
              created_at: now,
              updated_at: now,
              last_seq: seq,
              created_seq: seq,
            };
            await conn.query(
              wfSql,
              WORKFLOW_COLUMNS.map((c) => wf[c] ?? null),
            );
            await conn.query(eventSql, [
              projectId,
              seq,
              'workflow:created',
              id,
              null,
              1,
              now,
              created?.data ?? '{}',
            ]);
            await conn.query('COMMIT');
            ops++;
            lat.add(performance.now() - t0);
            break;
          } catch (err) {
            await conn.query('ROLLBACK').catch(() => undefined);
            if (attempt < 8 && RETRYABLE.has((err as { errno?: number }).errno ?? 0)) {
              retries++;
              continue;
            }
            failures++;
            if (failures === 1) process.stderr.write(`create baseline (mysql) failed: ${String(err)}\n`);
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
  return { ops, updates: ops, seconds: elapsed, p50, p99, failures, rejected: 0, retries };
}
