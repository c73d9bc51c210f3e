import { Logger } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { WorkflowRepository } from '../../../workflows/database/workflow.repository';
import { GAPS_KEY, runDurations, runGapsMs } from '../../eta/eta-estimator';
import { EtaHistory } from '../../eta/eta-history';
import { RunHistoryRepository } from '../../eta/run-history.repository';
import { RecordRunHistoryCommand } from './record-run-history.command';
import { MetricsService } from '../../../metrics/metrics.service';

@CommandHandler(RecordRunHistoryCommand)
export class RecordRunHistoryHandler implements ICommandHandler<RecordRunHistoryCommand, void> {
  constructor(
    private readonly workflows: WorkflowRepository,
    private readonly runs: RunHistoryRepository,
    private readonly etaHistory: EtaHistory,
    private readonly metrics: MetricsService,
  ) {}

  private readonly logger = new Logger('RunHistory');

  /** Best effort, off the request path: a failure loses one run's durations, said in a warning. */
  async execute(c: RecordRunHistoryCommand): Promise<void> {
    try {
      await this.record(c);
    } catch (err) {
      this.logger.warn(`run ${c.workflowId} not recorded: ${(err as Error).message}`);
    }
  }

  private async record(c: RecordRunHistoryCommand): Promise<void> {
    // the committed event names the workflow; its steps' times are in its rows
    const wf = await this.workflows.findById(c.workflowId);
    if (!wf || wf.projectId !== c.projectId || wf.status !== 'completed') return;
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
  }
}
