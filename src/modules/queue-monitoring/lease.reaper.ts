import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { WORKER_WINDOW_MS } from './queries/queue-monitoring.queries';
import { ExpireLeaseCommand } from './commands/expire-lease/expire-lease.command';

export const LEASE_SWEEP_MS = 500;

/**
 * Requeues (or fails) workflows whose lease expired. It only finds candidates; the command re-checks in
 * the write transaction, so several instances can sweep at once and a heartbeat that lands first wins.
 */
@Injectable()
export class LeaseReaper implements OnApplicationShutdown {
  private readonly logger = new Logger('LeaseReaper');
  private timer?: NodeJS.Timeout;
  private running = false;

  private workersTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: DbService,
    private readonly commands: CommandBus,
    config: AppConfig,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.sweep(), LEASE_SWEEP_MS);
      this.timer.unref();
      this.workersTimer = setInterval(() => void this.forgetWorkers(), config.sweepIntervalMs);
      this.workersTimer.unref();
    });
  }

  /**
   * Workers not seen for the monitoring window are forgotten: nothing shows them any more, and any producer
   * may name workers, so without this the table only grows. Returns how many rows went.
   */
  async forgetWorkers(): Promise<number> {
    if (!this.db.isReady) return 0;
    try {
      const rows = await this.db.query('SELECT COUNT(*) AS n FROM queue_workers WHERE last_seen_at < ?', [
        Date.now() - WORKER_WINDOW_MS,
      ]);
      if (Number(rows[0]?.n ?? 0) === 0) return 0;
      await this.db.query('DELETE FROM queue_workers WHERE last_seen_at < ?', [
        Date.now() - WORKER_WINDOW_MS,
      ]);
      return Number(rows[0].n);
    } catch (err) {
      this.logger.warn(`forgetting old workers failed: ${(err as Error).message}`);
      return 0;
    }
  }

  async sweep(): Promise<number> {
    if (this.running || !this.db.isReady) return 0;
    this.running = true;
    let n = 0;
    try {
      const rows = await this.db.query(
        'SELECT id, project_id FROM workflows WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT 500',
        [Date.now()],
      );
      for (const r of rows) if (await this.commands.execute(new ExpireLeaseCommand(r.project_id, r.id))) n++;
    } catch (err) {
      this.logger.warn(`sweep failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
    return n;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.workersTimer) clearInterval(this.workersTimer);
  }
}
