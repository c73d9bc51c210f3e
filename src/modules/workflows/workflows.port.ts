import { Injectable } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal';
import { DbService } from '../../database/db.service';
import { placeholders } from '../../database/sql';
import { WorkflowDirectory } from './database/workflow-directory';
import { WorkflowLogsReader } from './database/workflow-logs.reader';
import { WORKFLOW_SELECT, WorkflowRepository } from './database/workflow.repository';
import { OpOutcome, WorkflowOp, WorkflowUnitOfWork } from './database/workflow-unit-of-work';
import { sessionLockOf, type Workflow } from './domain/workflow.aggregate';
import type { StepStatus } from './domain/workflow.types';
import { RunHistoryRecorder } from './eta/run-history.recorder';
import { QueueCounts, WorkflowQueueQueries } from './queries/queue.queries';
import type { LogView, WorkflowView } from './views/workflow.view';

/** One active (or finished) step of a workflow, for modules that list steps of their own workflow type. */
export interface StepRecord {
  workflowId: string;
  stepId: string;
  status: StepStatus;
  progress: number;
  current: number | null;
  total: number | null;
  startedAt: string | null;
}

const iso = (ms: unknown) => (ms == null ? null : new Date(Number(ms)).toISOString());
const num = (v: unknown) => (v == null ? null : Number(v));

/**
 * The workflows module's one door for other modules: reads of workflows and their logs, the project a
 * workflow belongs to (scope-checked), queue counts, and the unit of work for a module that must commit its
 * own rows together with a workflow (a session's messages). Writes otherwise go through the commands
 * exported beside it. Nothing else of this module is imported from outside (dependency-cruiser checks it).
 */
@Injectable()
export class WorkflowsPort {
  constructor(
    private readonly db: DbService,
    private readonly repository: WorkflowRepository,
    private readonly directory: WorkflowDirectory,
    private readonly logs: WorkflowLogsReader,
    private readonly uow: WorkflowUnitOfWork,
    private readonly queues: WorkflowQueueQueries,
    private readonly runs: RunHistoryRecorder,
  ) {}

  /** The workflow's project if the principal may read it; `not_found` otherwise (existence never leaks). */
  projectFor(principal: Principal, workflowId: string): Promise<string> {
    return this.directory.projectFor(principal, workflowId);
  }

  findById(id: string): Promise<Workflow | undefined> {
    return this.repository.findById(id);
  }

  async findByIds(ids: string[]): Promise<Map<string, Workflow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query(`${WORKFLOW_SELECT} WHERE id IN (${placeholders(ids.length)})`, ids);
    return new Map((await this.repository.findManyOrdered(rows)).map((w) => [w.id, w]));
  }

  /** The active workflow holding a session, if any. */
  async sessionHolder(projectId: string, sessionId: string): Promise<Workflow | undefined> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM workflows WHERE session_lock = ?', [
      sessionLockOf(projectId, sessionId),
    ]);
    return rows.length ? this.repository.findById(rows[0].id) : undefined;
  }

  logsOf(workflowIds: string[]): Promise<Map<string, LogView[]>> {
    return this.logs.forWorkflows(workflowIds);
  }

  /**
   * Steps of the project's workflows of one type, by status. A pending or running step of a workflow that
   * already ended is not active (it will never run), so it is listed only under its workflow's terminal state.
   */
  async stepsOfType(
    projectId: string,
    type: string,
    stepIds: readonly string[],
    statuses: readonly string[],
    limit: number,
  ): Promise<StepRecord[]> {
    const rows = await this.db.query(
      'SELECT s.workflow_id, s.id, s.status, s.progress, s.current, s.total, s.started_at ' +
        'FROM workflows w JOIN workflow_steps s ON s.workflow_id = w.id ' +
        `WHERE w.project_id = ? AND w.type = ? AND s.status IN (${placeholders(statuses.length)}) ` +
        `AND s.id IN (${placeholders(stepIds.length)}) ` +
        "AND (s.status NOT IN ('pending', 'running') OR w.status IN ('queued', 'running')) " +
        `ORDER BY w.created_seq DESC, s.position LIMIT ${Math.floor(limit)}`,
      [projectId, type, ...statuses, ...stepIds],
    );
    return rows.map((r) => ({
      workflowId: r.workflow_id,
      stepId: r.id,
      status: r.status,
      progress: Number(r.progress),
      current: num(r.current),
      total: num(r.total),
      startedAt: iso(r.started_at),
    }));
  }

  queueCounts(principal: Principal, now: number, projectId?: string): Promise<Map<string, QueueCounts>> {
    return this.queues.queueCounts(principal, now, projectId);
  }

  projectQueue(
    principal: Principal,
    projectId: string,
  ): Promise<{ items: (WorkflowView & { position: number | null })[] }> {
    return this.queues.projectQueue(principal, projectId);
  }

  /** A completed workflow's step durations become ETA history of its type (best effort). */
  recordRun(projectId: string, workflowId: string): Promise<void> {
    return this.runs.record(projectId, workflowId);
  }

  /** Commits `op` in the project's next group commit, with any rows of other tables it inserts. */
  async transact<R>(op: WorkflowOp<R>, createdIds: string[] = []): Promise<OpOutcome<R>> {
    const outcome = await this.uow.submit(op);
    for (const id of createdIds) this.directory.remember(id, op.projectId);
    return outcome;
  }
}
