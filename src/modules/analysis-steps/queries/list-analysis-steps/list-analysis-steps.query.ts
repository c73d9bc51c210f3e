import { Query } from '@nestjs/cqrs';
import type { StepStatus } from '../../../workflows';

export interface AnalysisStepView {
  workflowId: string;
  stepId: string;
  type: string;
  status: StepStatus;
  progress: number;
  current: number | null;
  total: number | null;
  startedAt: string | null;
}

/** The project's analysis steps in the given statuses (default: the active ones), newest analysis first. */
export class ListAnalysisStepsQuery extends Query<{ items: AnalysisStepView[] }> {
  constructor(
    readonly projectId: string,
    readonly statuses: StepStatus[],
  ) {
    super();
  }
}
