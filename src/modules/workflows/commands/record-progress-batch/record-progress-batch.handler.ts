import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { DomainError } from '../../../../common/errors/domain-error';
import { MetricsService } from '../../../metrics/metrics.service';
import { WorkflowDirectory } from '../../database/workflow-directory';
import { WorkflowUnitOfWork } from '../../database/workflow-unit-of-work';
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
    const projects = await Promise.allSettled(
      c.updates.map((u) => this.directory.projectFor(c.principal, u.workflowId)),
    );
    const pending = c.updates.map((u, i) => {
      const p = projects[i];
      if (p.status === 'rejected') return Promise.reject(p.reason as Error);
      if (!c.principal.canWrite(p.value))
        return Promise.reject(new DomainError('forbidden', 'this key may not write there'));
      const { workflowId, stepId, ...fields } = u;
      const input = {
        ...fields,
        progress: fields.progress === undefined ? undefined : Math.floor(fields.progress),
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
