import type { AnalysisType } from './analyzers/registry';

export const ANALYSIS_QUEUE = 'analysis';
export const ANALYSIS_WORKFLOW_TYPE = 'analysis';

export const ANALYSIS_STEP_NAMES: Record<AnalysisType, string> = {
  issues: 'Issues',
  techstack: 'Tech stack',
  architecture: 'Architecture',
  recommendations: 'Recommendations',
};
