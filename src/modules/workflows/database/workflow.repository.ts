import { Injectable } from '@nestjs/common';
import { DbService } from '../../../database/db.service';
import type { Statement, Tx } from '../../../database/tx';
import type { Dialect } from '../../../database/tx';
import { insertStatements, placeholders, rowValues } from '../../../database/sql';
import { Workflow } from '../domain/workflow.aggregate';
import { STEP_COLUMNS, WORKFLOW_COLUMNS, WorkflowMapper, type StepRow } from './workflow.mapper';

/** For this module's own queries only: other modules ask the WorkflowsPort. */
export const WORKFLOW_SELECT = `SELECT ${WORKFLOW_COLUMNS.join(', ')} FROM workflows`;
const WF_SELECT = WORKFLOW_SELECT;
const STEP_SELECT = `SELECT ${STEP_COLUMNS.join(', ')} FROM workflow_steps`;
const WF_MUTABLE = WORKFLOW_COLUMNS.filter(
  (c) => c !== 'id' && c !== 'project_id' && c !== 'created_at' && c !== 'created_seq',
);
const STEP_MUTABLE = STEP_COLUMNS.filter((c) => c !== 'workflow_id' && c !== 'id');

/** Loads and saves Workflow aggregates with set-based SQL (multi-row statements). */
@Injectable()
export class WorkflowRepository {
  constructor(private readonly db: DbService) {}

  /**
   * Inside a write transaction: loads and row-locks the workflows (sorted ids, so the lock order is fixed)
   * with their steps, in one round trip.
   */
  async loadForUpdate(tx: Tx, ids: string[]): Promise<Map<string, Workflow>> {
    if (ids.length === 0) return new Map();
    const sorted = [...ids].sort();
    const list = placeholders(sorted.length);
    const [wf, steps] = await tx.batch([
      { sql: `${WF_SELECT} WHERE id IN (${list}) ORDER BY id${tx.dialect.forUpdate}`, params: sorted },
      { sql: `${STEP_SELECT} WHERE workflow_id IN (${list}) ORDER BY workflow_id, position`, params: sorted },
    ]);
    // results stay stored text: a write never reads other steps' results, and its answer splices them in
    return wf.rows.length ? this.assemble(wf.rows, steps.rows, true) : new Map();
  }

  /**
   * Inside a write transaction: loads and row-locks one workflow by its primary key, or answers undefined
   * when another transaction holds it (`SKIP LOCKED` on MySQL; SQLite has one writer). A primary-key lookup
   * locks that row only, never the next one in an index.
   */
  async loadIfUnlocked(tx: Tx, id: string): Promise<Workflow | undefined> {
    const [wf, steps] = await tx.batch([
      { sql: `${WF_SELECT} WHERE id = ?${tx.dialect.skipLocked}`, params: [id] },
      { sql: `${STEP_SELECT} WHERE workflow_id = ? ORDER BY position`, params: [id] },
    ]);
    return wf.rows.length ? this.assemble(wf.rows, steps.rows, true).get(id) : undefined;
  }

  /** Ids of the workflows holding these session locks (locked with them). */
  async sessionHolders(tx: Tx, locks: string[]): Promise<string[]> {
    const rows = await tx.query(
      `SELECT id FROM workflows WHERE session_lock IN (${placeholders(locks.length)})${tx.dialect.forUpdate}`,
      locks,
    );
    return rows.map((r) => r.id as string);
  }

  /** Takes the aggregates' changes: the workflows to write and their changed step rows. */
  collectChanges(workflows: Iterable<Workflow>): {
    changed: Workflow[];
    created: Set<Workflow>;
    stepRows: StepRow[];
  } {
    const changed: Workflow[] = [];
    const created = new Set<Workflow>();
    const stepRows: StepRow[] = [];
    for (const wf of workflows) {
      const changes = wf.takeChanges();
      if (!changes.dirty && changes.steps.length === 0) continue;
      changed.push(wf);
      if (changes.isNew) created.add(wf);
      for (const st of changes.steps)
        stepRows.push(WorkflowMapper.stepToRow(wf.id, wf.state.steps.indexOf(st), st));
    }
    return { changed, created, stepRows };
  }

  /** One multi-row upsert for every changed step row. */
  stepStatements(dialect: Dialect, stepRows: readonly StepRow[]): Statement[] {
    return insertStatements(
      'workflow_steps',
      STEP_COLUMNS,
      stepRows.map((r) => rowValues(STEP_COLUMNS, r)),
      dialect.upsert(['workflow_id', 'id'], STEP_MUTABLE),
    );
  }

