import { mysqlDialect, sqliteDialect } from '../src/database/dialect';
import { STEP_COLUMNS, WORKFLOW_COLUMNS } from '../src/modules/workflows/database/workflow.mapper';
import type { Update } from './workload';

/**
 * The raw baseline's transaction, with no framework: the statements the app's write path runs for a
 * progress update (see workflow-unit-of-work.ts), in the same order —
 *   SELECT the workflows FOR UPDATE; SELECT their steps; upsert the changed step rows; add to the project's
 *   counter row (taken last); upsert the workflow rows; INSERT the events —
 * each one multi-row, so a batch of 100 updates is still these six statements (plus one per extra project on
 * MySQL, see `allocate`). Only the column lists and upsert suffixes are borrowed from the app, so that the
 * SQL text is the same; the rows are built here by hand.
 */
export const WF_SELECT = `SELECT ${WORKFLOW_COLUMNS.join(', ')} FROM workflows`;
export const STEP_SELECT = `SELECT ${STEP_COLUMNS.join(', ')} FROM workflow_steps`;
const WF_MUTABLE = WORKFLOW_COLUMNS.filter((c) => c !== 'id' && c !== 'project_id' && c !== 'created_at');
const STEP_MUTABLE = STEP_COLUMNS.filter((c) => c !== 'workflow_id' && c !== 'id');
const EVENT_COLUMNS = ['project_id', 'seq', 'type', 'workflow_id', 'step_id', 'attempt', 'at', 'data'];

export type Kind = 'mysql' | 'sqlite';

export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

