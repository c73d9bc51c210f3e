import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows';
import { ClaimService } from './claim.service';
import { QueuesController } from './http/queues.controller';
import { QueueMonitoringQueries } from './queries/queue-monitoring.queries';
import { WorkerRegistry } from './workers/worker-registry';
import { WorkerPool } from './workers/worker-pool';

/** Claims as workers see them (long-poll, heartbeats), worker monitoring, and the built-in worker pool. */
@Module({
  imports: [WorkflowsModule],
  controllers: [QueuesController],
  providers: [ClaimService, QueueMonitoringQueries, WorkerRegistry, WorkerPool],
  exports: [WorkerRegistry],
})
export class QueueMonitoringModule {}
