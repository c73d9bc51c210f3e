import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { CreateWorkflowInput } from '../../domain/workflow.types';
import type { WorkflowView } from '../../views/workflow.view';

/** Creates a workflow; the same id with the same body again is answered with the existing one. */
export class CreateWorkflowCommand extends Command<{ created: boolean; workflow: WorkflowView }> {
  constructor(
    readonly principal: Principal,
    readonly projectId: string,
    readonly body: CreateWorkflowInput,
  ) {
    super();
  }
}
