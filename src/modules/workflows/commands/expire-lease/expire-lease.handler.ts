import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowUnitOfWork } from '../../database/workflow-unit-of-work';
import { ExpireLeaseCommand } from './expire-lease.command';

@CommandHandler(ExpireLeaseCommand)
export class ExpireLeaseHandler implements ICommandHandler<ExpireLeaseCommand, boolean> {
  constructor(private readonly uow: WorkflowUnitOfWork) {}

  async execute(c: ExpireLeaseCommand): Promise<boolean> {
    const { result } = await this.uow.submit({
      projectId: c.projectId,
      workflowIds: [c.workflowId],
      run: (ctx) => ctx.get(c.workflowId)?.expireLease(ctx.now) ?? false,
    });
    return result;
  }
}
