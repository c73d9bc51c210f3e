import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { MetricsService } from '../../../metrics';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { WorkflowView } from '../../views/workflow.view';
import { RecordStepProgressCommand } from './record-step-progress.command';

@CommandHandler(RecordStepProgressCommand)
export class RecordStepProgressHandler implements ICommandHandler<RecordStepProgressCommand, WorkflowView> {
  constructor(
    private readonly writer: WorkflowWriter,
    private readonly metrics: MetricsService,
  ) {}

  async execute(c: RecordStepProgressCommand): Promise<WorkflowView> {
    const input = {
      ...c.input,
      progress: c.input.progress === undefined ? undefined : Math.floor(c.input.progress),
    };
    const { view, result } = await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
      wf.recordProgress(c.stepId, input, now),
    );
    if (result) this.metrics.progressUpdates.inc();
    return view;
  }
}
