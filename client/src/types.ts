/**
 * Every REST shape and event of CONTRACT.md, as the server sends them. test/client-types.e2e-spec.ts reads
 * these declarations with the TypeScript compiler and compares them, field by field, with the server's
 * OpenAPI document and with real answers: a field added, removed or made optional on either side fails it.
 */

export type WorkflowStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
export type LogLevel = 'debug' | 'info' | 'success' | 'warning' | 'error';

export interface ErrorInfo {
  message: string;
  code?: string;
  /** §14: with `child_failed` / `child_cancelled`, the child workflow that caused it. */
  childId?: string;
}

/** The error a `fail` sends (the server may add `childId` to the ones it reports). */
export interface ErrorInfoRequest {
  message: string;
  code?: string;
}

/** §14: the parent workflow step a child reports to. */
export interface ParentRef {
  workflowId: string;
  stepId: string;
}

export interface Eta {
  remainingMs: number | null;
  finishAt: string | null;
  basis: 'none' | 'rate' | 'history';
  /** §13: at or above the real remaining time 9 times in 10 (null without history). */
  remainingP90Ms: number | null;
  /** §13: a queued workflow's estimated wait for a worker (null otherwise). */
  queueWaitMs: number | null;
}

export interface Step {
  id: string;
  name: string;
  weight: number;
  status: StepStatus;
  progress: number;
  current: number | null;
  total: number | null;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  result?: unknown;
  error: ErrorInfo | null;
  metrics: Record<string, unknown> | null;
  /** §14: child workflows of this step, in creation order. */
  children: string[];
}

export interface Workflow {
  id: string;
  projectId: string;
  type: string;
  name: string | null;
  status: WorkflowStatus;
  progress: number;
  steps: Step[];
  queue: string | null;
  attempt: number;
  maxAttempts: number;
  sessionId: string | null;
  metadata: Record<string, unknown>;
  error: ErrorInfo | null;
  eta: Eta;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  lastSeq: number;
  /** §14: the parent of a child workflow; null for a root. */
  parent: ParentRef | null;
}

export interface WorkflowPage {
  items: Workflow[];
  nextCursor: string | null;
}

/** One step's recorded durations (`GET /api/projects/:projectId/step-durations?type=`). */
export interface StepDuration {
  stepId: string;
  runs: number;
  medianMs: number;
  p90Ms: number;
  /** §13's slow threshold; null below 5 runs. */
  slowAfterMs: number | null;
}

/** A workflow type's step durations over its newest 20 completed runs, in the newest run's step order. */
export interface StepDurations {
  type: string;
  runs: number;
  steps: StepDuration[];
}

export interface Log {
  id: number;
  workflowId: string;
  stepId: string | null;
  level: LogLevel;
  message: string;
  details: unknown;
  at: string;
}

export interface LogPage {
  items: Log[];
}

// ---- request bodies -------------------------------------------------------------------------------------

export interface StepDefinition {
  id: string;
  name?: string;
  weight?: number;
}

export interface CreateWorkflowRequest {
  id?: string;
  type: string;
  name?: string;
  steps: StepDefinition[];
  queue?: string;
  maxAttempts?: number;
  sessionId?: string;
  staleAfterMs?: number;
  metadata?: Record<string, unknown>;
  /** §14: create as a child of this workflow step. */
  parent?: ParentRef;
}

export interface MessageRequest {
  message?: string;
}

export interface StepProgressRequest {
  progress?: number;
  current?: number;
  total?: number;
  message?: string;
  metrics?: Record<string, unknown>;
}

export interface CompleteStepRequest {
  message?: string;
  result?: unknown;
}

export interface FailStepRequest {
  /** What the step failed with (`childId` is the server's to set: sending it is a `validation_failed`). */
  error: ErrorInfoRequest;
  retryable?: boolean;
}

export interface CancelWorkflowRequest {
  reason?: string;
}

export interface AppendLogRequest {
  level: LogLevel;
  message: string;
  stepId?: string;
  details?: unknown;
}

