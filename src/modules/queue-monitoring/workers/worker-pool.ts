import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus, EventBus } from '@nestjs/cqrs';
import type { Subscription } from 'rxjs';
import { EventBridge } from '../../cluster';
import { WorkflowCancelledEvent } from '../../../common/events/committed-events';
import { AppConfig } from '../../../config/app.config';
import { DbService } from '../../../database/db.service';
import { DomainError } from '../../../common/errors/domain-error';
import { ClaimService } from '../claim.service';
import { ReleaseLeaseCommand } from '../../workflows';
import { WORKER_POOL_PRINCIPAL, WorkerJob } from './worker-job';
import { WorkerRegistry } from './worker-registry';

const LEASE_MS = 30_000;
const WAIT_MS = 2_000;

/**
 * WORKER_CONCURRENCY in-process workers for the built-in queues. They claim, heartbeat and write through
 * the same claim service and commands as external workers, so the same leases and fencing hold. A cancel of
 * a workflow a worker holds (committed here or, with REDIS_URL, on another instance) aborts its job at once;
 * a lost lease aborts it at the next heartbeat. On shutdown they stop claiming and give back their leases.
 */
@Injectable()
export class WorkerPool implements OnApplicationShutdown {
  private readonly logger = new Logger('WorkerPool');
  private stopping = false;
  private readonly active = new Map<string, WorkerJob>();
  private readonly cancels: Subscription;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly claims: ClaimService,
    private readonly commands: CommandBus,
    private readonly config: AppConfig,
    db: DbService,
    events: EventBus,
    bridge: EventBridge,
  ) {
    db.whenReady(() => this.start());
    this.cancels = events.subscribe((e) => {
      if (e instanceof WorkflowCancelledEvent) this.abort(e.envelope.workflowId);
    });
    bridge.onRemote((envs) => {
      for (const e of envs) if (e.type === 'workflow:cancelled') this.abort(e.workflowId);
    });
  }

  private abort(workflowId: string | null | undefined): void {
    if (workflowId) this.active.get(workflowId)?.abort.abort();
  }

  private start(): void {
    if (this.registry.queues().length === 0) return;
    for (let i = 0; i < this.config.workerConcurrency; i++)
      this.loops.push(this.loop(`stepline-${process.pid}-${i}`));
  }

  private async loop(workerId: string): Promise<void> {
    let turn = 0;
    while (!this.stopping) {
      const queues = this.registry.queues();
      const queue = queues[turn++ % queues.length];
      try {
        const claimed = await this.claims.claim(WORKER_POOL_PRINCIPAL, queue, workerId, LEASE_MS, WAIT_MS);
        if (claimed && !this.stopping) await this.run(queue, new WorkerJob(this.commands, claimed));
      } catch (err) {
        this.logger.warn(`${workerId}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async run(queue: string, job: WorkerJob): Promise<void> {
    this.active.set(job.workflow.id, job);
    const beat = setInterval(() => {
      this.claims
        .heartbeat(WORKER_POOL_PRINCIPAL, job.workflow.id, job.claimed.leaseToken, LEASE_MS)
        .catch(() => job.abort.abort()); // lease lost or workflow cancelled: stop working on it
    }, LEASE_MS / 3);
    try {
      await this.registry.get(queue)!(job);
    } catch (err) {
      if (!(err instanceof DomainError) || !['invalid_transition', 'lease_lost'].includes(err.code))
        this.logger.warn(`job ${job.workflow.id} failed: ${(err as Error).message}`);
    } finally {
      clearInterval(beat);
      this.active.delete(job.workflow.id);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.cancels.unsubscribe();
    for (const job of this.active.values()) {
      job.abort.abort();
      await this.commands
        .execute(new ReleaseLeaseCommand(WORKER_POOL_PRINCIPAL, job.workflow.id, job.claimed.leaseToken))
        .catch(() => undefined);
    }
  }
}
