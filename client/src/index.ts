export { Stepline, type SteplineOptions, type ListWorkflowsFilter } from './stepline.js';
export { SteplineError, isSteplineError } from './errors.js';
export { WorkflowHandle, StepHandle } from './workflow-handle.js';
export { Worker, type WorkHandler, type WorkOptions, type JobContext, type AbortReason } from './worker.js';
export { type Watch, type WatchOptions, type WatchStatus } from './watcher.js';
export { applyEvent } from './apply-event.js';
export type { RetryOptions } from './transport.js';
export * from './types.js';
