import type { FileWork } from '../analyzers/analyzer';
import { FILE_WORK, warmFileWork } from '../analyzers/file-work';
import { languageOf } from '../analyzers/languages';
import {
  MAX_FILE_BYTES,
  readTextInto,
  walkFiles,
  type FileEntry,
  type WalkResult,
} from '../analyzers/walker';

/**
 * The script of the analysis threads (AnalysisPool, piscina). A walk task lists the analysed directory (the
 * .gitignore rules it applies are regular expressions built from the tree's own files, and a crafted one can
 * take seconds on a deep path). A files task reads each file of a batch and runs the analyzer's per-file work
 * on it. Before each file it writes, to the batch's shared clock, when it started
 * and which file it is on, so that the server can stop the thread (terminate it) once one file overruns its
 * budget. A batch returns early, with the outputs so far, once it has worked for `sliceMs`: a cut then costs
 * at most that much work done again.
 */
export interface WalkTask {
  kind: 'walk';
  dir: string;
}

export interface ThreadTask {
  kind: 'files';
  work: FileWork;
  files: { rel: string; abs: string; size: number; arg: number }[];
  /** BigInt64Array(2): [1 + index of the file being worked on (0: none yet), its start in epoch µs]. */
  clock: SharedArrayBuffer;
  sliceMs: number;
}

/** One output per file worked on, in order (maybe fewer than the batch's files): null = not readable text. */
export interface ThreadResult {
  outputs: ({ v: unknown } | null)[];
}

export const epochMicros = (): bigint =>
  BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

let buf: Buffer | undefined;

export default function run(task: WalkTask | ThreadTask): Promise<WalkResult | ThreadResult> {
  return task.kind === 'walk' ? walkWithLanguages(task.dir) : analyseBatch(task);
}

/** The walk, each file with its language: the table lives on this thread, not on the server's main one. */
async function walkWithLanguages(dir: string): Promise<WalkResult> {
  const walk = await walkFiles(dir);
  for (const f of walk.files) f.lang = languageOf(f.rel) ?? null;
  return walk;
}

async function analyseBatch(task: ThreadTask): Promise<ThreadResult> {
  warmFileWork(task.work);
  const clock = new BigInt64Array(task.clock);
  const work = FILE_WORK[task.work];
  buf ??= Buffer.allocUnsafe(MAX_FILE_BYTES);
  const outputs: ThreadResult['outputs'] = [];
  const t0 = performance.now();
  for (let k = 0; k < task.files.length; k++) {
    if (k > 0 && performance.now() - t0 > task.sliceMs) break;
    // the start first, then the index: whoever sees the new index sees its start
    Atomics.store(clock, 1, epochMicros());
    Atomics.store(clock, 0, BigInt(k + 1));
    const f = task.files[k];
    const file: FileEntry = { rel: f.rel, abs: f.abs, size: f.size };
    const n = await readTextInto(file, buf);
    outputs.push(n < 0 ? null : { v: work(file, buf.subarray(0, n), f.arg) });
  }
  return { outputs };
}
