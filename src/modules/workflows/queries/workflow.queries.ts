import { Query } from '@nestjs/cqrs';
import type { Principal } from '../../../common/auth/principal';
import type { WorkflowStatus } from '../domain/workflow.types';
import type { WorkflowPage, WorkflowView } from '../views/workflow.view';
import type { LogView, StepDurationsView } from '../views/workflow.view';

export class GetWorkflowQuery extends Query<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly workflowId: string,
  ) {
    super();
  }
}

/** Narrowing beyond status and type: a part of the id or name, the start of the type, a creation window. */
export interface WorkflowListFilter {
  search?: string;
  typePrefix?: string;
  /** the queue it was created on */
  queue?: string;
  /** epoch ms, inclusive */
  createdFrom?: number;
  /** epoch ms, exclusive */
  createdTo?: number;
}

export class ListWorkflowsQuery extends Query<WorkflowPage> {
  constructor(
    readonly projectId: string,
    readonly statuses: WorkflowStatus[],
    readonly type: string | undefined,
    readonly limit: number,
    readonly cursor: string | undefined,
    readonly filter: WorkflowListFilter = {},
  ) {
    super();
  }
}

export class GetStepDurationsQuery extends Query<StepDurationsView> {
  constructor(
    readonly projectId: string,
    readonly type: string,
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
