import { Command } from '@nestjs/cqrs';

/** From the stalled reaper: fail a workflow that had no write for its staleAfterMs (re-checked in the transaction). */
export class FailStalledWorkflowCommand extends Command<boolean> {
  constructor(
    readonly projectId: string,
    readonly workflowId: string,
  ) {
    super();
  }
}
