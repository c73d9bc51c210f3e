import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import { UnclaimWorkflowCommand } from './unclaim-workflow.command';

@CommandHandler(UnclaimWorkflowCommand)
export class UnclaimWorkflowHandler implements ICommandHandler<UnclaimWorkflowCommand, void> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: UnclaimWorkflowCommand): Promise<void> {
    await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
      wf.unclaim(c.leaseToken, now),
    );
  }
}
