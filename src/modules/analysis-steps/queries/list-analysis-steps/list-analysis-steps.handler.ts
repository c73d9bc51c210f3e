import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { WorkflowsPort } from '../../../workflows';
import { ANALYSIS_WORKFLOW_TYPE } from '../../analysis.constants';
import { ANALYSIS_TYPES } from '../../analyzers/registry';
import { AnalysisStepView, ListAnalysisStepsQuery } from './list-analysis-steps.query';

const LIMIT = 1000;

@QueryHandler(ListAnalysisStepsQuery)
export class ListAnalysisStepsHandler implements IQueryHandler<ListAnalysisStepsQuery> {
  constructor(private readonly workflows: WorkflowsPort) {}

  async execute(q: ListAnalysisStepsQuery): Promise<{ items: AnalysisStepView[] }> {
    const steps = await this.workflows.stepsOfType(
      q.projectId,
      ANALYSIS_WORKFLOW_TYPE,
      // a workflow created through §2 with type "analysis" may have other steps: they are not analysis steps
      ANALYSIS_TYPES,
      q.statuses,
      LIMIT,
    );
    // each step is one analysis type, and is named after it
    return { items: steps.map(({ stepId, ...s }) => ({ ...s, stepId, type: stepId })) };
  }
}
