import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Piscina } from 'piscina';
import { Gauge } from 'prom-client';
import { AppConfig } from '../../../config/app.config';
import { MetricsService } from '../../metrics';
import { AnalysisAbortedError } from '../analyzers/analysis-errors';
import type { FilePool, FileWork, PoolJob } from '../analyzers/analyzer';
import { DEFAULT_WALK_MS, type WalkResult } from '../analyzers/walker';
import type { ThreadResult, ThreadTask, WalkTask } from './analysis.thread';

/** The thread script, beside this file in dist (the analysis threads run compiled JavaScript). */
export const THREAD_SCRIPT = path.join(__dirname, 'analysis.thread.js');

/** A batch holds at most this many files and bytes; a thread returns it early after SLICE_MS of work. */
const BATCH_FILES = 64;
const BATCH_BYTES = 8 * 1024 * 1024;
const SLICE_MS = 100;
const WALK_GRACE_MS = 30_000;

/** Default threads: WORKER_CONCURRENCY, but leave one core to the event loop (at least one thread). */
export function defaultAnalysisThreads(workerConcurrency: number): number {
  return Math.max(1, Math.min(workerConcurrency, availableParallelism() - 1));
}

const epochMs = (): number => performance.timeOrigin + performance.now();

/**
 * The analysis threads (CONTRACT §10: no input stalls the service): a piscina pool the analyzers hand their
 * per-file work to, so that the event loop only walks directories, merges results and answers requests.
 * Each file costs at most ANALYSIS_FILE_BUDGET_MS: a watchdog on this thread reads each batch's shared clock,
 * and once a file overruns, aborts the batch — piscina terminates that thread (synchronous work such as a
 * regular expression cannot be interrupted any other way) and starts a fresh one; the file is reported cut
 * short, and the rest of the batch is handed out again. A cancel (the job's abort signal) stops every batch
 * of the analysis the same way.
 */
@Injectable()
export class AnalysisPool implements FilePool, OnApplicationShutdown {
  private readonly logger = new Logger('AnalysisPool');
  readonly threads: number;
  readonly budgetMs: number;
  private readonly piscina: Piscina<ThreadTask | WalkTask, ThreadResult | WalkResult>;

  constructor(config: AppConfig, metrics: MetricsService) {
    this.threads = config.analysisThreads ?? defaultAnalysisThreads(config.workerConcurrency);
    this.budgetMs = config.analysisFileBudgetMs;
    this.piscina = new Piscina({
      filename: THREAD_SCRIPT,
      // none while idle: a thread starts with the first analysis and exits ANALYSIS_THREAD_IDLE_MS after its last
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: config.analysisThreadIdleMs,
      // a file that makes a parser allocate without end kills its thread, not the server
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    const piscina = this.piscina;
    new Gauge({
      name: 'stepline_analysis_threads',
      help: 'Analysis threads running now (they exit after ANALYSIS_THREAD_IDLE_MS without work)',
      registers: [metrics.registry],
      collect() {
        this.set(piscina.threads.length);
      },
    });
  }

  /** Set once the server shuts down: a task that fails from then on failed because the threads were stopped. */
  closing = false;

  /**
   * After the WorkerPool's own shutdown hook (its module is imported by this one, so Nest calls it first),
   * which aborts the running jobs and gives their leases back: only then are the threads stopped.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.piscina.destroy();
  }

  /**
   * walkFiles(dir) on a thread. The walk stops itself after DEFAULT_WALK_MS (`truncated`); one that does not
   * (a single .gitignore test can take that long) is stopped WALK_GRACE_MS later, and fails.
   */
  async walk(dir: string, signal?: AbortSignal): Promise<WalkResult> {
    const limit = AbortSignal.timeout(DEFAULT_WALK_MS + WALK_GRACE_MS);
    try {
      return (await this.piscina.run(
        { kind: 'walk', dir },
        { signal: signal ? AbortSignal.any([signal, limit]) : limit },
      )) as WalkResult;
    } catch (err) {
      if (signal?.aborted) throw new AnalysisAbortedError(signal.reason);
      if (limit.aborted)
        throw new Error(`the walk of the directory took over ${DEFAULT_WALK_MS + WALK_GRACE_MS} ms`, {
          cause: err,
        });
      throw err;
    }
  }

  async run(
    work: FileWork,
    next: () => PoolJob | undefined,
    handlers: {
      signal?: AbortSignal;
      onFile(index: number, output: unknown): void;
      onCut(index: number): void;
    },
  ): Promise<void> {
    const stop = new AbortController(); // one batch failed: stop the others
    const signal = handlers.signal ? AbortSignal.any([handlers.signal, stop.signal]) : stop.signal;
    const again: PoolJob[] = []; // handed out once more (after a cut or an early return), before new ones
    const take = (): PoolJob | undefined => again.shift() ?? next();
    const tick = Math.max(5, Math.min(20, Math.floor(this.budgetMs / 4)));

    const runBatch = async (jobs: PoolJob[]): Promise<void> => {
      const clockBuf = new SharedArrayBuffer(16);
      const clock = new BigInt64Array(clockBuf);
      const abort = new AbortController();
      const onAbort = (): void => abort.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      let cut = -1;
      const watchdog = setInterval(() => {
        const started = Number(Atomics.load(clock, 0));
        if (started === 0 || abort.signal.aborted) return;
        const since = Number(Atomics.load(clock, 1)) / 1000;
        if (epochMs() - since >= this.budgetMs) {
          cut = started - 1;
          abort.abort(new Error('file over its time budget'));
        }
      }, tick);
      try {
        const task: ThreadTask = {
          kind: 'files',
          work,
          files: jobs.map((j) => ({ rel: j.file.rel, abs: j.file.abs, size: j.file.size, arg: j.arg })),
          clock: clockBuf,
          sliceMs: SLICE_MS,
        };
        const { outputs } = (await this.piscina.run(task, { signal: abort.signal })) as ThreadResult;
        clearInterval(watchdog);
        if (signal.aborted) throw new AnalysisAbortedError(signal.reason);
        again.unshift(...jobs.slice(outputs.length));
        outputs.forEach((o, k) => handlers.onFile(jobs[k].index, o === null ? undefined : o.v));
      } catch (err) {
        if (signal.aborted) throw new AnalysisAbortedError(signal.reason);
        if (cut < 0) throw err;
        again.unshift(...jobs.filter((_, k) => k !== cut));
        this.logger.warn(
          `analysis: ${jobs[cut].file.rel} took over ${this.budgetMs} ms (${work}): cut short`,
        );
        handlers.onCut(jobs[cut].index);
      } finally {
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
      }
    };

    const inFlight = this.threads * 2;
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const pump = (): void => {
        if (failed) return;
        if (signal.aborted) {
          failed = true;
          reject(new AnalysisAbortedError(signal.reason));
          return;
        }
        while (active < inFlight) {
          const batch: PoolJob[] = [];
          let bytes = 0;
          while (batch.length < BATCH_FILES && bytes < BATCH_BYTES) {
            const job = take();
            if (!job) break;
            batch.push(job);
            bytes += job.file.size;
          }
          if (batch.length === 0) break;
          active++;
          runBatch(batch).then(
            () => {
              active--;
              pump();
            },
            (err: unknown) => {
              active--;
              if (failed) return;
              failed = true;
              stop.abort(err);
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
        }
        if (active === 0 && !failed) resolve();
      };
      pump();
    });
  }
}
