import { Module } from '@nestjs/common';
import { EventLogModule } from '../event-log/event-log.module';
import { EtaHistoryModule } from '../progress-tracker/eta/eta-history.module';
import { WorkflowsController } from './http/workflows.controller';
import { WorkflowRepository } from './database/workflow.repository';
import { WorkflowUnitOfWork } from './database/workflow-unit-of-work';
import { WorkflowDirectory } from './database/workflow-directory';
import { WorkflowWriter } from './database/workflow-writer';
import { WorkflowLogsReader } from './database/workflow-logs.reader';
import { StalledWorkflowReaper } from './stalled-workflow.reaper';
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
import { MarkStepSlowHandler } from './commands/mark-step-slow/mark-step-slow.handler';
import { GetResetSnapshotHandler } from './queries/get-reset-snapshot/get-reset-snapshot.handler';
import { GetWorkflowHandler, ListLogsHandler, ListWorkflowsHandler } from './queries/workflow-query.handlers';

@Module({
  imports: [EventLogModule, EtaHistoryModule],
  controllers: [WorkflowsController],
  providers: [
    WorkflowRepository,
    WorkflowUnitOfWork,
    WorkflowDirectory,
    WorkflowWriter,
    WorkflowLogsReader,
    StalledWorkflowReaper,
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
    GetWorkflowHandler,
    ListWorkflowsHandler,
    ListLogsHandler,
    GetResetSnapshotHandler,
    MarkStepSlowHandler,
  ],
  exports: [WorkflowUnitOfWork, WorkflowRepository, WorkflowDirectory, WorkflowWriter, WorkflowLogsReader],
})
export class WorkflowsModule {}
