import type { ErrorCode } from './types.js';

/**
 * What every failed call rejects with: the server's error body (`status`, `code`, `message`, `details`),
 * or `code: 'network_error'` (status 0) when no answer came after every retry, or `code: 'aborted'`.
 */
export class SteplineError extends Error {
  override readonly name = 'SteplineError';
  /** An earlier attempt of the call got no answer (or a 503): it may have been committed. */
  ambiguous = false;

  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network_error' | 'aborted' | (string & {}),
    message: string,
    readonly details?: unknown,
    /** Extra fields of the error body, e.g. `activeWorkflowId` on `session_busy`. */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** Worth sending again: the server was unavailable or rate limited us, or no answer came. */
  get retryable(): boolean {
    return this.status === 503 || this.status === 429 || this.code === 'network_error';
  }
}

export function isSteplineError(err: unknown, code?: string): err is SteplineError {
  return err instanceof SteplineError && (code === undefined || err.code === code);
}
