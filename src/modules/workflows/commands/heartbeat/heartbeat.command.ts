import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';

/** The new expiry, and whose lease on which queue it was (for worker monitoring). */
export interface HeartbeatResult {
  leaseExpiresAt: string;
  queue: string | null;
  workerId: string | null;
}

/** Extends a lease; `lease_lost` when the token is not the workflow's current one. */
export class HeartbeatCommand extends Command<HeartbeatResult> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly leaseToken: string,
    readonly leaseMs?: number,
  ) {
    super();
  }
}
