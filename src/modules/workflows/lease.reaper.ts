import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { DbService } from '../../database/db.service';
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

  constructor(
    private readonly db: DbService,
    private readonly commands: CommandBus,
  ) {
    db.whenReady(() => {
      this.timer = setInterval(() => void this.sweep(), LEASE_SWEEP_MS);
      this.timer.unref();
    });
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
  }
}
