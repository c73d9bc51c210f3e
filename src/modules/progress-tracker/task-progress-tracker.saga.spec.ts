import { lastValueFrom, of, toArray } from 'rxjs';
import {
  StepCompletedEvent,
  toCommittedEvent,
  WorkflowCompletedEvent,
} from '../../common/events/committed-events';
import type { EventEnvelope, EventType } from '../../common/events/event-types';
import { RecordRunHistoryCommand } from './commands/record-run-history/record-run-history.command';
import { recordRunHistory } from './task-progress-tracker.flows';

let seq = 0;
const envelope = (type: EventType, workflowId: string, projectId = 'p1'): EventEnvelope => ({
  seq: ++seq,
  type,
  projectId,
  workflowId,
  stepId: null,
  attempt: 1,
  at: new Date(0).toISOString(),
  data: {},
});

describe('TaskProgressTracker saga', () => {
  it('maps each workflow:completed to a RecordRunHistoryCommand for that workflow, and nothing else', async () => {
    const events = of(
      toCommittedEvent(envelope('workflow:created', 'w1')),
      new StepCompletedEvent(envelope('workflow:step:completed', 'w1')),
      toCommittedEvent(envelope('workflow:completed', 'w1')),
      toCommittedEvent(envelope('workflow:failed', 'w2')),
      toCommittedEvent(envelope('workflow:cancelled', 'w3')),
      new WorkflowCompletedEvent(envelope('workflow:completed', 'w4', 'p2')),
      { some: 'other event' },
    );
    const commands = await lastValueFrom(recordRunHistory(events).pipe(toArray()));
    expect(commands).toEqual([
      new RecordRunHistoryCommand('p1', 'w1'),
      new RecordRunHistoryCommand('p2', 'w4'),
    ]);
    expect(commands.every((c) => c instanceof RecordRunHistoryCommand)).toBe(true);
  });
});
