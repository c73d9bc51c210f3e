import { setImmediate as nextTurn } from 'node:timers/promises';
import { throwIfAborted } from './analysis-errors';
import type { AnalysisResults, AnalysisType } from './analysis-type';
import { MAX_FILE_BYTES, readTextInto, type FileEntry } from './walker';

/** Results other steps of the same analysis already produced; recommendations computes what is missing. */
export type PriorResults = Partial<Pick<AnalysisResults, 'issues' | 'techstack' | 'architecture'>>;

/** The per-file work of an analyzer, by name, so that a thread can run it (file-work.ts). */
export type FileWork = 'issues' | 'techstack' | 'architecture';

/** One file handed to a FilePool: its place in `files`, and the argument of the work for it. */
export interface PoolJob {
  readonly index: number;
  readonly file: FileEntry;
  readonly arg: number;
}

/**
 * Runs per-file work off the calling thread (the server's analysis threads), each file within a time budget.
 * `next` is called as threads free up, so that an argument can depend on the results so far; it returns
 * undefined once there is nothing more. Per job, exactly one of `onFile` (the work's output, or undefined
 * when the file is not readable text) or `onCut` (the file overran the budget: it was stopped and has no
 * output) is called. Rejects with AnalysisAbortedError once `signal` fires, after stopping what runs.
 */
export interface FilePool {
  run(
    work: FileWork,
    next: () => PoolJob | undefined,
    handlers: {
      signal?: AbortSignal;
      onFile(index: number, output: unknown): void;
      onCut(index: number): void;
    },
  ): Promise<void>;
}

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
  /** Where the per-file work runs; without one it runs here, on the calling thread (unit specs). */
  readonly pool?: FilePool;
  /** Called for each file the pool cut short (over its time budget): it is left out of the result. */
  readonly onCut?: (file: FileEntry) => void;
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

export interface FileVisitor<O> {
  /** Called for every file, in order of `files`; returns whether its content is wanted. */
  visit(file: FileEntry, index: number): boolean;
  /** The name of the per-file work (what a pool thread runs: FILE_WORK in file-work.ts). */
  readonly work: FileWork;
  /** The argument of the work for a wanted file, asked for just before it is handed out (default 0). */
  arg?(index: number): number;
  /**
   * The same work as FILE_WORK[work], run on this thread when there is no pool: called for each wanted file
   * that is readable text (binaries — a NUL in the first 8 KiB — are left out). `content` is a view of a
   * reused buffer, valid only during the call.
   */
  compute(file: FileEntry, content: Buffer, arg: number): O;
  /** The work's output for a wanted text file (not called for a file cut short). */
  result?(file: FileEntry, output: O, index: number): void;
  /** Called once a file is finished with (after `result`, if that ran; also for a file cut short). */
  done?(file: FileEntry, index: number): void;
}

/**
 * Runs `visitor` over `files`, reporting progress after each file and stopping (AnalysisAbortedError) as soon
 * as the signal fires. With `ctx.pool` the wanted files are read and worked on by the pool's threads (each
 * within its time budget; one cut short is reported to `ctx.onCut`); without, here, with READ_CONCURRENCY
 * reads in flight.
 */
export async function forEachFile<O>(
  files: readonly FileEntry[],
  ctx: Pick<AnalysisContext, 'signal' | 'onProgress' | 'pool' | 'onCut'>,
  visitor: FileVisitor<O>,
): Promise<void> {
  const total = files.length;
  const { signal, onProgress } = ctx;
  let next = 0;
  let done = 0;
  let sliceStart = performance.now();
  throwIfAborted(signal);
  if (total > 0) onProgress?.(0, total);

  if (ctx.pool) {
    const wanted: number[] = [];
    for (let i = 0; i < total; i++) {
      if (visitor.visit(files[i], i)) wanted.push(i);
      else {
        visitor.done?.(files[i], i);
        onProgress?.(++done, total);
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await nextTurn();
        throwIfAborted(signal);
        sliceStart = performance.now();
      }
    }
    let k = 0;
    await ctx.pool.run(
      visitor.work,
      () => {
        if (k >= wanted.length) return undefined;
        const index = wanted[k++];
        return { index, file: files[index], arg: visitor.arg?.(index) ?? 0 };
      },
      {
        signal,
        onFile: (i, output) => {
          if (output !== undefined) visitor.result?.(files[i], output as O, i);
          visitor.done?.(files[i], i);
          onProgress?.(++done, total);
        },
        onCut: (i) => {
          ctx.onCut?.(files[i]);
          visitor.done?.(files[i], i);
          onProgress?.(++done, total);
        },
      },
    );
    throwIfAborted(signal);
    return;
  }

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
        if (n >= 0) {
          const output = visitor.compute(file, buf.subarray(0, n), visitor.arg?.(i) ?? 0);
          if (output !== undefined) visitor.result?.(file, output, i);
        }
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
