import { Module } from '@nestjs/common';
import { EventLogModule } from '../event-log';
import { WorkflowsModule } from '../workflows';
import { DeliveryHub } from './delivery-hub';
import { ProgressGateway } from './progress.gateway';
import { SseController } from './sse.controller';
import { EventsController } from './events.controller';

@Module({
  imports: [EventLogModule, WorkflowsModule],
  controllers: [EventsController, SseController],
  providers: [DeliveryHub, ProgressGateway],
  exports: [DeliveryHub],
})
export class RealtimeModule {}
