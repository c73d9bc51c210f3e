import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { WorkflowView } from '../../views/workflow.view';
import { StartStepCommand } from './start-step.command';

@CommandHandler(StartStepCommand)
export class StartStepHandler implements ICommandHandler<StartStepCommand, WorkflowView> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: StartStepCommand): Promise<WorkflowView> {
    return (
      await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
        wf.startStep(c.stepId, now, c.message),
      )
    ).view;
  }
}
