import { DomainError } from '../../../common/errors/domain-error';

export const invalidTransition = (what: string) => new DomainError('invalid_transition', what);
export const stepNotFound = (stepId: string) => new DomainError('not_found', `step ${stepId} not found`);
export const progressRegression = (from: number, to: number) =>
  new DomainError('progress_regression', `progress may not go back from ${from} to ${to}`);
export const workflowConflict = (id: string) =>
  new DomainError('conflict', `workflow ${id} already exists with a different body`);
export const leaseLost = () =>
  new DomainError(
    'lease_lost',
    'the lease token is missing, stale or expired: this worker no longer holds the workflow',
  );
