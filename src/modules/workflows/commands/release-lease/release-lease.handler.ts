import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import { ReleaseLeaseCommand } from './release-lease.command';

@CommandHandler(ReleaseLeaseCommand)
export class ReleaseLeaseHandler implements ICommandHandler<ReleaseLeaseCommand, void> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: ReleaseLeaseCommand): Promise<void> {
    await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
      wf.release(c.leaseToken, now),
    );
  }
}
