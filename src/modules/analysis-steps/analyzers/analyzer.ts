import { setImmediate as nextTurn } from 'node:timers/promises';
import { throwIfAborted } from './analysis-errors';
import type { AnalysisResults, AnalysisType } from './analysis-type';
import { MAX_FILE_BYTES, readTextInto, type FileEntry } from './walker';

/** Results other steps of the same analysis already produced; recommendations computes what is missing. */
export type PriorResults = Partial<Pick<AnalysisResults, 'issues' | 'techstack' | 'architecture'>>;

export interface AnalysisLimits {
  /** `issues.items` holds at most this many markers (`total` still counts all). Default 1000. */
  maxIssueItems?: number;
}

export interface AnalysisContext {
  /** Real path of the analysed directory (resolveAnalysisPath). */
  readonly dir: string;
  /** The files to examine (walkFiles), sorted by `rel`. */
  readonly files: readonly FileEntry[];
  /** Once it fires the analyzer rejects with AnalysisAbortedError, after at most one file per reader in flight. */
  readonly signal?: AbortSignal;
  /**
   * Called with (0, total) first, then after each examined file; total = files.length (recommendations: see
   * there). Never called when there are no files. Cheap to call often.
   */
  readonly onProgress?: (current: number, total: number) => void;
  readonly prior?: PriorResults;
  readonly limits?: AnalysisLimits;
}

/** One analysis type: a pure function of the files it is given (reads only those, never follows symlinks). */
export interface Analyzer<T extends AnalysisType = AnalysisType> {
  readonly type: T;
  analyze(ctx: AnalysisContext): Promise<AnalysisResults[T]>;
}

/** Code-unit order, the same on every machine (localeCompare is not). */
export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** How many files are read at once; each reader owns one MAX_FILE_BYTES buffer. */
export const READ_CONCURRENCY = 16;
/** Longest stretch of synchronous work before yielding to the event loop. */
const SLICE_MS = 10;

export interface FileVisitor {
  /** Called for every file, in order of `files`; returns whether its content is wanted. */
  visit(file: FileEntry, index: number): boolean;
  /**
   * Called for each wanted file that is readable text (binaries — a NUL in the first 8 KiB — are left out).
   * `content` is a view of a reused buffer: valid only during the call.
   */
  text?(file: FileEntry, content: Buffer, index: number): void;
  /** Called once a file is finished with (after `text`, if that ran). */
  done?(file: FileEntry, index: number): void;
}

/**
 * Runs `visitor` over `files` with READ_CONCURRENCY reads in flight, reporting progress after each file and
 * stopping (AnalysisAbortedError) as soon as the signal fires.
 */
export async function forEachFile(
  files: readonly FileEntry[],
  ctx: Pick<AnalysisContext, 'signal' | 'onProgress'>,
  visitor: FileVisitor,
): Promise<void> {
  const total = files.length;
  const { signal, onProgress } = ctx;
  let next = 0;
  let done = 0;
  let sliceStart = performance.now();
  throwIfAborted(signal);
  if (total > 0) onProgress?.(0, total);

  const worker = async (): Promise<void> => {
    let buf: Buffer | undefined;
    while (next < total) {
      throwIfAborted(signal);
      const i = next++;
      const file = files[i];
      if (visitor.visit(file, i)) {
        buf ??= Buffer.allocUnsafe(MAX_FILE_BYTES);
        const n = await readTextInto(file, buf);
        throwIfAborted(signal);
        if (n >= 0) visitor.text?.(file, buf.subarray(0, n), i);
        sliceStart = performance.now();
      } else if (performance.now() - sliceStart > SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
      visitor.done?.(file, i);
      onProgress?.(++done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, Math.max(1, total)) }, worker));
  throwIfAborted(signal);
}
