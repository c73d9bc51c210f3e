import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows';
import { ClaimService } from './claim.service';
import { QueueWorkersSweeper } from './queue-workers.sweeper';
import { QueuesController } from './http/queues.controller';
import { QueueMonitoringQueries } from './queries/queue-monitoring.queries';
import { WorkerRegistry } from './workers/worker-registry';
import { WorkerPool } from './workers/worker-pool';

/** Claims as workers see them (long-poll, heartbeats), worker monitoring, and the built-in worker pool. */
@Module({
  imports: [WorkflowsModule],
  controllers: [QueuesController],
  providers: [ClaimService, QueueMonitoringQueries, QueueWorkersSweeper, WorkerRegistry, WorkerPool],
  exports: [WorkerRegistry],
})
export class QueueMonitoringModule {}
