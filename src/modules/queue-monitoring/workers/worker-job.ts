import { CommandBus } from '@nestjs/cqrs';
import { Principal } from '../../../common/auth/principal';
import { StartStepCommand } from '../../workflows/commands/start-step/start-step.command';
import { RecordStepProgressCommand } from '../../workflows/commands/record-step-progress/record-step-progress.command';
import { CompleteStepCommand } from '../../workflows/commands/complete-step/complete-step.command';
import { FailStepCommand } from '../../workflows/commands/fail-step/fail-step.command';
import { AppendLogCommand } from '../../workflows/commands/append-log/append-log.command';
import type { ProgressInput } from '../../workflows/domain/workflow.aggregate';
import type { ErrorInfo } from '../../workflows/domain/workflow.types';
import type { WorkflowView } from '../../workflows/http/workflow.view';
import type { Claimed } from '../claim.service';

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
