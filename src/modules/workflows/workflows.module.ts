import { Module } from '@nestjs/common';
import { EventLogModule } from '../event-log';
import { WorkflowsController } from './http/workflows.controller';
import { ProjectsController } from './http/projects.controller';
import { WorkflowRepository } from './database/workflow.repository';
import { WorkflowUnitOfWork } from './database/workflow-unit-of-work';
import { WorkflowDirectory } from './database/workflow-directory';
import { WorkflowWriter } from './database/workflow-writer';
import { WorkflowLogsReader } from './database/workflow-logs.reader';
import { EtaHistory } from './eta/eta-history';
import { RunHistoryRepository } from './eta/run-history.repository';
import { RunHistoryRecorder } from './eta/run-history.recorder';
import { QueueWaitEstimator } from './eta/queue-wait';
import { SlowStepSweeper } from './eta/slow-step.sweeper';
import { StalledWorkflowReaper } from './stalled-workflow.reaper';
import { LeaseReaper } from './lease.reaper';
import { WorkflowsPort } from './workflows.port';
import { CreateWorkflowHandler } from './commands/create-workflow/create-workflow.handler';
import { StartStepHandler } from './commands/start-step/start-step.handler';
import { RecordStepProgressHandler } from './commands/record-step-progress/record-step-progress.handler';
import { CompleteStepHandler } from './commands/complete-step/complete-step.handler';
import { FailStepHandler } from './commands/fail-step/fail-step.handler';
import { SkipStepHandler } from './commands/skip-step/skip-step.handler';
import { CancelWorkflowHandler } from './commands/cancel-workflow/cancel-workflow.handler';
import { AppendLogHandler } from './commands/append-log/append-log.handler';
import { RecordProgressBatchHandler } from './commands/record-progress-batch/record-progress-batch.handler';
import { FailStalledWorkflowHandler } from './commands/fail-stalled-workflow/fail-stalled-workflow.handler';
import { ClaimWorkflowHandler } from './commands/claim-workflow/claim-workflow.handler';
import { HeartbeatHandler } from './commands/heartbeat/heartbeat.handler';
import { ReleaseLeaseHandler } from './commands/release-lease/release-lease.handler';
import { ExpireLeaseHandler } from './commands/expire-lease/expire-lease.handler';
import { UnclaimWorkflowHandler } from './commands/unclaim-workflow/unclaim-workflow.handler';
import { WorkflowQueueQueries } from './queries/queue.queries';
import { MarkStepSlowHandler } from './commands/mark-step-slow/mark-step-slow.handler';
import { GetResetSnapshotHandler } from './queries/get-reset-snapshot/get-reset-snapshot.handler';
import {
  GetStepDurationsHandler,
  GetWorkflowHandler,
  ListLogsHandler,
  ListWorkflowsHandler,
} from './queries/workflow-query.handlers';

/**
 * Workflows, their steps, logs, leases (the queue is this table) and ETA history. Other modules use the
 * WorkflowsPort and the commands exported from ./index.ts; nothing else leaves this module.
 */
@Module({
  imports: [EventLogModule],
  controllers: [WorkflowsController, ProjectsController],
  providers: [
    WorkflowRepository,
    WorkflowUnitOfWork,
    WorkflowDirectory,
    WorkflowWriter,
    WorkflowLogsReader,
    EtaHistory,
    RunHistoryRepository,
    RunHistoryRecorder,
    WorkflowQueueQueries,
    StalledWorkflowReaper,
    LeaseReaper,
    WorkflowsPort,
    CreateWorkflowHandler,
    StartStepHandler,
    RecordStepProgressHandler,
    CompleteStepHandler,
    FailStepHandler,
    SkipStepHandler,
    CancelWorkflowHandler,
    AppendLogHandler,
    RecordProgressBatchHandler,
    FailStalledWorkflowHandler,
    ClaimWorkflowHandler,
    HeartbeatHandler,
    ReleaseLeaseHandler,
    ExpireLeaseHandler,
    UnclaimWorkflowHandler,
    GetWorkflowHandler,
    ListWorkflowsHandler,
    ListLogsHandler,
    GetStepDurationsHandler,
    GetResetSnapshotHandler,
    MarkStepSlowHandler,
    QueueWaitEstimator,
    SlowStepSweeper,
  ],
  exports: [WorkflowsPort],
})
export class WorkflowsModule {}
