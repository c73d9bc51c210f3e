// The workflows module's port: the only file other modules import from this folder.
export { WorkflowsModule } from './workflows.module';
export { WorkflowsPort, type StepRecord } from './workflows.port';
export type { OpContext, OpOutcome, WorkflowOp } from './database/workflow-unit-of-work';
export { Workflow, DEFAULT_LEASE_MS, sessionLockOf, type ProgressInput } from './domain/workflow.aggregate';
export type { ErrorInfo, StepStatus, WorkflowStatus } from './domain/workflow.types';
export type { LogView, StepView, WorkflowView } from './views/workflow.view';
export { type QueueCounts, HISTORY_MINUTES } from './queries/queue.queries';
export { CreateWorkflowCommand } from './commands/create-workflow/create-workflow.command';
export { StartStepCommand } from './commands/start-step/start-step.command';
export { RecordStepProgressCommand } from './commands/record-step-progress/record-step-progress.command';
export { CompleteStepCommand } from './commands/complete-step/complete-step.command';
export { FailStepCommand } from './commands/fail-step/fail-step.command';
export { AppendLogCommand } from './commands/append-log/append-log.command';
export { ClaimWorkflowCommand, type Claimed } from './commands/claim-workflow/claim-workflow.command';
export { HeartbeatCommand, type HeartbeatResult } from './commands/heartbeat/heartbeat.command';
export { ReleaseLeaseCommand } from './commands/release-lease/release-lease.command';
export { UnclaimWorkflowCommand } from './commands/unclaim-workflow/unclaim-workflow.command';
export {
  GetResetSnapshotQuery,
  type ResetSnapshot,
} from './queries/get-reset-snapshot/get-reset-snapshot.query';