export interface BatchProgressUpdate {
  workflowId: string;
  stepId: string;
  progress?: number;
  current?: number;
  total?: number;
  message?: string;
}

export interface BatchProgressRequest {
  updates: BatchProgressUpdate[];
}

export type BatchProgressResult = { ok: true } | { ok: false; code: ErrorCode; message: string };

export interface BatchProgressResponse {
  results: BatchProgressResult[];
}

export interface ClaimRequest {
  workerId: string;
  leaseMs?: number;
  waitMs?: number;
}

export interface ClaimResponse {
  workflow: Workflow;
  leaseToken: string;
  leaseExpiresAt: string;
  attempt: number;
}

export interface HeartbeatRequest {
  leaseToken: string;
  leaseMs?: number;
}

export interface HeartbeatResponse {
  leaseExpiresAt: string;
}

// ---- projects, queues, keys ------------------------------------------------------------------------------

export interface ProjectSummary {
  id: string;
  counts: Record<WorkflowStatus, number>;
  lastSeq: number;
  lastEventAt: string | null;
}

export interface QueueWorker {
  workerId: string;
  lastSeenAt: string;
  running: number;
  /** The workflows it holds, within the key's projects (or the one asked for). */
  workflowIds: string[];
  /** By the server's clock: how long since it was last seen (claim or heartbeat). */
  seenAgoMs: number;
  /** `online` seen within WORKER_STALE_MS, `stale` within WORKER_OFFLINE_MS, else `offline`. */
  health: WorkerHealth;
}

export type WorkerHealth = 'online' | 'stale' | 'offline';

export interface QueueSummary {
  name: string;
  queued: number;
  running: number;
  oldestQueuedAgeMs: number | null;
  completedLastMinute: number;
  failedLastMinute: number;
  /** Completed and failed per minute over the last 30 minutes, oldest first. */
  history: { completed: number[]; failed: number[] };
  workers: QueueWorker[];
}

/** `GET /api/keys/me`: the calling key's id, role and projects (`['*']` for every project). */
export interface KeyInfo {
  id: string;
  role: 'admin' | 'producer' | 'viewer';
  projects: string[];
}

/** One of a project's queued or running workflows (`GET /api/projects/:projectId/queue`). */
export type QueuedWorkflow = Workflow & {
  /** 1-based place in its queue among the claimable ones; null once claimed. */
  position: number | null;
};

export interface CreateKeyRequest {
  name: string;
  role: 'producer' | 'viewer';
  projects: string[];
}

export interface ApiKey {
  id: string;
  name: string;
  role: 'admin' | 'producer' | 'viewer';
  projects: string[];
  createdAt: string;
}

export interface CreatedApiKey {
  id: string;
  name: string;
  role: 'producer' | 'viewer';
  projects: string[];
  key: string;
  createdAt: string;
}

// ---- errors ---------------------------------------------------------------------------------------------

export type ErrorCode =
  | 'validation_failed'
  | 'malformed_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'invalid_transition'
  | 'progress_regression'
  | 'session_busy'
  | 'analysis_in_progress'
  | 'lease_lost'
  | 'payload_too_large'
  | 'rate_limited'
  | 'internal_error'
  | 'unavailable';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: ErrorCode;
  message: string;
  /** Always sent (§1): `[{ field, message }]` for a `validation_failed`, empty when the error has none. */
  details: unknown[];
}

// ---- events (§3, §11, §13) -------------------------------------------------------------------------------

export interface StepEventData {
  status: StepStatus;
  progress: number;
  current: number | null;
  total: number | null;
  message: string | null;
  workflowProgress: number;
  eta: Eta;
}

export interface WorkflowEventData {
  status: WorkflowStatus;
  progress: number;
  eta: Eta;
}

interface Envelope<T extends string, D> {
  seq: number;
  type: T;
  projectId: string;
  workflowId: string;
  stepId: string | null;
  at: string;
  /** §11: the workflow's attempt when the event was committed. */
  attempt: number;
  data: D;
}

