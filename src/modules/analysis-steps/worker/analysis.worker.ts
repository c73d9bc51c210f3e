import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DomainError } from '../../../common/errors/domain-error';
import { AppConfig } from '../../../config/app.config';
import { MetricsService } from '../../metrics';
import { WorkerRegistry } from '../../queue-monitoring';
import type { WorkerJob } from '../../queue-monitoring';
import { ANALYSIS_QUEUE } from '../analysis.constants';
import { analyzerFor, isAnalysisType, type AnalysisType } from '../analyzers/registry';
import type { AnalysisResults } from '../analyzers/analysis-type';
import { AnalysisPathError, resolveAnalysisPath, type WalkResult } from '../analyzers/walker';
import { AnalysisPool } from './analysis-pool';
import { fitResult } from './fit-result';
import { ProgressCoalescer } from './progress-coalescer';

/** A step's result is at most 256 KiB (§2); larger lists are cut and marked `truncated`. */
const MAX_RESULT_BYTES = 250 * 1024;
/** The cut-short warning names at most this many files in its message (all of them, up to 1000, in details). */
const CUT_NAMED = 20;
const CUT_LISTED = 1000;

function cutSummary(files: readonly string[], budgetMs: number): string {
  const named = files.slice(0, CUT_NAMED).join(', ');
  const more = files.length > CUT_NAMED ? ` and ${files.length - CUT_NAMED} more` : '';
  return (
    `${files.length} file${files.length === 1 ? '' : 's'} cut short (over the ${budgetMs} ms budget per file) ` +
    `and left out of this result: ${named}${more}`
  );
}

function walkSummary(walk: WalkResult): string {
  const s = walk.skipped;
  return (
    `${walk.files.length} files to examine; left out: ${s.ignored} ignored, ${s.symlinks} symlinks (never followed), ` +
    `${s.tooLarge} over 1 MiB` +
    (walk.truncated
      ? `; the walk stopped early (${walk.truncated === 'maxFiles' ? 'file' : 'time'} limit)`
      : '')
  );
}

/**
 * The built-in worker of the `analysis` queue: walks the directory once, then runs each pending step's
 * analyzer in order, reporting files examined as `current`/`total` (coalesced to ~10 writes/s) and storing
 * the result. The job's abort signal (the pool fires it on a cancel, a lost lease or shutdown) or a refused
 * progress write stops the analyzer that runs. The analyzers' per-file work runs on the AnalysisPool's threads,
 * each file within the budget; the files cut short are named in the step's first log line (a warning),
 * before the walk summary that the first step logs once its analyzer is done.
 */
@Injectable()
export class AnalysisWorker implements OnModuleInit {
  private readonly logger = new Logger('AnalysisWorker');

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly pool: AnalysisPool,
  ) {}

  onModuleInit(): void {
    this.registry.register(ANALYSIS_QUEUE, (job) => this.run(job));
    // the language table (file names → languages) is not built here: the walk, on an analysis thread, builds
    // it there on first use and gives each file its language (FileEntry.lang)
  }

  async run(job: WorkerJob): Promise<void> {
    const wf = job.workflow;
    const signal = job.abort.signal;
    let walk: WalkResult | undefined;
    let dir: string | undefined;
    let walkNote: (() => Promise<unknown>) | undefined; // the walk summary, logged once the first step ran
    const results: Partial<AnalysisResults> = {};
    for (const step of wf.steps) {
      if (signal.aborted) return;
      if (step.status !== 'pending' && step.status !== 'running') continue;
      const type = step.id;
      await job.start(step.id);
      const progress = new ProgressCoalescer(
        (current, total) => job.progress(step.id, { current, total }),
        () => job.abort.abort(), // the workflow was cancelled or the lease lost: stop at once
      );
      const cut: string[] = [];
      const notes = async (): Promise<void> => {
        if (cut.length)
          await job.log('warning', cutSummary(cut, this.pool.budgetMs), step.id, {
            cutShort: cut.slice(0, CUT_LISTED),
            count: cut.length,
            budgetMs: this.pool.budgetMs,
          });
        await walkNote?.();
        walkNote = undefined;
      };
      try {
        if (!isAnalysisType(type)) throw new Error(`unknown analysis type ${type}`);
        // checked again here: the tree may have changed since the request was accepted
        dir ??= await resolveAnalysisPath(this.config.analysisRoot, String(wf.metadata.path ?? ''));
        if (!walk) {
          // on a thread, bounded by the walker's file and time limits
          const w = (walk = await this.pool.walk(dir, signal));
          walkNote = () => job.log('info', walkSummary(w), step.id, { ...w.skipped, truncated: w.truncated });
        }
        let examined = 0;
        const result = await analyzerFor(type)
          .analyze({
            dir,
            files: walk.files,
            signal,
            pool: this.pool,
            onCut: (file) => cut.push(file.rel),
            prior: results,
            onProgress: (current, total) => {
              examined = current;
              progress.report(current, total);
            },
          })
          .finally(() => this.metrics.analysisFilesExamined.inc({ type }, examined));
        await progress.flush();
        await notes();
        (results as Record<AnalysisType, unknown>)[type] = result;
        await job.complete(step.id, fitResult(result, MAX_RESULT_BYTES));
      } catch (err) {
        progress.stop();
        // cancelled, lease lost or shutting down: nothing more to write
        if (signal.aborted || this.pool.closing) return;
        this.logger.warn(`analysis ${wf.id} step ${step.id}: ${(err as Error).message}`);
        await notes().catch(() => undefined);
        // the step's error is public (API and events): only messages written for callers go there, never an
        // errno text that could name a path of the server
        const safe = err instanceof AnalysisPathError || err instanceof DomainError;
        await job.fail(step.id, {
          message: safe ? err.message : 'the analysis failed (the server log has the details)',
          code: 'analysis_failed',
        });
        return;
      }
    }
  }
}
