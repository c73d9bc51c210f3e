import type { FileWork } from './analyzer';
import { importTargets, typescript } from './architecture.analyzer';
import { findMarkers } from './issues.analyzer';
import { manifestOf } from './techstack.analyzer';
import type { FileEntry } from './walker';

/**
 * The per-file work of each analyzer, by name: what an analysis thread runs on a file's content (the
 * analyzers' `compute` runs the same functions when there is no pool). Outputs are plain data (they cross
 * threads by structured clone).
 */
export const FILE_WORK: {
  readonly [W in FileWork]: (file: Pick<FileEntry, 'rel'>, content: Buffer, arg: number) => unknown;
} = {
  issues: (file, content, limit) => findMarkers(file.rel, content, limit),
  techstack: (file, content) => manifestOf(file, content),
  architecture: (file, content) => importTargets(file, content),
};

/** Loads what a work needs before any file's clock starts (the TypeScript compiler: a few hundred ms). */
export function warmFileWork(work: FileWork): void {
  if (work === 'architecture') typescript();
}