  /**
   * New workflows with a plain multi-row INSERT, changed ones with a multi-row upsert. A new row must never
   * be an upsert: MySQL's ON DUPLICATE KEY UPDATE fires on any unique key, so a create racing another
   * instance's create of the same id or session lock would overwrite that row instead of failing with a
   * duplicate key (which the transaction retries, and the retry sees the winner).
   */
  workflowStatements(dialect: Dialect, workflows: Workflow[], created: ReadonlySet<Workflow>): Statement[] {
    const rows = (list: Workflow[]) =>
      list.map((wf) => rowValues(WORKFLOW_COLUMNS, WorkflowMapper.toRow(wf)));
    return [
      ...insertStatements('workflows', WORKFLOW_COLUMNS, rows(workflows.filter((wf) => created.has(wf)))),
      ...insertStatements(
        'workflows',
        WORKFLOW_COLUMNS,
        rows(workflows.filter((wf) => !created.has(wf))),
        dialect.upsert(['id'], WF_MUTABLE),
      ),
    ];
  }

  /**
   * Inside a consistent read transaction: the project's non-terminal workflows (the `maxActive` updated
   * last; `truncated` when there are more) and its `finished` most recently finished, with their steps; or
   * the one workflow `workflowId` names.
   */
  async snapshotIn(
    tx: Tx,
    projectId: string,
    opts: { workflowId?: string; maxActive: number; finished: number },
  ): Promise<{ workflows: Workflow[]; truncated: boolean }> {
    let rows: any[];
    let truncated = false;
    if (opts.workflowId !== undefined) {
      rows = await tx.query(`${WF_SELECT} WHERE id = ? AND project_id = ?`, [opts.workflowId, projectId]);
    } else {
      const active = await tx.query(
        `${WF_SELECT} WHERE project_id = ? AND status IN ('queued', 'running') ORDER BY updated_at DESC, id LIMIT ?`,
        [projectId, opts.maxActive + 1],
      );
      truncated = active.length > opts.maxActive;
      const finished = await tx.query(
        `${WF_SELECT} WHERE project_id = ? AND finished_at IS NOT NULL ORDER BY finished_at DESC, id LIMIT ?`,
        [projectId, opts.finished],
      );
      rows = [...active.slice(0, opts.maxActive), ...finished];
    }
    if (rows.length === 0) return { workflows: [], truncated };
    const ids = rows.map((r) => r.id as string);
    const steps: any[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      steps.push(
        ...(await tx.query(
          `${STEP_SELECT} WHERE workflow_id IN (${placeholders(chunk.length)}) ORDER BY workflow_id, position`,
          chunk,
        )),
      );
    }
    const map = this.assemble(rows, steps);
    return { workflows: ids.map((id) => map.get(id)!), truncated };
  }

  // ---- reads (outside write transactions) ----------------------------------------------------------------

  async findById(id: string): Promise<Workflow | undefined> {
    const rows = await this.db.query(`${WF_SELECT} WHERE id = ?`, [id]);
    if (rows.length === 0) return undefined;
    const steps = await this.db.query(`${STEP_SELECT} WHERE workflow_id = ? ORDER BY position`, [id]);
    return this.assemble(rows, steps).get(id);
  }

  async findManyOrdered(rows: any[]): Promise<Workflow[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id as string);
    const steps = await this.db.query(
      `${STEP_SELECT} WHERE workflow_id IN (${placeholders(ids.length)}) ORDER BY workflow_id, position`,
      ids,
    );
    const map = this.assemble(rows, steps);
    return ids.map((id) => map.get(id)!);
  }

  async projectOf(id: string): Promise<string | undefined> {
    const rows = await this.db.query<{ project_id: string }>(
      'SELECT project_id FROM workflows WHERE id = ?',
      [id],
    );
    return rows[0]?.project_id;
  }

  private assemble(rows: any[], stepRows: any[], rawResults = false): Map<string, Workflow> {
    const byWf = new Map<string, any[]>();
    for (const s of stepRows) {
      const list = byWf.get(s.workflow_id);
      if (list) list.push(s);
      else byWf.set(s.workflow_id, [s]);
    }
    const out = new Map<string, Workflow>();
    for (const r of rows) {
      const steps = (byWf.get(r.id) ?? []).map((s) => WorkflowMapper.stepFromRow(s, rawResults));
      out.set(r.id, Workflow.fromState(WorkflowMapper.fromRows(r, steps)));
    }
    return out;
  }
}
