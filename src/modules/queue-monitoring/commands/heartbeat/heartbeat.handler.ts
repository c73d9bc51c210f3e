import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { DbService } from '../../../../database/db.service';
import { WorkflowWriter } from '../../../workflows/database/workflow-writer';
import { HeartbeatCommand } from './heartbeat.command';

@CommandHandler(HeartbeatCommand)
export class HeartbeatHandler implements ICommandHandler<HeartbeatCommand, { leaseExpiresAt: string }> {
  constructor(
    private readonly writer: WorkflowWriter,
    private readonly db: DbService,
  ) {}

  async execute(c: HeartbeatCommand): Promise<{ leaseExpiresAt: string }> {
    const { result, view } = await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) => ({
      expires: wf.heartbeat(c.leaseToken, c.leaseMs, now),
      workerId: wf.state.workerId,
      queue: wf.state.queue,
    }));
    if (result.workerId && view.queue)
      await this.db.query('UPDATE queue_workers SET last_seen_at = ? WHERE queue = ? AND worker_id = ?', [
        Date.now(),
        view.queue,
        result.workerId,
      ]);
    return { leaseExpiresAt: new Date(result.expires).toISOString() };
  }
}
