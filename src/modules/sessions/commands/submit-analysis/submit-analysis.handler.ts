import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../../../../common/errors/domain-error';
import { sessionLockOf, Workflow, WorkflowsPort } from '../../../workflows';
import { AnalysisAccepted, SubmitAnalysisCommand } from './submit-analysis.command';

export const SESSION_ANALYSIS_QUEUE = 'session-analysis';
export const SESSION_ANALYSIS_TYPE = 'session-analysis';
export const MESSAGE_COLUMNS = [
  'id',
  'project_id',
  'session_id',
  'type',
  'content',
  'workflow_id',
  'created_at',
] as const;

/**
 * Records the user message and the analysis message and enqueues the session-analysis workflow, all in one
 * commit. The session lock (a unique column on the workflow) is taken in that same commit, so of N
 * simultaneous submissions exactly one is accepted; the others learn which message is in progress.
 */
@CommandHandler(SubmitAnalysisCommand)
export class SubmitAnalysisHandler implements ICommandHandler<SubmitAnalysisCommand, AnalysisAccepted> {
  constructor(private readonly workflows: WorkflowsPort) {}

  async execute(c: SubmitAnalysisCommand): Promise<AnalysisAccepted> {
    const workflowId = randomUUID();
    const messageId = randomUUID();
    const userMessageId = randomUUID();
    const lock = sessionLockOf(c.projectId, c.sessionId);
    await this.workflows.transact(
      {
        projectId: c.projectId,
        workflowIds: [workflowId],
        sessionLocks: [lock],
        run: (ctx) => {
          const holder = ctx.sessionHolder(lock);
          if (holder) {
            const activeMessageId = (holder.state.metadata.messageId as string | undefined) ?? null;
            throw new DomainError(
              'analysis_in_progress',
              `session ${c.sessionId} already has an analysis in progress`,
              undefined,
              {
                activeMessageId,
              },
            );
          }
          const wf = Workflow.create(
            {
              id: workflowId,
              projectId: c.projectId,
              type: SESSION_ANALYSIS_TYPE,
              name: 'Session analysis',
              steps: [
                { id: 'context', name: 'Context', weight: 1 },
                { id: 'analyze', name: 'Analyze', weight: 1 },
                { id: 'generate', name: 'Generate', weight: 1 },
              ],
              queue: SESSION_ANALYSIS_QUEUE,
              maxAttempts: 3, // a crashed answering service gets two more tries
              sessionId: c.sessionId,
              metadata: { messageId, userMessageId },
              requestHash: createHash('sha256').update(workflowId).digest('hex'),
            },
            ctx.now,
            ctx.etaHistory(SESSION_ANALYSIS_TYPE),
          );
          ctx.add(wf);
          ctx.insertRow('session_messages', MESSAGE_COLUMNS, [
            userMessageId,
            c.projectId,
            c.sessionId,
            'user',
            c.question,
            workflowId,
            ctx.now,
          ]);
          ctx.insertRow('session_messages', MESSAGE_COLUMNS, [
            messageId,
            c.projectId,
            c.sessionId,
            'analysis',
            null,
            workflowId,
            ctx.now,
          ]);
        },
      },
      [workflowId],
    );
    return { messageId, workflowId, status: 'pending' };
  }
}
