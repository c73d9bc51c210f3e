import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { WorkflowView } from '../../views/workflow.view';

/** Pending|running → completed; completes the workflow in the same commit when it was the last step. */
export class CompleteStepCommand extends Command<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly stepId: string,
    readonly result?: unknown,
    readonly message?: string,
    /** X-Lease-Token: required when the workflow is on a queue (fencing). */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
