import { Command } from '@nestjs/cqrs';

/** From the lease reaper: requeue (or fail) a workflow whose lease ran out; re-checked in the transaction. */
export class ExpireLeaseCommand extends Command<boolean> {
  constructor(
    readonly projectId: string,
    readonly workflowId: string,
  ) {
    super();
  }
}
