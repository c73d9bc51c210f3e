import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DbService } from '../../../../database/db.service';
import { EventLogRepository } from '../../../event-log';
import { EtaHistory } from '../../eta/eta-history';
import { QueueWaitEstimator } from '../../eta/queue-wait';
import { WorkflowMapper } from '../../database/workflow.mapper';
import { WorkflowRepository } from '../../database/workflow.repository';
import { GetResetSnapshotQuery, ResetSnapshot } from './get-reset-snapshot.query';

/** Non-terminal workflows in a snapshot at most; past it `truncated` is true and the ones updated last are kept. */
export const SNAPSHOT_MAX_ACTIVE = 1000;
/** The most recently finished workflows a snapshot carries. */
export const SNAPSHOT_FINISHED = 100;

/**
 * The snapshot a reset carries (§12). The workflows and the project's counter are read in ONE consistent
 * read transaction (DbService.readConsistent): every committed write changes rows and counter together, so
 * the snapshot holds exactly the writes up to `lastSeq` — each workflow as GET /api/workflows/:id answered
 * then (its own lastSeq ≤ the snapshot's) — and every later change arrives as an event with seq > lastSeq.
 * ETAs are computed at read time, as GET computes them.
 */
@QueryHandler(GetResetSnapshotQuery)
export class GetResetSnapshotHandler implements IQueryHandler<GetResetSnapshotQuery, ResetSnapshot> {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly eventLog: EventLogRepository,
    private readonly etaHistory: EtaHistory,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  async execute(q: GetResetSnapshotQuery): Promise<ResetSnapshot> {
    const { lastSeq, workflows, truncated } = await this.db.readConsistent(async (tx) => {
      const found = await this.workflows.snapshotIn(tx, q.projectId, {
        workflowId: q.workflowId,
        maxActive: SNAPSHOT_MAX_ACTIVE,
        finished: SNAPSHOT_FINISHED,
      });
      // the counter last: on SQLite nothing commits in between anyway, on MySQL the snapshot is fixed at BEGIN
      return { ...found, lastSeq: await this.eventLog.lastSeqIn(tx, q.projectId) };
    });
    await this.etaHistory.attach(workflows);
    const now = Date.now();
    const views = workflows.map((wf) => WorkflowMapper.toView(wf, now));
    await this.queueWait.fill(
      workflows.map((wf, i) => ({ state: wf.state, eta: views[i].eta })),
      now,
    );
    return { lastSeq, snapshot: { workflows: views, truncated } };
  }
}
