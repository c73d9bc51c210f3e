import { Module } from '@nestjs/common';
import { EventLogRepository } from './event-log.repository';
import { EventRetentionService } from './event-retention.service';

@Module({
  providers: [EventLogRepository, EventRetentionService],
  exports: [EventLogRepository, EventRetentionService],
})
export class EventLogModule {}
