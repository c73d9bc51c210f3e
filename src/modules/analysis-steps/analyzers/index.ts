export * from './analysis-errors';
export * from './analysis-type';
export {
  compare,
  forEachFile,
  READ_CONCURRENCY,
  type AnalysisContext,
  type AnalysisLimits,
  type Analyzer,
  type FileVisitor,
  type PriorResults,
} from './analyzer';
export { ANALYZERS, analyzerFor, warmAnalyzers } from './registry';
export {
  DEFAULT_MAX_FILES,
  DEFAULT_WALK_MS,
  MAX_FILE_BYTES,
  resolveAnalysisPath,
  SKIPPED_DIRS,
  walkFiles,
  type FileEntry,
  type WalkOptions,
  type WalkResult,
} from './walker';
