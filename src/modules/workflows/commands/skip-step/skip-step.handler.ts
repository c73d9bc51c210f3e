import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { WorkflowView } from '../../views/workflow.view';
import { SkipStepCommand } from './skip-step.command';

@CommandHandler(SkipStepCommand)
export class SkipStepHandler implements ICommandHandler<SkipStepCommand, WorkflowView> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: SkipStepCommand): Promise<WorkflowView> {
    return (
      await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
        wf.skipStep(c.stepId, now, c.message),
      )
    ).view;
  }
}
