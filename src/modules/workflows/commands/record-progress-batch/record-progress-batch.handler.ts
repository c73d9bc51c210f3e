import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { DomainError } from '../../../../common/errors/domain-error';
import { MetricsService } from '../../../metrics';
import { WorkflowDirectory } from '../../database/workflow-directory';
import { WorkflowUnitOfWork } from '../../database/workflow-unit-of-work';
import type { ProgressInput } from '../../domain/workflow.aggregate';
import { BatchResult, RecordProgressBatchCommand } from './record-progress-batch.command';

/**
 * The same path as a single update, with a bigger group: every update becomes one op of its project's
 * unit of work, submitted in order in the same tick, so that one project's updates share a transaction.
 */
@CommandHandler(RecordProgressBatchCommand)
export class RecordProgressBatchHandler implements ICommandHandler<
  RecordProgressBatchCommand,
  BatchResult[]
> {
  constructor(
    private readonly uow: WorkflowUnitOfWork,
    private readonly directory: WorkflowDirectory,
    private readonly metrics: MetricsService,
  ) {}

  async execute(c: RecordProgressBatchCommand): Promise<BatchResult[]> {
    // a batch names few workflows many times: each is resolved (and scope-checked) once
    const ids = [...new Set(c.updates.map((u) => u.workflowId))];
    const resolved = await Promise.allSettled(ids.map((id) => this.directory.projectFor(c.principal, id)));
    const projects = new Map(ids.map((id, i) => [id, resolved[i]]));
    const pending = c.updates.map((u) => {
      const p = projects.get(u.workflowId)!;
      if (p.status === 'rejected') return Promise.reject(p.reason as Error);
      if (!c.principal.canWrite(p.value))
        return Promise.reject(new DomainError('forbidden', 'this key may not write there'));
      const { workflowId, stepId } = u;
      const input: ProgressInput = {
        progress: u.progress === undefined ? undefined : Math.floor(u.progress),
        current: u.current,
        total: u.total,
        message: u.message,
      };
      return this.uow.submit({
        projectId: p.value,
        workflowIds: [workflowId],
        run: (ctx) => {
          const wf = ctx.get(workflowId);
          if (!wf) throw new DomainError('not_found', `workflow ${workflowId} not found`);
          wf.assertLease(c.leaseToken, ctx.now);
          return wf.recordProgress(stepId, input, ctx.now);
        },
      });
    });
    const settled = await Promise.allSettled(pending);
    let applied = 0;
    const results = settled.map((s): BatchResult => {
      if (s.status === 'fulfilled') {
        if (s.value.result) applied++;
        return { ok: true };
      }
      const err = s.reason instanceof DomainError ? s.reason : undefined;
      if (!err) throw s.reason; // an infrastructure failure fails the request (503/500), as for a single update
      return { ok: false, code: err.code, message: err.message };
    });
    this.metrics.progressUpdates.inc(applied);
    return results;
  }
}
