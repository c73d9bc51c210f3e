import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows/workflows.module';
import { EventLogModule } from '../event-log/event-log.module';
import { EtaHistoryModule } from './eta/eta-history.module';
import { TaskProgressTracker } from './task-progress-tracker.saga';
import { RecordRunHistoryHandler } from './commands/record-run-history/record-run-history.handler';
import { SlowStepSweeper } from './eta/slow-step.sweeper';
import { ActiveWorkflowsReadModel } from './active-workflows/active-workflows.read-model';

/**
 * The TaskProgressTracker saga and what it feeds: the ETA history (recorded when a workflow completes,
 * read by the write path through EtaHistoryModule) and the active-workflows read model.
 * No CqrsModule import here: the app's CqrsModule.forRoot() is global, and a second one would split the EventBus.
 */
@Module({
  imports: [WorkflowsModule, EtaHistoryModule, EventLogModule],
  providers: [TaskProgressTracker, RecordRunHistoryHandler, ActiveWorkflowsReadModel, SlowStepSweeper],
  exports: [ActiveWorkflowsReadModel, EtaHistoryModule],
})
export class ProgressTrackerModule {}
