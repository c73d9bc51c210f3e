import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';

/** Gives back a claim whose answer could not be delivered: ready again, same attempt (see Workflow.unclaim). */
export class UnclaimWorkflowCommand extends Command<void> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly leaseToken: string,
  ) {
    super();
  }
}
