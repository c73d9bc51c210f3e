import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { LogInput } from '../../domain/workflow.types';
import type { LogView } from '../../views/workflow.view';

/** A log line on a workflow; its id is the seq of its `workflow:log` event. */
export class AppendLogCommand extends Command<LogView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly body: LogInput,
    /** X-Lease-Token: required when the workflow is on a queue (fencing). */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
