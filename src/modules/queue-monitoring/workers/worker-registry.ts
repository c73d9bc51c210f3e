import { Injectable } from '@nestjs/common';
import type { WorkerJob } from './worker-job';

/** Runs one claimed workflow to its end through the job's methods (the same commands external workers use). */
export type QueueHandler = (job: WorkerJob) => Promise<void>;

/** Built-in queues and their handlers, registered in one place by the modules that own them. */
@Injectable()
export class WorkerRegistry {
  private readonly handlers = new Map<string, QueueHandler>();

  register(queue: string, handler: QueueHandler): void {
    this.handlers.set(queue, handler);
  }

  queues(): string[] {
    return [...this.handlers.keys()];
  }

  get(queue: string): QueueHandler | undefined {
    return this.handlers.get(queue);
  }
}
