import { Query } from '@nestjs/cqrs';
import type { WorkflowView } from '../../views/workflow.view';

/** §12: what a watcher whose position is older than the log keeps starts again from. */
export interface ResetSnapshot {
  /** The project's last seq the snapshot is consistent with: events after it follow. */
  lastSeq: number;
  snapshot: { workflows: WorkflowView[]; truncated: boolean };
}

/** The project's snapshot (or the one workflow's, for a job subscription), consistent with its lastSeq. */
export class GetResetSnapshotQuery extends Query<ResetSnapshot> {
  constructor(
    readonly projectId: string,
    readonly workflowId?: string,
  ) {
    super();
  }
}
