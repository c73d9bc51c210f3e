import { Injectable } from '@nestjs/common';
import type { Principal } from '../../../common/auth/principal';
import { notFound } from '../../../common/errors/domain-error';
import type { Workflow } from '../domain/workflow.aggregate';
import type { WorkflowView } from '../views/workflow.view';
import { QueueWaitEstimator } from '../eta/queue-wait';
import { WorkflowDirectory } from './workflow-directory';
import { OpOutcome, WorkflowUnitOfWork } from './workflow-unit-of-work';

/** The shared shape of every command on one existing workflow: resolve, scope-check, apply, commit. */
@Injectable()
export class WorkflowWriter {
  constructor(
    private readonly directory: WorkflowDirectory,
    private readonly uow: WorkflowUnitOfWork,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  /**
   * `lease`: the X-Lease-Token the request carried — a write to a workflow on a queue must hold its lease
   * (fencing). Pass `null` for writes that need no lease (cancel).
   */
  async apply<R = void>(
    principal: Principal,
    workflowId: string,
    lease: string | undefined | null,
    change: (wf: Workflow, now: number) => R,
    options: { cascade?: boolean } = {},
  ): Promise<OpOutcome<R> & { view: WorkflowView }> {
    const projectId = await this.directory.projectFor(principal, workflowId);
    let changed: Workflow | undefined;
    const outcome = await this.uow.submit(
      {
        projectId,
        workflowIds: [workflowId],
        cascadeFrom: options.cascade ? [workflowId] : undefined,
        run: (ctx) => {
          const wf = ctx.get(workflowId);
          if (!wf) throw notFound(`workflow ${workflowId}`);
          if (lease !== null) wf.assertLease(lease, ctx.now);
          changed = wf;
          return change(wf, ctx.now);
        },
      },
      workflowId,
    );
    // §13: an answer that is a queued workflow on a queue (a requeueing fail) states its wait, as GET does
    await this.queueWait.fillAnswer(changed?.state, outcome.view);
    return outcome as OpOutcome<R> & { view: WorkflowView };
  }
}
