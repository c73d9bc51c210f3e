import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { Subscription } from 'rxjs';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';
import { CommittedEvent } from '../../event-log/committed-events';
import { EventLogRepository } from '../../event-log/event-log.repository';
import { SeqOrderer } from '../../event-log/seq-orderer';
import { EventBridge } from '../../cluster/event-bridge';
import { MetricsService } from '../../metrics/metrics.service';
import type { EventEnvelope } from '../../workflows/domain/workflow.events';
import type { LogView } from '../../workflows/commands/append-log/append-log.command';
import { WorkflowRepository } from '../../workflows/database/workflow.repository';
import { EtaHistory } from '../eta/eta-history';
import { ActiveWorkflow, ActiveWorkflows, DEFAULT_LIMITS, snapshotOf } from './active-workflows';

const PRUNE_EVERY_MS = 30_000;
const CHUNK = 500;
/** With several instances: how long a hole may wait for a late message before it is read from the log. */
const CLUSTER_GAP_GRACE_MS = 20;

/**
 * Per project, the active workflows (and those finished in the last 5 minutes) with their last logs and
 * events, kept from committed events. Rebuilt from the database on start; events committed meanwhile are
 * held and applied after it, so nothing is missed or applied twice.
 *
 * With REDIS_URL it also folds the events other instances commit (from the EventBridge, never through the
 * EventBus, so the saga does not run twice). Per project they go through a SeqOrderer that starts at the
 * project's counter as read just before the rebuild's snapshot: events are applied in seq order, a hole
 * (a lost or late message) is read from the log, and the bridge's counter poll reveals a lost last event.
 */
@Injectable()
export class ActiveWorkflowsReadModel implements OnModuleDestroy {
  private readonly logger = new Logger('ActiveWorkflows');
  private readonly model = new ActiveWorkflows();
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;
  /** Per project, with REDIS_URL only (one instance sees its events in order and complete). */
  private readonly orderers?: Map<string, SeqOrderer>;
  /** With REDIS_URL: events that arrive before the rebuild knows where each project stands. */
  private early: EventEnvelope[] | null = [];
  /** Project counters read just before the rebuild's snapshot; undefined if that read failed. */
  private positions?: Map<string, number>;

  constructor(
    eventBus: EventBus,
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
    private readonly log: EventLogRepository,
    private readonly metrics: MetricsService,
    bridge: EventBridge,
  ) {
    this.model.startRebuild();
    if (bridge.enabled) {
      this.orderers = new Map();
      bridge.onRemote((events) => {
        for (const env of events) this.take(env);
      });
      bridge.onTail((tails) => {
        if (this.early) return;
        // (a project first seen here starts at its counter if the rebuild could not read where it stood)
        for (const [projectId, lastSeq] of tails) this.orderer(projectId, lastSeq + 1)?.observe(lastSeq);
      });
    }
    this.sub = eventBus.subscribe((e) => {
      if (e instanceof CommittedEvent) this.take(e.envelope);
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

  private take(env: EventEnvelope): void {
    if (!this.orderers) return this.model.apply(env);
    if (this.early) this.early.push(env);
    else this.orderer(env.projectId, env.seq)?.offer(env);
  }

  /**
   * The project's orderer, started where the rebuild saw the project (0 for a project created since). If
   * that is unknown (the counter read failed), from just before the first event seen: best effort.
   */
  private orderer(projectId: string, firstSeq: number): SeqOrderer | undefined {
    let o = this.orderers?.get(projectId);
    if (o || !this.orderers) return o;
    o = new SeqOrderer({
      read: (after, limit) => {
        this.metrics.gapFills.inc({ consumer: 'read-model' });
        return this.log.replayPage(projectId, after, limit);
      },
      emit: (env) => this.model.apply(env),
      gapGraceMs: CLUSTER_GAP_GRACE_MS,
      onError: (err) => this.logger.warn(`gap fill for ${projectId} failed: ${(err as Error).message}`),
    });
    this.orderers.set(projectId, o);
    const position = this.positions ? (this.positions.get(projectId) ?? 0) : firstSeq - 1;
    this.positions?.delete(projectId);
    o.start(position);
    return o;
  }

  private async rebuild(): Promise<void> {
    let snapshots: ActiveWorkflow[] = [];
    try {
      if (this.orderers) {
        const rows = await this.db.query('SELECT id, last_seq FROM projects');
        this.positions = new Map(rows.map((r) => [r.id as string, Number(r.last_seq)]));
      }
      snapshots = await this.load(Date.now());
    } catch (err) {
      // live from here on; what is already active stays unknown until its next restart
      this.logger.error(`rebuild failed: ${(err as Error).message}`);
    }
    this.model.finishRebuild(snapshots);
    const early = this.early ?? [];
    this.early = null;
    for (const env of early) this.take(env);
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
    for (const o of this.orderers?.values() ?? []) o.close();
    clearInterval(this.timer);
  }
}
