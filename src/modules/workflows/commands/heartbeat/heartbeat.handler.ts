import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import { HeartbeatCommand, type HeartbeatResult } from './heartbeat.command';

@CommandHandler(HeartbeatCommand)
export class HeartbeatHandler implements ICommandHandler<HeartbeatCommand, HeartbeatResult> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: HeartbeatCommand): Promise<HeartbeatResult> {
    const { result } = await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) => ({
      expires: wf.heartbeat(c.leaseToken, c.leaseMs, now),
      workerId: wf.state.workerId,
      queue: wf.state.queue,
    }));
    return {
      leaseExpiresAt: new Date(result.expires).toISOString(),
      queue: result.queue,
      workerId: result.workerId,
    };
  }
}
