import { Injectable } from '@nestjs/common';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';
import type { LogView } from '../views/workflow.view';

const SELECT = 'SELECT id, workflow_id, step_id, level, message, details, at FROM workflow_logs';

/** Reads workflow logs in log order (their ids are the seqs of their events). */
@Injectable()
export class WorkflowLogsReader {
  constructor(private readonly db: DbService) {}

  async after(workflowId: string, after: number, limit: number): Promise<LogView[]> {
    const rows = await this.db.query(`${SELECT} WHERE workflow_id = ? AND id > ? ORDER BY id LIMIT ?`, [
      workflowId,
      after,
      limit,
    ]);
    return rows.map(toLog);
  }

  /** Every log of these workflows, grouped by workflow. */
  async forWorkflows(ids: string[]): Promise<Map<string, LogView[]>> {
    const out = new Map<string, LogView[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const rows = await this.db.query(
      `${SELECT} WHERE workflow_id IN (${placeholders(ids.length)}) ORDER BY workflow_id, id`,
      ids,
    );
    for (const r of rows) out.get(r.workflow_id)!.push(toLog(r));
    return out;
  }
}

function toLog(r: any): LogView {
  return {
    id: Number(r.id),
    workflowId: r.workflow_id,
    stepId: r.step_id ?? null,
    level: r.level,
    message: r.message,
    details: r.details === null || r.details === undefined ? null : JSON.parse(r.details),
    at: new Date(Number(r.at)).toISOString(),
  };
}
