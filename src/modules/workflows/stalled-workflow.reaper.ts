import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { FailStalledWorkflowCommand } from './commands/fail-stalled-workflow/fail-stalled-workflow.command';

/**
 * Fails non-terminal workflows with no write for their staleAfterMs (`error.code: stalled`). It only
 * finds candidates; the command re-checks inside the write transaction, so a write that lands in between
 * wins and several instances can sweep at once.
 */
@Injectable()
export class StalledWorkflowReaper implements OnApplicationShutdown {
  private readonly logger = new Logger('StalledReaper');
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly db: DbService,
    private readonly commands: CommandBus,
    config: AppConfig,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.sweep(), config.sweepIntervalMs);
      this.timer.unref();
    });
  }

  async sweep(): Promise<number> {
    if (this.running || !this.db.isReady) return 0;
    this.running = true;
    let failed = 0;
    try {
      const rows = await this.db.query(
        'SELECT id, project_id FROM workflows WHERE stale_at IS NOT NULL AND stale_at <= ? ORDER BY stale_at LIMIT 500',
        [Date.now()],
      );
      for (const r of rows) {
        if (await this.commands.execute(new FailStalledWorkflowCommand(r.project_id, r.id))) failed++;
      }
    } catch (err) {
      this.logger.warn(`sweep failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
    return failed;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
