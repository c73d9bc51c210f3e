import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { DbService } from '../../../database/db.service';
import { ClusterBus } from '../../cluster';
import { MetricsService } from '../../metrics';
import { MarkStepSlowCommand } from '../commands/mark-step-slow/mark-step-slow.command';
import { RunHistoryRepository } from './run-history.repository';

/** How often running steps are compared with their thresholds: §13 wants the event within 2 s. */
export const SLOW_SWEEP_MS = 500;
/** The sweep's lease (REDIS_URL): another instance takes over this long after the holder stops. */
const LEASE_MS = 3000;
const BATCH = 500;

/**
 * §13 slow steps: every SLOW_SWEEP_MS, the running steps past their type's threshold (the database
 * compares, see RunHistoryRepository.overdueSteps) each get a MarkStepSlowCommand. With REDIS_URL one
 * instance sweeps (a Redis lease); that only saves work — the once-only guarantee is the marker the
 * command commits with the event, so two sweeps at once still record one event per step and attempt.
 */
@Injectable()
export class SlowStepSweeper implements OnApplicationShutdown {
  private readonly logger = new Logger('SlowSteps');
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly db: DbService,
    private readonly runs: RunHistoryRepository,
    private readonly commands: CommandBus,
    private readonly cluster: ClusterBus,
    private readonly metrics: MetricsService,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.sweep(), SLOW_SWEEP_MS);
      this.timer.unref();
    });
  }

  /** One sweep; resolves with the number of slow events recorded. */
  async sweep(now = Date.now()): Promise<number> {
    if (this.running || !this.db.isReady) return 0;
    this.running = true;
    let recorded = 0;
    try {
      if (!(await this.cluster.holdLease('slow-steps', LEASE_MS))) return 0;
      const cpu = process.cpuUsage();
      const overdue = await this.runs.overdueSteps(now, BATCH);
      // together: the unit of work groups the marks of one project into one commit, so many newly slow
      // steps still land within §13's 2 s
      const done = await Promise.all(
        overdue.map((o) =>
          this.commands.execute(
            new MarkStepSlowCommand(o.projectId, o.workflowId, o.stepId, o.attempt, o.thresholdMs),
          ),
        ),
      );
      recorded = done.filter(Boolean).length;
      this.metrics.slowSteps.inc(recorded);
      const used = process.cpuUsage(cpu);
      this.metrics.slowSweeps.inc();
      this.metrics.slowSweepCpu.inc((used.user + used.system) / 1e6);
    } catch (err) {
      this.logger.warn(`sweep failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
    return recorded;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
