import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowUnitOfWork } from '../../database/workflow-unit-of-work';
import { FailStalledWorkflowCommand } from './fail-stalled-workflow.command';

@CommandHandler(FailStalledWorkflowCommand)
export class FailStalledWorkflowHandler implements ICommandHandler<FailStalledWorkflowCommand, boolean> {
  constructor(private readonly uow: WorkflowUnitOfWork) {}

  async execute(c: FailStalledWorkflowCommand): Promise<boolean> {
    const { result } = await this.uow.submit({
      projectId: c.projectId,
      workflowIds: [c.workflowId],
      run: (ctx) => ctx.get(c.workflowId)?.failIfStalled(ctx.now) ?? false,
    });
    return result;
  }
}
