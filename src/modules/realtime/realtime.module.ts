import { Module } from '@nestjs/common';
import { EventLogModule } from '../event-log';
import { WorkflowsModule } from '../workflows';
import { DeliveryHub } from './delivery-hub';
import { ProgressGateway } from './progress.gateway';
import { SseController } from './sse.controller';

@Module({
  imports: [EventLogModule, WorkflowsModule],
  controllers: [SseController],
  providers: [DeliveryHub, ProgressGateway],
  exports: [DeliveryHub],
})
export class RealtimeModule {}
