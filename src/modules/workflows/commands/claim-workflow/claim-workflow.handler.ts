import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomBytes } from 'node:crypto';
import { DbService } from '../../../../database/db.service';
import { placeholders } from '../../../../database/sql';
import { EtaHistory } from '../../eta/eta-history';
import { WorkflowMapper } from '../../database/workflow.mapper';
import { WorkflowRepository } from '../../database/workflow.repository';
import type { Workflow } from '../../domain/workflow.aggregate';
import { Claimed, ClaimWorkflowCommand } from './claim-workflow.command';

/**
 * One short transaction. SQL picks the oldest ready rows with a plain read, and the claim locks one of them
 * by its primary key (`FOR UPDATE SKIP LOCKED` on MySQL: one held by another claim is passed over; SQLite has
 * one writer); the lease itself is the aggregate's `claim()`, saved like every other change.
 *
 * Why not one locking range scan (`… ORDER BY … LIMIT 1 FOR UPDATE SKIP LOCKED`), as before: on InnoDB a
 * locking scan that runs off the end of its range locks the first row past it, and holds it until it commits.
 * A claim on an empty queue (a worker polling its idle queue; the built-in pool polling `analysis`) locked
 * the oldest ready row of the queue whose name sorts next, so that queue's claimers passed it over: they were
 * handed younger work first, and with one row ready, a 204.
 */
@CommandHandler(ClaimWorkflowCommand)
export class ClaimWorkflowHandler implements ICommandHandler<ClaimWorkflowCommand, Claimed | null> {
  /** Workflows that a claim of this instance is locking or has locked, until its transaction ends. */
  private readonly claiming = new Set<string>();

  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
  ) {}

  async execute(c: ClaimWorkflowCommand): Promise<Claimed | null> {
    const token = randomBytes(18).toString('base64url');
    const { principal } = c;
    const mine: string[] = [];
    let claimed: Workflow | null;
    try {
      claimed = await this.db.transaction(async (tx) => {
        // a retried transaction starts over: what it tried before is no longer locked by it
        for (const id of mine) this.claiming.delete(id);
        mine.length = 0;
        const now = Date.now();
        const scope = principal.allProjects
          ? ''
          : ` AND project_id IN (${placeholders(principal.projects.length)})`;
        const params = [c.queue, now, ...(principal.allProjects ? [] : principal.projects)];
        // enough candidates to pass over the ones this instance's other claims hold
        let limit = this.claiming.size + 4;
        for (;;) {
          const rows = await tx.query<{ id: string }>(
            `SELECT id FROM workflows WHERE queue = ? AND status = 'queued' AND lease_token IS NULL AND available_at <= ?${scope} ` +
              `ORDER BY available_at, created_at, created_seq LIMIT ${limit}`,
            params,
          );
          for (const { id } of rows) {
            if (this.claiming.has(id)) continue;
            this.claiming.add(id);
            mine.push(id);
            // undefined: another instance's claim holds it; not claimable: claimed since the read above
            const wf = await this.workflows.loadIfUnlocked(tx, id);
            if (!wf || !wf.isClaimable(now)) continue;
            wf.claim(c.workerId, token, c.leaseMs, now);
            const { changed, created } = this.workflows.collectChanges([wf]);
            await tx.batch(
              [...this.workflows.workflowStatements(tx.dialect, changed, created), ...c.alsoRun(now)],
              { commit: true },
            );
            return wf;
          }
          if (rows.length < limit) {
            await tx.batch(c.alsoRun(now), { commit: true });
            return null;
          }
          limit *= 4;
        }
      });
    } finally {
      for (const id of mine) this.claiming.delete(id);
    }
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
