import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowWriter } from '../../database/workflow-writer';
import type { LogView } from '../../views/workflow.view';
import { AppendLogCommand } from './append-log.command';

@CommandHandler(AppendLogCommand)
export class AppendLogHandler implements ICommandHandler<AppendLogCommand, LogView> {
  constructor(private readonly writer: WorkflowWriter) {}

  async execute(c: AppendLogCommand): Promise<LogView> {
    const b = c.body;
    const { events } = await this.writer.apply(c.principal, c.workflowId, c.leaseToken, (wf, now) =>
      wf.appendLog(b.stepId ?? null, now, {
        id: null, // the event's seq, filled in at commit
        workflowId: c.workflowId,
        stepId: b.stepId ?? null,
        level: b.level,
        message: b.message,
        details: b.details ?? null,
        at: new Date(now).toISOString(),
      }),
    );
    return events[events.length - 1].data as unknown as LogView;
  }
}
