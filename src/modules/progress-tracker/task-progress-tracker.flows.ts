import { filter, map, Observable } from 'rxjs';
import { WorkflowCompletedEvent } from '../../common/events/committed-events';
import { RecordRunHistoryCommand } from './commands/record-run-history/record-run-history.command';

/**
 * The TaskProgressTracker's flows as plain functions (events in, commands out, no I/O), so that they are
 * unit-tested with rxjs alone; task-progress-tracker.saga.ts registers them with @Saga().
 */

/** A completed workflow's step durations become ETA history for its type. */
export const recordRunHistory = (events$: Observable<unknown>): Observable<RecordRunHistoryCommand> =>
  events$.pipe(
    filter((e): e is WorkflowCompletedEvent => e instanceof WorkflowCompletedEvent),
    filter((e) => e.envelope.workflowId !== null),
    map((e) => new RecordRunHistoryCommand(e.envelope.projectId, e.envelope.workflowId!)),
  );
