// Webhooks' port: the module (CONTRACT §15). Nothing else of it is used from outside.
export { WebhooksModule } from './webhooks.module';
