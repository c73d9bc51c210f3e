import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';
import { DomainError, notFound } from '../../../common/errors/domain-error';
import { WorkflowDirectory } from '../database/workflow-directory';
import { WorkflowLogsReader } from '../database/workflow-logs.reader';
import { WorkflowMapper } from '../database/workflow.mapper';
import { WORKFLOW_SELECT, WorkflowRepository } from '../database/workflow.repository';
import { EtaHistory } from '../eta/eta-history';
import { QueueWaitEstimator } from '../eta/queue-wait';
import type { StepDurationsView, WorkflowPage, WorkflowView } from '../views/workflow.view';
import { GAPS_KEY, median, quantile, slowThresholdMs } from '../domain/eta-estimator';
import type { LogView } from '../views/workflow.view';
import {
  GetStepDurationsQuery,
  GetWorkflowQuery,
  ListLogsQuery,
  ListWorkflowsQuery,
} from './workflow.queries';

@QueryHandler(GetWorkflowQuery)
export class GetWorkflowHandler implements IQueryHandler<GetWorkflowQuery, WorkflowView> {
  constructor(
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  async execute(q: GetWorkflowQuery): Promise<WorkflowView> {
    const wf = await this.workflows.findById(q.workflowId);
    if (!wf || !q.principal.canRead(wf.projectId)) throw notFound(`workflow ${q.workflowId}`);
    await this.etaHistory.attach([wf]);
    const now = Date.now();
    const view = WorkflowMapper.toView(wf, now);
    await this.queueWait.fill([{ state: wf.state, eta: view.eta }], now);
    return view;
  }
}

const encodeCursor = (createdSeq: number) => Buffer.from(JSON.stringify([createdSeq])).toString('base64url');
function decodeCursor(cursor: string): number {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && Number.isSafeInteger(v[0])) return v[0] as number;
  } catch {
    /* fall through */
  }
  throw new DomainError('validation_failed', 'cursor is not valid', [
    { field: 'cursor', message: 'not a cursor from this API' },
  ]);
}

/** A LIKE pattern that matches `text` literally ('!' is the escape character on both databases). */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

/** Newest first by the seq of workflow:created (exact commit order), keyset pagination on it. */
@QueryHandler(ListWorkflowsQuery)
export class ListWorkflowsHandler implements IQueryHandler<ListWorkflowsQuery, WorkflowPage> {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  async execute(q: ListWorkflowsQuery): Promise<WorkflowPage> {
    const where = ['project_id = ?'];
    const params: unknown[] = [q.projectId];
    if (q.statuses.length) {
      where.push(`status IN (${placeholders(q.statuses.length)})`);
      params.push(...q.statuses);
    }
    if (q.type) {
      where.push('type = ?');
      params.push(q.type);
    }
    const f = q.filter;
    if (f.typePrefix) {
      where.push('SUBSTR(type, 1, ?) = ?');
      params.push(f.typePrefix.length, f.typePrefix);
    }
    if (f.queue) {
      where.push('queue = ?');
      params.push(f.queue);
    }
    if (f.search) {
      const pattern = `%${escapeLike(f.search.toLowerCase())}%`;
      where.push(`(LOWER(id) LIKE ? ESCAPE '!' OR LOWER(name) LIKE ? ESCAPE '!')`);
      params.push(pattern, pattern);
    }
    if (f.createdFrom !== undefined) {
      where.push('created_at >= ?');
      params.push(f.createdFrom);
    }
    if (f.createdTo !== undefined) {
      where.push('created_at < ?');
      params.push(f.createdTo);
    }
    if (q.cursor) {
      where.push('created_seq < ?');
      params.push(decodeCursor(q.cursor));
    }
    const rows = await this.db.query(
      `${WORKFLOW_SELECT} WHERE ${where.join(' AND ')} ORDER BY created_seq DESC LIMIT ?`,
      [...params, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    const items = await this.workflows.findManyOrdered(page);
    await this.etaHistory.attach(items);
    const now = Date.now();
    const last = page[page.length - 1];
    const views = items.map((wf) => WorkflowMapper.toView(wf, now));
    await this.queueWait.fill(
      items.map((wf, i) => ({ state: wf.state, eta: views[i].eta })),
      now,
    );
    return {
      items: views,
      nextCursor: rows.length > q.limit ? encodeCursor(Number(last.created_seq)) : null,
    };
  }
}

@QueryHandler(ListLogsQuery)
export class ListLogsHandler implements IQueryHandler<ListLogsQuery, { items: LogView[] }> {
  constructor(
    private readonly logs: WorkflowLogsReader,
    private readonly directory: WorkflowDirectory,
  ) {}

  async execute(q: ListLogsQuery): Promise<{ items: LogView[] }> {
    await this.directory.projectFor(q.principal, q.workflowId);
    return { items: await this.logs.after(q.workflowId, q.after, q.limit) };
  }
}

/** The type's recorded step durations, from the ETA history the estimates use (the newest 20 runs). */
@QueryHandler(GetStepDurationsQuery)
export class GetStepDurationsHandler implements IQueryHandler<GetStepDurationsQuery, StepDurationsView> {
  constructor(private readonly etaHistory: EtaHistory) {}

  async execute(q: GetStepDurationsQuery): Promise<StepDurationsView> {
    const runs = (await this.etaHistory.forProject(q.projectId)).get(q.type)?.runs ?? [];
    const byStep = new Map<string, number[]>();
    for (const run of runs)
      for (const [stepId, ms] of Object.entries(run)) {
        if (stepId === GAPS_KEY || !Number.isFinite(ms) || ms < 0) continue;
        const list = byStep.get(stepId);
        if (list) list.push(ms);
        else byStep.set(stepId, [ms]);
      }
    return {
      type: q.type,
      runs: runs.length,
      steps: [...byStep].map(([stepId, list]) => ({
        stepId,
        runs: list.length,
        medianMs: Math.round(median(list)!),
        p90Ms: Math.round(quantile(list, 0.9)!),
        slowAfterMs: slowThresholdMs(list),
      })),
    };
  }
}
