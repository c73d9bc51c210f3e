/**
 * The one table that maps each event to its wire name. Domain code records events by these keys;
 * the event log, the EventBus and the sockets all use the wire name from here.
 */
export const EVENT_TYPES = {
  WorkflowCreated: 'workflow:created',
  WorkflowStarted: 'workflow:started',
  StepStarted: 'workflow:step:started',
  StepProgressRecorded: 'workflow:step:progress',
  StepCompleted: 'workflow:step:completed',
  StepFailed: 'workflow:step:failed',
  StepSkipped: 'workflow:step:skipped',
  LogAppended: 'workflow:log',
  WorkflowCompleted: 'workflow:completed',
  WorkflowFailed: 'workflow:failed',
  WorkflowCancelled: 'workflow:cancelled',
  WorkflowRequeued: 'workflow:requeued',
  StepSlow: 'workflow:step:slow',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];
export const ALL_EVENT_TYPES: readonly EventType[] = Object.values(EVENT_TYPES);

/** An event the aggregate recorded and that is not yet in the log (no seq yet). */
export interface PendingEvent {
  type: EventType;
  workflowId: string;
  stepId: string | null;
  /** The workflow's attempt when the event was recorded (a requeue records the new one). */
  attempt: number;
  at: number;
  data: Record<string, unknown>;
}

/** The envelope: what the log stores, the API returns and the sockets emit. */
export interface EventEnvelope {
  seq: number;
  type: EventType;
  projectId: string;
  workflowId: string | null;
  stepId: string | null;
  /** The workflow's attempt when the event was committed (§11); 1 for events of no workflow. */
  attempt: number;
  at: string;
  data: Record<string, unknown>;
}
