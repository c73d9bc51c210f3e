import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { Statement } from '../../../../database/tx';
import type { WorkflowView } from '../../views/workflow.view';

export interface Claimed {
  workflow: WorkflowView;
  leaseToken: string;
  leaseExpiresAt: string;
  attempt: number;
}

/**
 * Lease the oldest ready workflow of a queue in the principal's projects to a worker, or answer null.
 * `alsoRun`: statements of the caller's own tables committed in the same transaction (worker monitoring).
 */
export class ClaimWorkflowCommand extends Command<Claimed | null> {
  constructor(
    readonly principal: Principal,
    readonly queue: string,
    readonly workerId: string,
    readonly leaseMs: number,
    readonly alsoRun: (now: number) => Statement[] = () => [],
  ) {
    super();
  }
}
