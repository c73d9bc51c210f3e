import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { WorkflowView } from '../../views/workflow.view';

/** Pending → running; the first start moves the workflow queued → running. */
export class StartStepCommand extends Command<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly stepId: string,
    readonly message?: string,
    /** X-Lease-Token: required when the workflow is on a queue (fencing). */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