export type WorkflowCreatedEvent = Envelope<
  'workflow:created',
  WorkflowEventData & {
    type: string;
    name: string | null;
    queue: string | null;
    steps: { id: string; name: string; weight: number }[];
    parent: ParentRef | null;
  }
>;
export type WorkflowStartedEvent = Envelope<'workflow:started', WorkflowEventData>;
export type StepStartedEvent = Envelope<'workflow:step:started', StepEventData>;
export type StepProgressEvent = Envelope<'workflow:step:progress', StepEventData>;
export type StepCompletedEvent = Envelope<'workflow:step:completed', StepEventData & { result: unknown }>;
export type StepFailedEvent = Envelope<'workflow:step:failed', StepEventData & { error: ErrorInfo }>;
export type StepSkippedEvent = Envelope<'workflow:step:skipped', StepEventData>;
export type StepSlowEvent = Envelope<
  'workflow:step:slow',
  { status: 'running'; elapsedMs: number; expectedMs: number }
>;
export type LogEvent = Envelope<'workflow:log', Log>;
export type WorkflowCompletedEvent = Envelope<'workflow:completed', WorkflowEventData>;
export type WorkflowFailedEvent = Envelope<'workflow:failed', WorkflowEventData & { error: ErrorInfo }>;
export type WorkflowCancelledEvent = Envelope<
  'workflow:cancelled',
  WorkflowEventData & { reason: string | null }
>;
export type WorkflowRequeuedEvent = Envelope<
  'workflow:requeued',
  WorkflowEventData & {
    queue: string | null;
    attempt: number;
    availableAt: string;
    reason: string;
    error: ErrorInfo | null;
  }
>;

/** Every event, discriminated by `type`. */
export type SteplineEvent =
  | WorkflowCreatedEvent
  | WorkflowStartedEvent
  | StepStartedEvent
  | StepProgressEvent
  | StepCompletedEvent
  | StepFailedEvent
  | StepSkippedEvent
  | StepSlowEvent
  | LogEvent
  | WorkflowCompletedEvent
  | WorkflowFailedEvent
  | WorkflowCancelledEvent
  | WorkflowRequeuedEvent;

export type EventType = SteplineEvent['type'];

export const EVENT_TYPES: readonly EventType[] = [
  'workflow:created',
  'workflow:started',
  'workflow:step:started',
  'workflow:step:progress',
  'workflow:step:completed',
  'workflow:step:failed',
  'workflow:step:skipped',
  'workflow:step:slow',
  'workflow:log',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'workflow:requeued',
];

export interface EventPage {
  items: SteplineEvent[];
  lastSeq: number;
  reset?: true;
  snapshot?: Snapshot;
}

/** §12: the state at `lastSeq` when a resume point is older than the log keeps. */
export interface Snapshot {
  workflows: Workflow[];
  truncated: boolean;
}

export interface SubscribeAck {
  ok: boolean;
  lastSeq?: number;
  replayed?: number;
  reset?: true;
  snapshot?: Snapshot;
  code?: string;
  /** Present when the subscription asked for batched delivery (`batch: true`): events come as `events` arrays. */
  batch?: true;
}

// ---- webhooks (§15) -------------------------------------------------------------------------------------

export interface CreateWebhookRequest {
  url: string;
  /** Event types to deliver (default: all). */
  types?: EventType[];
  /** Deliver events after the current seq (`now`, the default) or from the start of the log. */
  from?: 'now' | 'start';
}

export interface Webhook {
  id: string;
  url: string;
  /** The selected types; every type when the webhook was created without `types`. */
  types: EventType[];
  cursor: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
  failingSince: string | null;
}

/** The answer to a create: the signing secret is shown only here. */
export interface CreatedWebhook {
  id: string;
  url: string;
  /** The selected types; every type when created without `types`. */
  types: EventType[];
  secret: string;
  cursor: number;
}
