import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '../../common/auth/auth.decorators';
import { DbService } from '../../database/db.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly db: DbService,
  ) {}

  private synchronous?: string;

  /** SQLite: the `synchronous` pragma the connection really runs with (FULL unless SQLITE_SYNCHRONOUS=NORMAL). */
  private async durability(): Promise<{ synchronous?: string }> {
    if (this.db.dialect.kind !== 'sqlite') return {};
    if (this.synchronous === undefined) {
      const rows = await this.db.query<{ synchronous: number }>('PRAGMA synchronous');
      this.synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(rows[0]?.synchronous)] ?? 'unknown';
    }
    return { synchronous: this.synchronous };
  }

  /** 200 `{"status":"ok",…}` when the database answers, 503 when it does not. */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      async () => {
        const ind = this.indicator.check('database');
        try {
          await this.db.ping();
          return ind.up({ kind: this.db.dialect.kind, ...(await this.durability()) });
        } catch {
          return ind.down({ kind: this.db.dialect.kind });
        }
      },
    ]);
  }
}
