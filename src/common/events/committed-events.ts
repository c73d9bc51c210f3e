import { EVENT_TYPES, EventEnvelope, EventType } from './event-types';

/** What the EventBus carries: an event that is committed and in the log, with its seq. */
export abstract class CommittedEvent {
  constructor(readonly envelope: EventEnvelope) {}
}

export class WorkflowCreatedEvent extends CommittedEvent {}
export class WorkflowStartedEvent extends CommittedEvent {}
export class StepStartedEvent extends CommittedEvent {}
export class StepProgressRecordedEvent extends CommittedEvent {}
export class StepCompletedEvent extends CommittedEvent {}
export class StepFailedEvent extends CommittedEvent {}
export class StepSkippedEvent extends CommittedEvent {}
export class LogAppendedEvent extends CommittedEvent {}
export class WorkflowCompletedEvent extends CommittedEvent {}
export class WorkflowFailedEvent extends CommittedEvent {}
export class WorkflowCancelledEvent extends CommittedEvent {}
export class WorkflowRequeuedEvent extends CommittedEvent {}
export class StepSlowEvent extends CommittedEvent {}

const CLASS_BY_TYPE: Record<EventType, new (e: EventEnvelope) => CommittedEvent> = {
  [EVENT_TYPES.WorkflowCreated]: WorkflowCreatedEvent,
  [EVENT_TYPES.WorkflowStarted]: WorkflowStartedEvent,
  [EVENT_TYPES.StepStarted]: StepStartedEvent,
  [EVENT_TYPES.StepProgressRecorded]: StepProgressRecordedEvent,
  [EVENT_TYPES.StepCompleted]: StepCompletedEvent,
  [EVENT_TYPES.StepFailed]: StepFailedEvent,
  [EVENT_TYPES.StepSkipped]: StepSkippedEvent,
  [EVENT_TYPES.LogAppended]: LogAppendedEvent,
  [EVENT_TYPES.WorkflowCompleted]: WorkflowCompletedEvent,
  [EVENT_TYPES.WorkflowFailed]: WorkflowFailedEvent,
  [EVENT_TYPES.WorkflowCancelled]: WorkflowCancelledEvent,
  [EVENT_TYPES.WorkflowRequeued]: WorkflowRequeuedEvent,
  [EVENT_TYPES.StepSlow]: StepSlowEvent,
};

export function toCommittedEvent(e: EventEnvelope): CommittedEvent {
  return new CLASS_BY_TYPE[e.type](e);
}
