import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DomainError } from '../../../common/errors/domain-error';
import { AppConfig } from '../../../config/app.config';
import { MetricsService } from '../../metrics';
import { WorkerRegistry } from '../../queue-monitoring';
import type { WorkerJob } from '../../queue-monitoring';
import { ANALYSIS_QUEUE } from '../analysis.constants';
import { analyzerFor, isAnalysisType, type AnalysisType } from '../analyzers/registry';
import type { AnalysisResults } from '../analyzers/analysis-type';
import { AnalysisPathError, resolveAnalysisPath, walkFiles, type WalkResult } from '../analyzers/walker';
import { fitResult } from './fit-result';
import { ProgressCoalescer } from './progress-coalescer';

/** A step's result is at most 256 KiB (§2); larger lists are cut and marked `truncated`. */
const MAX_RESULT_BYTES = 250 * 1024;

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
 * progress write stops the analyzer that runs.
 */
@Injectable()
export class AnalysisWorker implements OnModuleInit {
  private readonly logger = new Logger('AnalysisWorker');

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.registry.register(ANALYSIS_QUEUE, (job) => this.run(job));
  }

  async run(job: WorkerJob): Promise<void> {
    const wf = job.workflow;
    const signal = job.abort.signal;
    let walk: WalkResult | undefined;
    let dir: string | undefined;
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
      try {
        if (!isAnalysisType(type)) throw new Error(`unknown analysis type ${type}`);
        // checked again here: the tree may have changed since the request was accepted
        dir ??= await resolveAnalysisPath(this.config.analysisRoot, String(wf.metadata.path ?? ''));
        if (!walk) {
          walk = await walkFiles(dir, { signal }); // bounded by the walker's file and time limits;
          await job.log('info', walkSummary(walk), step.id, { ...walk.skipped, truncated: walk.truncated });
        }
        let examined = 0;
        const result = await analyzerFor(type)
          .analyze({
            dir,
            files: walk.files,
            signal,
            prior: results,
            onProgress: (current, total) => {
              examined = current;
              progress.report(current, total);
            },
          })
          .finally(() => this.metrics.analysisFilesExamined.inc({ type }, examined));
        await progress.flush();
        (results as Record<AnalysisType, unknown>)[type] = result;
        await job.complete(step.id, fitResult(result, MAX_RESULT_BYTES));
      } catch (err) {
        progress.stop();
        if (signal.aborted) return; // cancelled, lease lost or shutting down: nothing more to write
        this.logger.warn(`analysis ${wf.id} step ${step.id}: ${(err as Error).message}`);
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
