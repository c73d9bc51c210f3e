import { CommandBus } from '@nestjs/cqrs';
import { Principal } from '../../../common/auth/principal';
import {
  AppendLogCommand,
  CompleteStepCommand,
  FailStepCommand,
  RecordStepProgressCommand,
  StartStepCommand,
  type Claimed,
  type ErrorInfo,
  type ProgressInput,
  type WorkflowView,
} from '../../workflows';

/** The in-process workers act with this identity, through exactly the commands an HTTP worker reaches. */
export const WORKER_POOL_PRINCIPAL = new Principal('internal:worker-pool', 'admin', ['*']);

/** A claimed workflow in the hands of a built-in worker; every write carries the lease token (fencing). */
export class WorkerJob {
  readonly abort = new AbortController();

  constructor(
    private readonly commands: CommandBus,
    readonly claimed: Claimed,
  ) {}

  get workflow(): WorkflowView {
    return this.claimed.workflow;
  }

  private get id(): string {
    return this.claimed.workflow.id;
  }

  private get lease(): string {
    return this.claimed.leaseToken;
  }

  start(stepId: string, message?: string) {
    return this.commands.execute(
      new StartStepCommand(WORKER_POOL_PRINCIPAL, this.id, stepId, message, this.lease),
    );
  }

  progress(stepId: string, input: ProgressInput) {
    return this.commands.execute(
      new RecordStepProgressCommand(WORKER_POOL_PRINCIPAL, this.id, stepId, input, this.lease),
    );
  }

  complete(stepId: string, result?: unknown, message?: string) {
    return this.commands.execute(
      new CompleteStepCommand(WORKER_POOL_PRINCIPAL, this.id, stepId, result, message, this.lease),
    );
  }

  fail(stepId: string, error: ErrorInfo, retryable = false) {
    return this.commands.execute(
      new FailStepCommand(WORKER_POOL_PRINCIPAL, this.id, stepId, error, retryable, this.lease),
    );
  }

  log(
    level: 'debug' | 'info' | 'success' | 'warning' | 'error',
    message: string,
    stepId?: string,
    details?: unknown,
  ) {
    return this.commands.execute(
      new AppendLogCommand(WORKER_POOL_PRINCIPAL, this.id, { level, message, stepId, details }, this.lease),
    );
  }
}
