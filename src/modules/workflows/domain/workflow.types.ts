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
}

export interface Eta {
  remainingMs: number | null;
  finishAt: string | null;
  basis: 'none' | 'rate' | 'history';
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
  /** UTF-8 bytes of `result` as stored (JSON), for the per-workflow result budget (computed when first needed). */
  resultBytes?: number;
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
}
