import { Module } from '@nestjs/common';
import { EventLogModule } from '../event-log';
import { AllowedHostsProvider } from './allowed-hosts.provider';
import { SecretBoxProvider } from './secret-box.provider';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [EventLogModule],
  controllers: [WebhooksController],
  providers: [
    WebhooksRepository,
    SecretBoxProvider,
    AllowedHostsProvider,
    WebhookDeliveryService,
    WebhooksService,
  ],
})
export class WebhooksModule {}