function insertSql(table: string, columns: readonly string[], rows: number, suffix = ''): string {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}${suffix}`;
}

const dialect = (kind: Kind) => (kind === 'mysql' ? mysqlDialect : sqliteDialect);

/** SQL text by shape, built once. */
const cache = new Map<string, string>();
function sql(key: string, build: () => string): string {
  let s = cache.get(key);
  if (s === undefined) cache.set(key, (s = build()));
  return s;
}

export const selectWorkflows = (kind: Kind, n: number) =>
  sql(
    `wf:${kind}:${n}`,
    () => `${WF_SELECT} WHERE id IN (${placeholders(n)}) ORDER BY id${dialect(kind).forUpdate}`,
  );
export const selectSteps = (n: number) =>
  sql(
    `st:${n}`,
    () => `${STEP_SELECT} WHERE workflow_id IN (${placeholders(n)}) ORDER BY workflow_id, position`,
  );
export const upsertSteps = (kind: Kind, n: number) =>
  sql(`ust:${kind}:${n}`, () =>
    insertSql('workflow_steps', STEP_COLUMNS, n, dialect(kind).upsert(['workflow_id', 'id'], STEP_MUTABLE)),
  );
export const upsertWorkflows = (kind: Kind, n: number) =>
  sql(`uwf:${kind}:${n}`, () =>
    insertSql('workflows', WORKFLOW_COLUMNS, n, dialect(kind).upsert(['id'], WF_MUTABLE)),
  );
export const insertEvents = (n: number) => sql(`ev:${n}`, () => insertSql('events', EVENT_COLUMNS, n));

/** MySQL, one project: the app's statement, the new counter handed back through LAST_INSERT_ID. */
export const MYSQL_SEQ_ONE =
  'INSERT INTO projects (id, last_seq, last_event_at, created_at) VALUES (?, LAST_INSERT_ID(?), ?, ?) ' +
  'ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + ?), last_event_at = VALUES(last_event_at)';
/** MySQL, several projects in one transaction: one multi-row upsert, then read the counters back (rows we hold). */
export const mysqlSeqMany = (n: number) =>
  sql(
    `seqm:${n}`,
    () =>
      `${insertSql('projects', ['id', 'last_seq', 'last_event_at', 'created_at'], n)} ` +
      'ON DUPLICATE KEY UPDATE last_seq = last_seq + VALUES(last_seq), last_event_at = VALUES(last_event_at)',
  );
export const mysqlSeqRead = (n: number) =>
  sql(`seqr:${n}`, () => `SELECT id, last_seq FROM projects WHERE id IN (${placeholders(n)}) FOR UPDATE`);
/** SQLite: the app's statement, multi-row, RETURNING the new counters. */
export const sqliteSeq = (n: number) =>
  sql(
    `seqs:${n}`,
    () =>
      `${insertSql('projects', ['id', 'last_seq', 'last_event_at', 'created_at'], n)} ` +
      'ON CONFLICT(id) DO UPDATE SET last_seq = last_seq + excluded.last_seq, last_event_at = excluded.last_event_at ' +
      'RETURNING id, last_seq',
  );

interface PendingEvent {
  projectId: string;
  workflowId: string;
  stepId: string;
  data: string;
}

export interface Applied {
  /** Changed step rows, in STEP_COLUMNS order, each (workflow, step) once with its last values. */
  stepRows: unknown[][];
  /** Changed workflow rows (as loaded, then modified), by id. */
  workflows: Map<string, Record<string, unknown>>;
  events: PendingEvent[];
  /** Events per project, in first-seen order. */
  perProject: Map<string, number>;
}

function workflowProgress(steps: Record<string, any>[]): number {
  let weighted = 0;
  let total = 0;
  for (const s of steps) {
    const p = s.status === 'completed' || s.status === 'skipped' ? 100 : Number(s.progress);
    weighted += Number(s.weight) * p;
    total += Number(s.weight);
  }
  return total === 0 ? 0 : Math.min(99, Math.floor(weighted / total));
}

/** Sorted distinct workflow ids of the updates: the lock order. */
export const workflowIdsOf = (updates: Update[]) => [...new Set(updates.map((u) => u.workflowId))].sort();

/** Applies the updates, in order, to the loaded rows (what the aggregate does for a running step). */
export function apply(
  updates: Update[],
  wfRows: Record<string, any>[],
  stepRows: Record<string, any>[],
  now: number,
): Applied {
  const workflows = new Map<string, Record<string, any>>(wfRows.map((r) => [r.id as string, r]));
  const steps = new Map<string, Record<string, any>[]>();
  for (const s of stepRows) {
    const list = steps.get(s.workflow_id);
    if (list) list.push(s);
    else steps.set(s.workflow_id, [s]);
  }
  const changedSteps = new Map<string, Record<string, any>>();
  const changedWfs = new Map<string, Record<string, unknown>>();
  const events: PendingEvent[] = [];
  const perProject = new Map<string, number>();
  for (const u of updates) {
    const wf = workflows.get(u.workflowId);
    const list = steps.get(u.workflowId);
    const st = list?.find((s) => s.id === u.stepId);
    if (!wf || !list || !st) throw new Error(`baseline: ${u.workflowId}/${u.stepId} not found`);
    st.current = u.current;
    st.total = u.total;
    st.progress = Math.floor((100 * u.current) / u.total);
    wf.progress = workflowProgress(list);
    wf.updated_at = now;
    wf.stale_at = now + Number(wf.stale_after_ms);
    changedSteps.set(`${u.workflowId}\u0000${u.stepId}`, st);
    changedWfs.set(u.workflowId, wf);
    events.push({
      projectId: wf.project_id,
      workflowId: u.workflowId,
      stepId: u.stepId,
      data: JSON.stringify({
        status: st.status,
        progress: st.progress,
        current: st.current,
        total: st.total,
        message: st.message ?? null,
        workflowProgress: wf.progress,
        eta: { remainingMs: null, finishAt: null, basis: 'none', remainingP90Ms: null, queueWaitMs: null },
      }),
    });
    perProject.set(wf.project_id, (perProject.get(wf.project_id) ?? 0) + 1);
  }
  return {
    stepRows: [...changedSteps.values()].map((s) => STEP_COLUMNS.map((c) => s[c] ?? null)),
    workflows: changedWfs,
    events,
    perProject,
  };
}

/**
 * Given the last seq each project's counter reached, numbers the events (per project, in order), sets each
 * workflow's last_seq, and returns the workflow rows and the event rows.
 */
export function finish(
  a: Applied,
  lastSeq: Map<string, number>,
  now: number,
): { wfRows: unknown[][]; eventRows: unknown[][] } {
  const nextSeq = new Map<string, number>();
  for (const [p, n] of a.perProject) nextSeq.set(p, lastSeq.get(p)! - n + 1);
  const eventRows: unknown[][] = [];
  for (const e of a.events) {
    const seq = nextSeq.get(e.projectId)!;
    nextSeq.set(e.projectId, seq + 1);
    a.workflows.get(e.workflowId)!.last_seq = seq;
    eventRows.push([
      e.projectId,
      seq,
      'workflow:step:progress',
      e.workflowId,
      e.stepId,
      Number(a.workflows.get(e.workflowId)!.attempt ?? 1),
      now,
      e.data,
    ]);
  }
  const wfRows = [...a.workflows.values()].map((w) => WORKFLOW_COLUMNS.map((c) => w[c] ?? null));
  return { wfRows, eventRows };
}
