import { ANALYSIS_TYPES, isAnalysisType, type AnalysisType } from './analysis-type';
import type { Analyzer } from './analyzer';
import { ArchitectureAnalyzer, typescript } from './architecture.analyzer';
import { IssuesAnalyzer } from './issues.analyzer';
import { languageTable } from './languages';
import { RecommendationsAnalyzer } from './recommendations.analyzer';
import { TechstackAnalyzer } from './techstack.analyzer';

export { ANALYSIS_TYPES, isAnalysisType, type AnalysisType };

const issues = new IssuesAnalyzer();
const techstack = new TechstackAnalyzer();
const architecture = new ArchitectureAnalyzer();

/** The one place that maps an analysis type to its analyzer. */
export const ANALYZERS: { readonly [T in AnalysisType]: Analyzer<T> } = {
  issues,
  techstack,
  architecture,
  recommendations: new RecommendationsAnalyzer({ issues, techstack, architecture }),
};

export function analyzerFor<T extends AnalysisType>(type: T): Analyzer<T> {
  return ANALYZERS[type];
}

/**
 * Optional: loads the language table and the TypeScript compiler now (about 60 MB and a few hundred ms of
 * synchronous work) instead of inside the first techstack / architecture step.
 */
export function warmAnalyzers(): void {
  languageTable();
  typescript();
}
