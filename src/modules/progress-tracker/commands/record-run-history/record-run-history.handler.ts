import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowsPort } from '../../../workflows';
import { RecordRunHistoryCommand } from './record-run-history.command';

@CommandHandler(RecordRunHistoryCommand)
export class RecordRunHistoryHandler implements ICommandHandler<RecordRunHistoryCommand, void> {
  constructor(private readonly workflows: WorkflowsPort) {}

  execute(c: RecordRunHistoryCommand): Promise<void> {
    return this.workflows.recordRun(c.projectId, c.workflowId);
  }
}
