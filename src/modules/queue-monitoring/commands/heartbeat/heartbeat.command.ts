import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';

/** Extends a lease; `lease_lost` when the token is not the workflow's current one. */
export class HeartbeatCommand extends Command<{ leaseExpiresAt: string }> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly leaseToken: string,
    readonly leaseMs?: number,
  ) {
    super();
  }
}
