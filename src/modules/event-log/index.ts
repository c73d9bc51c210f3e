// The event log's port: append statements for the write path, replay and retention.
export { EventLogModule } from './event-log.module';
export { EventLogRepository, type EventPage } from './event-log.repository';
export { SeqOrderer, type SeqOrdererOptions } from './seq-orderer';
