import { Module } from '@nestjs/common';
import { QueueMonitoringModule } from '../queue-monitoring';
import { WorkflowsModule } from '../workflows';
import { StartAnalysisHandler } from './commands/start-analysis/start-analysis.handler';
import { AnalysesController } from './http/analyses.controller';
import { ListAnalysisStepsHandler } from './queries/list-analysis-steps/list-analysis-steps.handler';
import { AnalysisPool } from './worker/analysis-pool';
import { AnalysisWorker } from './worker/analysis.worker';

/** Project analyses (§7): the endpoint, the steps query and the built-in worker of the `analysis` queue. */
@Module({
  imports: [QueueMonitoringModule, WorkflowsModule],
  controllers: [AnalysesController],
  providers: [StartAnalysisHandler, ListAnalysisStepsHandler, AnalysisPool, AnalysisWorker],
})
export class AnalysisStepsModule {}
