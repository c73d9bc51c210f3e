import { Command } from '@nestjs/cqrs';

export interface AnalysisAccepted {
  messageId: string;
  workflowId: string;
  status: 'pending';
}

/** A question for a session: one analysis at a time per session. */
export class SubmitAnalysisCommand extends Command<AnalysisAccepted> {
  constructor(
    readonly projectId: string,
    readonly sessionId: string,
    readonly question: string,
  ) {
    super();
  }
}
