import { Query } from '@nestjs/cqrs';
import type { Principal } from '../../../common/auth/principal';
import type { WorkflowStatus } from '../domain/workflow.types';
import type { WorkflowPage, WorkflowView } from '../views/workflow.view';
import type { LogView } from '../views/workflow.view';

export class GetWorkflowQuery extends Query<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
  ) {
    super();
  }
}

export class ListWorkflowsQuery extends Query<WorkflowPage> {
  constructor(
    readonly projectId: string,
    readonly statuses: WorkflowStatus[],
    readonly type: string | undefined,
    readonly limit: number,
    readonly cursor: string | undefined,
  ) {
    super();
  }
}

export class ListLogsQuery extends Query<{ items: LogView[] }> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
    readonly after: number,
    readonly limit: number,
  ) {
    super();
  }
}
