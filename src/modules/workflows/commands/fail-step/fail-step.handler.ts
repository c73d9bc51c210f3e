import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { WorkflowView } from '../../views/workflow.view';
import { FailStepCommand } from './fail-step.command';

@CommandHandler(FailStepCommand)
export class FailStepHandler implements ICommandHandler<FailStepCommand, WorkflowView> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: FailStepCommand): Promise<WorkflowView> {
    const error =
      c.error.code === undefined
        ? { message: c.error.message }
        : { message: c.error.message, code: c.error.code };
    return (
      await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
        wf.failStep(c.stepId, error, now, c.retryable),
      )
    ).view;
  }
}
