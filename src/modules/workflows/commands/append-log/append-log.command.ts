import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { AppendLogRequest } from '../../http/workflow.requests';

export interface LogView {
  id: number;
  workflowId: string;
  stepId: string | null;
  level: string;
  message: string;
  details: unknown;
  at: string;
}

/** A log line on a workflow; its id is the seq of its `workflow:log` event. */
export class AppendLogCommand extends Command<LogView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly body: AppendLogRequest,
    /** X-Lease-Token: required when the workflow is on a queue (fencing). */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
