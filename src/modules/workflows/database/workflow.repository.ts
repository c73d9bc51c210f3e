import { Injectable } from '@nestjs/common';
import { DbService, Tx } from '../../../database/db.service';
import { insertMany, placeholders } from '../../../database/sql';
import { Workflow } from '../domain/workflow.aggregate';
import { STEP_COLUMNS, WORKFLOW_COLUMNS, WorkflowMapper } from './workflow.mapper';

const WF_SELECT = `SELECT ${WORKFLOW_COLUMNS.join(', ')} FROM workflows`;
const STEP_SELECT = `SELECT ${STEP_COLUMNS.join(', ')} FROM workflow_steps`;
const WF_MUTABLE = WORKFLOW_COLUMNS.filter(
  (c) => c !== 'id' && c !== 'project_id' && c !== 'created_at' && c !== 'created_seq',
);
const STEP_MUTABLE = STEP_COLUMNS.filter((c) => c !== 'workflow_id' && c !== 'id');

/** Loads and saves Workflow aggregates with set-based SQL (multi-row statements). */
@Injectable()
export class WorkflowRepository {
  constructor(private readonly db: DbService) {}

  /** Inside a write transaction: loads and row-locks the workflows (sorted ids, so lock order is fixed). */
  async loadForUpdate(tx: Tx, ids: string[]): Promise<Map<string, Workflow>> {
    const out = new Map<string, Workflow>();
    if (ids.length === 0) return out;
    const sorted = [...ids].sort();
    const rows = await tx.query(
      `${WF_SELECT} WHERE id IN (${placeholders(sorted.length)}) ORDER BY id${tx.dialect.forUpdate}`,
      sorted,
    );
    if (rows.length === 0) return out;
    const found = rows.map((r) => r.id as string);
    const steps = await tx.query(
      `${STEP_SELECT} WHERE workflow_id IN (${placeholders(found.length)}) ORDER BY workflow_id, position`,
      found,
    );
    return this.assemble(rows, steps);
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
  collectChanges(workflows: Iterable<Workflow>): { changed: Workflow[]; stepRows: unknown[][] } {
    const changed: Workflow[] = [];
    const stepRows: unknown[][] = [];
    for (const wf of workflows) {
      const changes = wf.takeChanges();
      if (!changes.dirty && changes.steps.length === 0) continue;
      changed.push(wf);
      for (const st of changes.steps)
        stepRows.push(WorkflowMapper.stepToRow(wf.id, wf.state.steps.indexOf(st), st));
    }
    return { changed, stepRows };
  }

  /** One multi-row upsert for every changed step row. */
  async writeSteps(tx: Tx, stepRows: unknown[][]): Promise<void> {
    await insertMany(
      tx,
      'workflow_steps',
      STEP_COLUMNS,
      stepRows,
      tx.dialect.upsert(['workflow_id', 'id'], STEP_MUTABLE),
    );
  }

  /** One multi-row upsert for every changed workflow row. */
  async writeWorkflows(tx: Tx, workflows: Workflow[]): Promise<void> {
    const rows = workflows.map((wf) => WorkflowMapper.toRow(wf.state));
    await insertMany(tx, 'workflows', WORKFLOW_COLUMNS, rows, tx.dialect.upsert(['id'], WF_MUTABLE));
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

  selectSql(): string {
    return WF_SELECT;
  }

  private assemble(rows: any[], stepRows: any[]): Map<string, Workflow> {
    const byWf = new Map<string, any[]>();
    for (const s of stepRows) {
      const list = byWf.get(s.workflow_id);
      if (list) list.push(s);
      else byWf.set(s.workflow_id, [s]);
    }
    const out = new Map<string, Workflow>();
    for (const r of rows) {
      const steps = (byWf.get(r.id) ?? []).map((s) => WorkflowMapper.stepFromRow(s));
      out.set(r.id, Workflow.fromState(WorkflowMapper.fromRows(r, steps)));
    }
    return out;
  }
}
