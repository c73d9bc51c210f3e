import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { Subscription } from 'rxjs';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';
import { CommittedEvent } from '../../event-log/committed-events';
import type { LogView } from '../../workflows/commands/append-log/append-log.command';
import { WorkflowRepository } from '../../workflows/database/workflow.repository';
import { EtaHistory } from '../eta/eta-history';
import { ActiveWorkflow, ActiveWorkflows, DEFAULT_LIMITS, snapshotOf } from './active-workflows';

const PRUNE_EVERY_MS = 30_000;
const CHUNK = 500;

/**
 * Per project, the active workflows (and those finished in the last 5 minutes) with their last logs and
 * events, kept from committed events. Rebuilt from the database on start; events committed meanwhile are
 * held and applied after it, so nothing is missed or applied twice.
 */
@Injectable()
export class ActiveWorkflowsReadModel implements OnModuleDestroy {
  private readonly logger = new Logger('ActiveWorkflows');
  private readonly model = new ActiveWorkflows();
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;

  constructor(
    eventBus: EventBus,
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
  ) {
    this.model.startRebuild();
    this.sub = eventBus.subscribe((e) => {
      if (e instanceof CommittedEvent) this.model.apply(e.envelope);
    });
    db.whenReady(() => void this.rebuild());
    this.timer = setInterval(() => this.model.prune(Date.now()), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  list(projectId: string): readonly Readonly<ActiveWorkflow>[] {
    return this.model.list(projectId, Date.now());
  }

  get(projectId: string, workflowId: string): Readonly<ActiveWorkflow> | undefined {
    return this.model.get(projectId, workflowId);
  }

  private async rebuild(): Promise<void> {
    let snapshots: ActiveWorkflow[] = [];
    try {
      snapshots = await this.load(Date.now());
    } catch (err) {
      // live from here on; what is already active stays unknown until its next restart
      this.logger.error(`rebuild failed: ${(err as Error).message}`);
    }
    this.model.finishRebuild(snapshots);
  }

  /** Non-terminal workflows and those finished within the keep window, with their last logs. */
  private async load(now: number): Promise<ActiveWorkflow[]> {
    const rows = await this.db.query(
      `${this.workflows.selectSql()} WHERE status IN ('queued', 'running') OR finished_at >= ? ORDER BY created_seq`,
      [now - DEFAULT_LIMITS.keepFinishedMs],
    );
    const out: ActiveWorkflow[] = [];
    for (let i = 0; i < rows.length; i += CHUNK) {
      const wfs = await this.workflows.findManyOrdered(rows.slice(i, i + CHUNK));
      await this.etaHistory.attach(wfs);
      const logs = await this.recentLogs(wfs.map((wf) => wf.id));
      for (const wf of wfs) out.push(snapshotOf(wf.state, wf.eta(now), logs.get(wf.id) ?? []));
    }
    return out;
  }

  private async recentLogs(ids: string[]): Promise<Map<string, LogView[]>> {
    const out = new Map<string, LogView[]>();
    if (ids.length === 0) return out;
    const rows = await this.db.query(
      `SELECT id, workflow_id, step_id, level, message, details, at FROM (
         SELECT id, workflow_id, step_id, level, message, details, at,
                ROW_NUMBER() OVER (PARTITION BY workflow_id ORDER BY id DESC) AS rn
         FROM workflow_logs WHERE workflow_id IN (${placeholders(ids.length)})
       ) recent WHERE rn <= ? ORDER BY workflow_id, id`,
      [...ids, DEFAULT_LIMITS.logs],
    );
    for (const r of rows) {
      const list = out.get(r.workflow_id) ?? [];
      list.push({
        id: Number(r.id),
        workflowId: r.workflow_id,
        stepId: r.step_id ?? null,
        level: r.level,
        message: r.message,
        details: r.details === null || r.details === undefined ? null : JSON.parse(r.details),
        at: new Date(Number(r.at)).toISOString(),
      });
      out.set(r.workflow_id, list);
    }
    return out;
  }

  onModuleDestroy(): void {
    this.sub.unsubscribe();
    clearInterval(this.timer);
  }
}
