import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows/workflows.module';
import { EtaHistoryModule } from '../progress-tracker/eta/eta-history.module';
import { ClaimService } from './claim.service';
import { LeaseReaper } from './lease.reaper';
import { QueuesController } from './http/queues.controller';
import { QueueMonitoringQueries } from './queries/queue-monitoring.queries';
import { HeartbeatHandler } from './commands/heartbeat/heartbeat.handler';
import { ExpireLeaseHandler } from './commands/expire-lease/expire-lease.handler';
import { ReleaseLeaseHandler } from './commands/release-lease/release-lease.handler';
import { WorkerRegistry } from './workers/worker-registry';
import { WorkerPool } from './workers/worker-pool';

@Module({
  imports: [WorkflowsModule, EtaHistoryModule],
  controllers: [QueuesController],
  providers: [
    ClaimService,
    LeaseReaper,
    QueueMonitoringQueries,
    HeartbeatHandler,
    ExpireLeaseHandler,
    ReleaseLeaseHandler,
    WorkerRegistry,
    WorkerPool,
  ],
  exports: [ClaimService, WorkerRegistry],
})
export class QueueMonitoringModule {}
