import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { WORKER_WINDOW_MS } from './queries/queue-monitoring.queries';

/**
 * Workers not seen for the monitoring window are forgotten: nothing shows them any more, and any producer
 * may name workers, so without this the table only grows.
 */
@Injectable()
export class QueueWorkersSweeper implements OnApplicationShutdown {
  private readonly logger = new Logger('QueueWorkers');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: DbService,
    config: AppConfig,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.forgetWorkers(), config.sweepIntervalMs);
      this.timer.unref();
    });
  }

  /** Returns how many rows went. */
  async forgetWorkers(): Promise<number> {
    if (!this.db.isReady) return 0;
    try {
      const cut = Date.now() - WORKER_WINDOW_MS;
      const rows = await this.db.query('SELECT COUNT(*) AS n FROM queue_workers WHERE last_seen_at < ?', [
        cut,
      ]);
      if (Number(rows[0]?.n ?? 0) === 0) return 0;
      await this.db.query('DELETE FROM queue_workers WHERE last_seen_at < ?', [cut]);
      return Number(rows[0].n);
    } catch (err) {
      this.logger.warn(`forgetting old workers failed: ${(err as Error).message}`);
      return 0;
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
