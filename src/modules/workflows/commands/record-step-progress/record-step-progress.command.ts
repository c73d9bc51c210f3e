import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { ProgressInput } from '../../domain/workflow.aggregate';
import type { WorkflowView } from '../../views/workflow.view';

/** A step's progress; starts a pending step; the same value again is a no-op (no event). */
export class RecordStepProgressCommand extends Command<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly stepId: string,
    readonly input: ProgressInput,
    /** X-Lease-Token: required when the workflow is on a queue (fencing). */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
