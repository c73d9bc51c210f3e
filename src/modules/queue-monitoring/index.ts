// Queue monitoring's port: the registry where a module offers a handler for a built-in queue.
export { QueueMonitoringModule } from './queue-monitoring.module';
export { WorkerRegistry, type QueueHandler } from './workers/worker-registry';
export type { WorkerJob } from './workers/worker-job';
