import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { WorkflowView } from '../../views/workflow.view';
import { CancelWorkflowCommand } from './cancel-workflow.command';

@CommandHandler(CancelWorkflowCommand)
export class CancelWorkflowHandler implements ICommandHandler<CancelWorkflowCommand, WorkflowView> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: CancelWorkflowCommand): Promise<WorkflowView> {
    // its non-terminal descendants are cancelled in the same commit (§14)
    const outcome = await this.writer.apply(
      c.principal,
      c.workflowId,
      null,
      (wf, now) => wf.cancel(now, c.reason),
      {
        cascade: true,
      },
    );
    return outcome.view;
  }
}
