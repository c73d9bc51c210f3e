import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { WorkflowView } from '../../../workflows';
import type { AnalysisType } from '../../analyzers/registry';

/** Queues an analysis of a directory under ANALYSIS_ROOT: one workflow, one step per analysis type. */
export class StartAnalysisCommand extends Command<WorkflowView> {
  constructor(
    readonly principal: Principal,
    readonly projectId: string,
    readonly path: string,
    readonly types: readonly AnalysisType[] | undefined,
  ) {
    super();
  }
}
