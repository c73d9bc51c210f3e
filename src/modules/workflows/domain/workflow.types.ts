export type WorkflowStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export const TERMINAL_WORKFLOW: ReadonlySet<WorkflowStatus> = new Set(['completed', 'failed', 'cancelled']);
export const TERMINAL_STEP: ReadonlySet<StepStatus> = new Set([
  'completed',
  'failed',
  'skipped',
  'cancelled',
]);

export interface ErrorInfo {
  message: string;
  code?: string;
  /** With code `child_failed` / `child_cancelled`: the child workflow that caused it. */
  childId?: string;
}

/** A child workflow as its parent step last saw it (kept on the parent step, updated in the child's commit). */
export interface ChildState {
  id: string;
  status: WorkflowStatus;
  progress: number;
  /** The child's own ETA when it last changed (null when unknown). */
  remainingMs: number | null;
}

/** The parent a child workflow reports to. */
export interface ParentRef {
  workflowId: string;
  stepId: string;
}

/** A root and 4 generations below it. */
export const MAX_DEPTH = 4;

export interface Eta {
  remainingMs: number | null;
  finishAt: string | null;
  basis: 'none' | 'rate' | 'history';
  /** §13: the remaining time that 9 runs in 10 of this type stayed within (history only; ≥ remainingMs). */
  remainingP90Ms: number | null;
  /** §13: a queued workflow on a queue: the estimated wait until a worker claims it (read paths fill it). */
  queueWaitMs: number | null;
}

/** A step's full state; times are epoch milliseconds. */
export interface StepState {
  id: string;
  name: string;
  weight: number;
  status: StepStatus;
  progress: number;
  current: number | null;
  total: number | null;
  message: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  result: unknown;
  error: ErrorInfo | null;
  metrics: Record<string, unknown> | null;
  /** Child workflows in creation order; empty for a step without children. */
  children: ChildState[];
  /** UTF-8 bytes of `result` as stored (JSON), for the per-workflow result budget (computed when first needed). */
  resultBytes?: number;
  /** The attempt in which `workflow:step:slow` was sent for this step (§13), so it is sent once per attempt. */
  slowAttempt: number | null;
}

export interface WorkflowState {
  id: string;
  projectId: string;
  type: string;
  name: string | null;
  status: WorkflowStatus;
  progress: number;
  steps: StepState[];
  queue: string | null;
  attempt: number;
  maxAttempts: number;
  sessionId: string | null;
  metadata: Record<string, unknown>;
  error: ErrorInfo | null;
  staleAfterMs: number;
  requestHash: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  lastSeq: number;
  /** seq of the workflow:created event (0 until committed). */
  createdSeq: number;
  availableAt: number | null;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  /** When progress first reached 50 % in this attempt with a history ETA, and that ETA (§13 error ratio). */
  halfAt: number | null;
  halfEstimateMs: number | null;
  parent: ParentRef | null;
  /** 0 for a root workflow, parent's depth + 1 for a child. */
  depth: number;
}

/** What a create asks for (before ids, hashes and defaults): the command's input, whatever carried it. */
export interface CreateWorkflowInput {
  id?: string;
  type: string;
  name?: string;
  steps: { id: string; name?: string; weight?: number }[];
  queue?: string;
  maxAttempts?: number;
  sessionId?: string;
  staleAfterMs?: number;
  metadata?: Record<string, unknown>;
  parent?: ParentRef;
}

export type LogLevel = 'debug' | 'info' | 'success' | 'warning' | 'error';

export interface LogInput {
  level: LogLevel;
  message: string;
  stepId?: string;
  details?: unknown;
}

/** One update of a batch: a step's progress by workflow and step id. */
export interface ProgressUpdateInput {
  workflowId: string;
  stepId: string;
  progress?: number;
  current?: number;
  total?: number;
  message?: string;
}
