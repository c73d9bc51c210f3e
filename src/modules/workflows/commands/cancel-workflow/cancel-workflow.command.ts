import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { WorkflowView } from '../../views/workflow.view';

/** A non-terminal workflow → cancelled, its pending and running steps with it. */
export class CancelWorkflowCommand extends Command<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly reason?: string,
  ) {
    super();
  }
}
