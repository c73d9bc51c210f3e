import { Command } from '@nestjs/cqrs';

/**
 * From the slow-step sweep (§13): a running step passed its type's slow threshold. Re-checked inside the
 * write transaction (still running, same attempt, not yet reported), so a detection by two instances at
 * once records one `workflow:step:slow`. Resolves with whether it recorded one.
 */
export class MarkStepSlowCommand extends Command<boolean> {
  constructor(
    readonly projectId: string,
    readonly workflowId: string,
    readonly stepId: string,
    readonly attempt: number,
    readonly expectedMs: number,
  ) {
    super();
  }
}
