import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { WorkflowView } from '../../views/workflow.view';
import { CompleteStepCommand } from './complete-step.command';

@CommandHandler(CompleteStepCommand)
export class CompleteStepHandler implements ICommandHandler<CompleteStepCommand, WorkflowView> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: CompleteStepCommand): Promise<WorkflowView> {
    return (
      await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
        wf.completeStep(c.stepId, now, c.result, c.message),
      )
    ).view;
  }
}
