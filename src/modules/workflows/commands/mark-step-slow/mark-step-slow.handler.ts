import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowUnitOfWork } from '../../database/workflow-unit-of-work';
import { MarkStepSlowCommand } from './mark-step-slow.command';

@CommandHandler(MarkStepSlowCommand)
export class MarkStepSlowHandler implements ICommandHandler<MarkStepSlowCommand, boolean> {
  constructor(private readonly uow: WorkflowUnitOfWork) {}

  async execute(c: MarkStepSlowCommand): Promise<boolean> {
    const { result } = await this.uow.submit({
      projectId: c.projectId,
      workflowIds: [c.workflowId],
      run: (ctx) => ctx.get(c.workflowId)?.markStepSlow(c.stepId, c.attempt, c.expectedMs, ctx.now) ?? false,
    });
    return result;
  }
}
