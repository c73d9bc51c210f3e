import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { AppConfig } from '../../../config/app.config';
import { DbService } from '../../../database/db.service';
import { DomainError } from '../../../common/errors/domain-error';
import { ClaimService } from '../claim.service';
import { HeartbeatCommand } from '../commands/heartbeat/heartbeat.command';
import { ReleaseLeaseCommand } from '../commands/release-lease/release-lease.command';
import { WORKER_POOL_PRINCIPAL, WorkerJob } from './worker-job';
import { WorkerRegistry } from './worker-registry';

const LEASE_MS = 30_000;
const WAIT_MS = 2_000;

/**
 * WORKER_CONCURRENCY in-process workers for the built-in queues. They claim, heartbeat and write through
 * the same claim service and commands as external workers, so the same leases and fencing hold. On
 * shutdown they stop claiming and give back the leases they hold.
 */
@Injectable()
export class WorkerPool implements OnApplicationShutdown {
  private readonly logger = new Logger('WorkerPool');
  private stopping = false;
  private readonly active = new Set<WorkerJob>();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly claims: ClaimService,
    private readonly commands: CommandBus,
    private readonly config: AppConfig,
    db: DbService,
  ) {
    db.whenReady(() => this.start());
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
    this.active.add(job);
    const beat = setInterval(() => {
      this.commands
        .execute(
          new HeartbeatCommand(WORKER_POOL_PRINCIPAL, job.workflow.id, job.claimed.leaseToken, LEASE_MS),
        )
        .catch(() => job.abort.abort()); // lease lost or workflow cancelled: stop working on it
    }, LEASE_MS / 3);
    try {
      await this.registry.get(queue)!(job);
    } catch (err) {
      if (!(err instanceof DomainError) || !['invalid_transition', 'lease_lost'].includes(err.code))
        this.logger.warn(`job ${job.workflow.id} failed: ${(err as Error).message}`);
    } finally {
      clearInterval(beat);
      this.active.delete(job);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const job of this.active) {
      job.abort.abort();
      await this.commands
        .execute(new ReleaseLeaseCommand(WORKER_POOL_PRINCIPAL, job.workflow.id, job.claimed.leaseToken))
        .catch(() => undefined);
    }
  }
}
