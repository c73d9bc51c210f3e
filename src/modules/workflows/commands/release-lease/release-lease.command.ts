import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';

/** A worker that stops gives its lease back: the workflow is requeued at once as its next attempt. */
export class ReleaseLeaseCommand extends Command<void> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly leaseToken: string,
  ) {
    super();
  }
}
