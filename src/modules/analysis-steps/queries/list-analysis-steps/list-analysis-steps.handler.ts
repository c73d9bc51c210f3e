import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DbService } from '../../../../database/db.service';
import { placeholders } from '../../../../database/sql';
import { ANALYSIS_WORKFLOW_TYPE } from '../../analysis.constants';
import { ANALYSIS_TYPES } from '../../analyzers/registry';
import { AnalysisStepView, ListAnalysisStepsQuery } from './list-analysis-steps.query';

const LIMIT = 1000;
const iso = (ms: unknown) => (ms == null ? null : new Date(Number(ms)).toISOString());
const num = (v: unknown) => (v == null ? null : Number(v));

@QueryHandler(ListAnalysisStepsQuery)
export class ListAnalysisStepsHandler implements IQueryHandler<ListAnalysisStepsQuery> {
  constructor(private readonly db: DbService) {}

  async execute(q: ListAnalysisStepsQuery): Promise<{ items: AnalysisStepView[] }> {
    // a pending or running step of a workflow that already ended (failed, cancelled) is not active: it
    // will never run, so it is listed only under the workflow's own terminal state, not as pending/running
    const rows = await this.db.query(
      'SELECT s.workflow_id, s.id, s.status, s.progress, s.current, s.total, s.started_at ' +
        'FROM workflows w JOIN workflow_steps s ON s.workflow_id = w.id ' +
        `WHERE w.project_id = ? AND w.type = ? AND s.status IN (${placeholders(q.statuses.length)}) ` +
        // a workflow created through §2 with type "analysis" may have other steps: they are not analysis steps
        `AND s.id IN (${placeholders(ANALYSIS_TYPES.length)}) ` +
        "AND (s.status NOT IN ('pending', 'running') OR w.status IN ('queued', 'running')) " +
        `ORDER BY w.created_seq DESC, s.position LIMIT ${LIMIT}`,
      [q.projectId, ANALYSIS_WORKFLOW_TYPE, ...q.statuses, ...ANALYSIS_TYPES],
    );
    return {
      items: rows.map((r) => ({
        workflowId: r.workflow_id,
        stepId: r.id,
        type: r.id, // each step is one analysis type, and is named after it
        status: r.status,
        progress: Number(r.progress),
        current: num(r.current),
        total: num(r.total),
        startedAt: iso(r.started_at),
      })),
    };
  }
}
