import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { createHash, randomUUID } from 'node:crypto';
import { DomainError, notFound } from '../../../../common/errors/domain-error';
import { WorkflowDirectory } from '../../database/workflow-directory';
import { WorkflowUnitOfWork } from '../../database/workflow-unit-of-work';
import { QueueWaitEstimator } from '../../eta/queue-wait';
import {
  DEFAULT_STALE_AFTER_MS,
  NewWorkflow,
  sessionLockOf,
  Workflow,
} from '../../domain/workflow.aggregate';
import { workflowConflict } from '../../domain/workflow.errors';
import type { WorkflowView } from '../../views/workflow.view';
import { CreateWorkflowCommand } from './create-workflow.command';

/** JSON with sorted keys, so that equal bodies hash equally whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as any)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

@CommandHandler(CreateWorkflowCommand)
export class CreateWorkflowHandler implements ICommandHandler<CreateWorkflowCommand> {
  constructor(
    private readonly uow: WorkflowUnitOfWork,
    private readonly directory: WorkflowDirectory,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  async execute(c: CreateWorkflowCommand): Promise<{ created: boolean; workflow: WorkflowView }> {
    const b = c.body;
    const id = b.id ?? randomUUID();
    // defaults applied before hashing: `{weight: 1}` and no weight are the same request
    const input: Omit<NewWorkflow, 'requestHash'> = {
      id,
      projectId: c.projectId,
      type: b.type,
      name: b.name ?? null,
      steps: b.steps.map((s) => ({ id: s.id, name: s.name ?? s.id, weight: s.weight ?? 1 })),
      queue: b.queue ?? null,
      maxAttempts: b.maxAttempts ?? 1,
      sessionId: b.sessionId ?? null,
      staleAfterMs: b.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
      metadata: b.metadata ?? {},
      parent: b.parent ? { workflowId: b.parent.workflowId, stepId: b.parent.stepId } : null,
    };
    const requestHash = createHash('sha256').update(canonicalJson(input)).digest('hex');
    const lock = input.sessionId ? sessionLockOf(c.projectId, input.sessionId) : undefined;
    /** The workflow answered with: the one made, or the one an idempotent repeat finds. */
    let answered: Workflow | undefined;
    const outcome = await this.uow.submit(
      {
        projectId: c.projectId,
        workflowIds: input.parent ? [id, input.parent.workflowId] : [id],
        // an id generated here cannot exist yet: nothing to load for it
        freshIds: b.id ? undefined : [id],
        sessionLocks: lock ? [lock] : [],
        run: (ctx) => {
          const existing = ctx.get(id);
          if (existing) {
            if (existing.projectId !== c.projectId || existing.requestHash !== requestHash)
              throw workflowConflict(id);
            answered = existing;
            return false;
          }
          const holder = lock ? ctx.sessionHolder(lock) : undefined;
          if (holder)
            throw new DomainError(
              'session_busy',
              `session ${input.sessionId} has an active workflow`,
              undefined,
              {
                activeWorkflowId: holder.id,
              },
            );
          let depth = 0;
          if (input.parent) {
            // a parent in another project is answered like one that does not exist
            const parent = ctx.get(input.parent.workflowId);
            if (!parent || parent.projectId !== c.projectId)
              throw notFound(`workflow ${input.parent.workflowId}`);
            depth = parent.addChild(input.parent.stepId, id, ctx.now);
          }
          answered = Workflow.create({ ...input, depth, requestHash }, ctx.now, ctx.etaHistory(input.type));
          ctx.add(answered);
          return true;
        },
      },
      id,
    );
    this.directory.remember(id, c.projectId);
    // §13: a workflow queued on a queue is answered with its estimated wait, as GET gives it
    await this.queueWait.fillAnswer(answered?.state, outcome.view);
    return { created: outcome.result, workflow: outcome.view! };
  }
}
