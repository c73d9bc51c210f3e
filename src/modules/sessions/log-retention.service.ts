import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';

const TERMINAL = "('completed', 'failed', 'cancelled')";

/** Deletes logs and session messages older than LOG_RETENTION_HOURS that belong to terminal workflows. */
@Injectable()
export class LogRetentionService implements OnApplicationShutdown {
  private readonly logger = new Logger('LogRetention');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: DbService,
    private readonly config: AppConfig,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.trim(), config.sweepIntervalMs);
      this.timer.unref();
    });
  }

  async trim(now = Date.now()): Promise<void> {
    if (!this.db.isReady) return;
    const cutoff = now - this.config.logRetentionHours * 3600_000;
    try {
      await this.db.query(
        `DELETE FROM workflow_logs WHERE at < ? AND workflow_id IN (SELECT id FROM workflows WHERE status IN ${TERMINAL})`,
        [cutoff],
      );
      await this.db.query(
        `DELETE FROM session_messages WHERE created_at < ? AND workflow_id IN (SELECT id FROM workflows WHERE status IN ${TERMINAL} AND finished_at < ?)`,
        [cutoff, cutoff],
      );
    } catch (err) {
      this.logger.warn(`trim failed: ${(err as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
