import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { EventLogRepository } from './event-log.repository';

/** Trims events older than EVENT_RETENTION_HOURS; the per-project counter is kept, so seqs never repeat. */
@Injectable()
export class EventRetentionService implements OnApplicationShutdown {
  private readonly logger = new Logger('EventRetention');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: DbService,
    private readonly log: EventLogRepository,
    private readonly config: AppConfig,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.trim(), config.sweepIntervalMs);
      this.timer.unref();
    });
  }

  async trim(now = Date.now()): Promise<number> {
    if (!this.db.isReady) return 0;
    try {
      return await this.log.trimBefore(now - this.config.eventRetentionHours * 3600_000);
    } catch (err) {
      this.logger.warn(`trim failed: ${(err as Error).message}`);
      return 0;
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
