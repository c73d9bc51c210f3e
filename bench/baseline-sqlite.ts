import Database from 'better-sqlite3';
import { Latencies, Measured } from './stats';
import type { Spread, Update } from './workload';
import {
  apply,
  finish,
  insertEvents,
  selectSteps,
  selectWorkflows,
  sqliteSeq,
  upsertSteps,
  upsertWorkflows,
  workflowIdsOf,
} from './raw-transaction';

/**
 * The same transaction straight through better-sqlite3, synchronously, with the app's pragmas (WAL,
 * synchronous = NORMAL). SQLite has one writer at a time and this loop never waits on I/O, so concurrency
 * cannot change its rate: it runs once per scenario and stands as the baseline at every connection count.
 */
export function sqliteBaseline(file: string, spread: Spread, batch: number, seconds: number): Measured {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const statements = new Map<string, Database.Statement>();
  const stmt = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };

  const tx = db.transaction((updates: Update[]) => {
    const now = Date.now();
    const ids = workflowIdsOf(updates);
    const wfRows = stmt(selectWorkflows('sqlite', ids.length)).all(ids) as Record<string, any>[];
    const stepRows = stmt(selectSteps(ids.length)).all(ids) as Record<string, any>[];
    const a = apply(updates, wfRows, stepRows, now);
    stmt(upsertSteps('sqlite', a.stepRows.length)).run(a.stepRows.flat());
    const projects = [...a.perProject.keys()];
    const counters = stmt(sqliteSeq(projects.length)).all(
      projects.flatMap((p) => [p, a.perProject.get(p), now, now]),
    ) as {
      id: string;
      last_seq: number;
    }[];
    const lastSeq = new Map(counters.map((r) => [r.id, Number(r.last_seq)]));
    const { wfRows: wfOut, eventRows } = finish(a, lastSeq, now);
    stmt(upsertWorkflows('sqlite', wfOut.length)).run(wfOut.flat());
    stmt(insertEvents(eventRows.length)).run(eventRows.flat());
  });

  const lat = new Latencies();
  let ops = 0;
  let failures = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    const updates = batch === 1 ? [spread.next()] : spread.batch(batch);
    const t0 = performance.now();
    try {
      tx(updates);
      ops++;
      lat.add(performance.now() - t0);
    } catch (err) {
      failures++;
      if (failures === 1) process.stderr.write(`baseline (sqlite) transaction failed: ${String(err)}\n`);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  db.close();
  const [p50, p99] = lat.percentiles(50, 99);
  return { ops, updates: ops * batch, seconds: elapsed, p50, p99, failures, rejected: 0 };
}
