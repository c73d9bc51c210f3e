/** The analysis types in their default order: one workflow step each (CONTRACT §7). */
export const ANALYSIS_TYPES = ['issues', 'techstack', 'architecture', 'recommendations'] as const;

export type AnalysisType = (typeof ANALYSIS_TYPES)[number];

export function isAnalysisType(v: unknown): v is AnalysisType {
  return typeof v === 'string' && (ANALYSIS_TYPES as readonly string[]).includes(v);
}

export type MarkerKind = 'TODO' | 'FIXME' | 'HACK' | 'XXX';

export interface IssueItem {
  file: string;
  line: number;
  kind: MarkerKind;
  text: string;
}
export interface IssuesResult {
  items: IssueItem[];
  /** Every marker found, also those beyond the `items` cap. */
  total: number;
}

export interface LanguageStat {
  name: string;
  files: number;
  bytes: number;
}
export type Ecosystem = 'npm' | 'pypi' | 'go' | 'cargo' | 'maven' | 'rubygems' | 'packagist';
export interface Dependency {
  name: string;
  version: string | null;
}
export interface Manifest {
  file: string;
  ecosystem: Ecosystem;
  dependencies: Dependency[];
}
export interface TechstackResult {
  languages: LanguageStat[];
  manifests: Manifest[];
}

export interface ModuleStat {
  name: string;
  files: number;
}
export interface ModuleEdge {
  from: string;
  to: string;
  imports: number;
}
export interface ArchitectureResult {
  modules: ModuleStat[];
  edges: ModuleEdge[];
  cycles: string[][];
}

export type Severity = 'info' | 'warning' | 'critical';
export interface Recommendation {
  title: string;
  reason: string;
  severity: Severity;
}
export interface RecommendationsResult {
  items: Recommendation[];
}

export interface AnalysisResults {
  issues: IssuesResult;
  techstack: TechstackResult;
  architecture: ArchitectureResult;
  recommendations: RecommendationsResult;
}
export type AnalysisResult<T extends AnalysisType = AnalysisType> = AnalysisResults[T];
