/**
 * The analysed path is not acceptable: absolute, has a `..` segment, leads outside ANALYSIS_ROOT (also through a
 * symlink), does not exist or is not a directory. Callers answer `400 validation_failed` with
 * `details: [{ field: this.field, message: this.message }]`. Messages never name absolute paths.
 */
export class AnalysisPathError extends Error {
  override readonly name = 'AnalysisPathError';
  readonly field = 'path';
}

/** Thrown by walkers and analyzers once their AbortSignal fires; `cause` holds the signal's reason. */
export class AnalysisAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor(reason?: unknown) {
    super('analysis aborted', { cause: reason });
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AnalysisAbortedError(signal.reason);
}
