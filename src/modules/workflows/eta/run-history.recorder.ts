import { Injectable, Logger } from '@nestjs/common';
import { WorkflowRepository } from '../database/workflow.repository';
import { MetricsService } from '../../metrics';
import { GAPS_KEY, runDurations, runGapsMs } from '../domain/eta-estimator';
import { EtaHistory } from './eta-history';
import { RunHistoryRepository } from './run-history.repository';

/** Records a completed workflow's step durations as ETA history of its (project, type). */
@Injectable()
export class RunHistoryRecorder {
  private readonly logger = new Logger('RunHistory');

  constructor(
    private readonly workflows: WorkflowRepository,
    private readonly runs: RunHistoryRepository,
    private readonly etaHistory: EtaHistory,
    private readonly metrics: MetricsService,
  ) {}

  /** Best effort, off the request path: a failure loses one run's durations, said in a warning. */
  async record(projectId: string, workflowId: string): Promise<void> {
    try {
      // the committed event names the workflow; its steps' times are in its rows
      const wf = await this.workflows.findById(workflowId);
      if (!wf || wf.projectId !== projectId || wf.status !== 'completed') return;
      // §13: how far the history estimate at 50 % was from what the rest really took (this runs once per
      // completion: on the instance that committed it)
      const { halfAt, halfEstimateMs, finishedAt } = wf.state;
      if (halfAt !== null && halfEstimateMs !== null && finishedAt !== null && finishedAt > halfAt) {
        const real = finishedAt - halfAt;
        this.metrics.etaErrorRatio.observe(Math.abs(halfEstimateMs - real) / real);
      }
      const durations = runDurations(wf.state.steps);
      if (Object.keys(durations).length === 0) return; // every step skipped: nothing to learn
      const gaps = runGapsMs(wf.state, durations);
      if (gaps !== undefined) durations[GAPS_KEY] = gaps;
      await this.runs.record({
        workflowId: wf.id,
        projectId: wf.projectId,
        type: wf.type,
        finishedAt: wf.state.finishedAt ?? Date.now(),
        durations,
      });
      await this.etaHistory.recorded(wf.projectId);
    } catch (err) {
      this.logger.warn(`run ${workflowId} not recorded: ${(err as Error).message}`);
    }
  }
}
