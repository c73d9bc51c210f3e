import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { ErrorInfo } from '../../domain/workflow.types';
import type { WorkflowView } from '../../views/workflow.view';

/** The step fails and so does the workflow. */
export class FailStepCommand extends Command<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly stepId: string,
    readonly error: ErrorInfo,
    readonly retryable = false,
    /** X-Lease-Token: required when the workflow is on a queue (fencing). */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
