import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomBytes } from 'node:crypto';
import { DbService } from '../../../../database/db.service';
import { placeholders } from '../../../../database/sql';
import { EtaHistory } from '../../eta/eta-history';
import { WorkflowMapper } from '../../database/workflow.mapper';
import { WorkflowRepository } from '../../database/workflow.repository';
import { Claimed, ClaimWorkflowCommand } from './claim-workflow.command';

/**
 * One short transaction: SQL only picks the oldest ready row (`FOR UPDATE SKIP LOCKED` on MySQL, the single
 * writer on SQLite); the lease itself is the aggregate's `claim()`, saved like every other change.
 */
@CommandHandler(ClaimWorkflowCommand)
export class ClaimWorkflowHandler implements ICommandHandler<ClaimWorkflowCommand, Claimed | null> {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
  ) {}

  async execute(c: ClaimWorkflowCommand): Promise<Claimed | null> {
    const token = randomBytes(18).toString('base64url');
    const { principal } = c;
    const claimed = await this.db.transaction(async (tx) => {
      const now = Date.now();
      const scope = principal.allProjects
        ? ''
        : ` AND project_id IN (${placeholders(principal.projects.length)})`;
      const rows = await tx.query<{ id: string }>(
        `SELECT id FROM workflows WHERE queue = ? AND status = 'queued' AND lease_token IS NULL AND available_at <= ?${scope} ` +
          `ORDER BY available_at, created_at, created_seq LIMIT 1${tx.dialect.skipLocked}`,
        [c.queue, now, ...(principal.allProjects ? [] : principal.projects)],
      );
      const wf = rows.length
        ? (await this.workflows.loadForUpdate(tx, [rows[0].id])).get(rows[0].id)
        : undefined;
      if (!wf || !wf.isClaimable(now)) {
        await tx.batch(c.alsoRun(now), { commit: true });
        return null;
      }
      wf.claim(c.workerId, token, c.leaseMs, now);
      const { changed, created } = this.workflows.collectChanges([wf]);
      await tx.batch(
        [...this.workflows.workflowStatements(tx.dialect, changed, created), ...c.alsoRun(now)],
        { commit: true },
      );
      return wf;
    });
    if (!claimed) return null;
    claimed.setEtaHistory((await this.etaHistory.forProject(claimed.projectId)).get(claimed.type));
    const s = claimed.state;
    return {
      workflow: WorkflowMapper.toView(claimed, Date.now()),
      leaseToken: token,
      leaseExpiresAt: new Date(s.leaseExpiresAt!).toISOString(),
      attempt: s.attempt,
    };
  }
}
