import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AppConfig } from '../../../../config/app.config';
import { DomainError } from '../../../../common/errors/domain-error';
import { CreateWorkflowCommand } from '../../../workflows';
import type { WorkflowView } from '../../../workflows';
import { AnalysisPathError, resolveAnalysisPath } from '../../analyzers/walker';
import { ANALYSIS_QUEUE, ANALYSIS_STEP_NAMES, ANALYSIS_WORKFLOW_TYPE } from '../../analysis.constants';
import { ANALYSIS_TYPES } from '../../analyzers/registry';
import { StartAnalysisCommand } from './start-analysis.command';

/**
 * Checks the path against ANALYSIS_ROOT (realpath, so `..`, absolute paths and symlinks that lead outside
 * are refused before anything is written) and creates the analysis workflow through the ordinary create
 * path. Steps follow the canonical order whatever order they were asked in, so `recommendations` runs
 * last and reuses the results computed before it.
 */
@CommandHandler(StartAnalysisCommand)
export class StartAnalysisHandler implements ICommandHandler<StartAnalysisCommand, WorkflowView> {
  constructor(
    private readonly commands: CommandBus,
    private readonly config: AppConfig,
  ) {}

  async execute(c: StartAnalysisCommand): Promise<WorkflowView> {
    try {
      await resolveAnalysisPath(this.config.analysisRoot, c.path);
    } catch (err) {
      if (err instanceof AnalysisPathError)
        throw new DomainError('validation_failed', `path: ${err.message}`, [
          { field: 'path', message: err.message },
        ]);
      throw err;
    }
    const requested = new Set(c.types ?? ANALYSIS_TYPES);
    const types = ANALYSIS_TYPES.filter((t) => requested.has(t));
    const { workflow } = await this.commands.execute(
      new CreateWorkflowCommand(c.principal, c.projectId, {
        type: ANALYSIS_WORKFLOW_TYPE,
        name: `Analysis of ${c.path}`,
        steps: types.map((t) => ({ id: t, name: ANALYSIS_STEP_NAMES[t], weight: 1 })),
        queue: ANALYSIS_QUEUE,
        maxAttempts: 3, // an instance that dies mid-analysis leaves it to another worker
        metadata: { path: c.path },
      }),
    );
    return workflow;
  }
}
