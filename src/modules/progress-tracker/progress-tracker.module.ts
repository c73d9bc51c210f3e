import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows';
import { TaskProgressTracker } from './task-progress-tracker.saga';
import { RecordRunHistoryHandler } from './commands/record-run-history/record-run-history.handler';

/**
 * The TaskProgressTracker saga (committed events in, commands out) and its commands: a completed workflow's
 * durations become ETA history through the workflows port. No CqrsModule import here: the app's
 * CqrsModule.forRoot() is global, and a second one would split the EventBus.
 */
@Module({
  imports: [WorkflowsModule],
  providers: [TaskProgressTracker, RecordRunHistoryHandler],
})
export class ProgressTrackerModule {}
