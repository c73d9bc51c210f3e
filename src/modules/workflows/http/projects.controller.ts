import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../../common/auth/auth.decorators';
import type { Principal } from '../../../common/auth/principal';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;

@ApiTags('projects')
@ApiBearerAuth()
@Controller('api/projects')
export class ProjectsController {
  constructor(private readonly db: DbService) {}

  /** The key's projects with workflow counts by status; a project named in the key but never written shows zeros. */
  @Get()
  async list(@CurrentPrincipal() p: Principal) {
    const named = p.allProjects ? [] : [...p.projects];
    const filter = p.allProjects ? '' : ` WHERE id IN (${placeholders(named.length)})`;
    const projects =
      named.length || p.allProjects
        ? await this.db.query(`SELECT id, last_seq, last_event_at FROM projects${filter} ORDER BY id`, named)
        : [];
    const ids = p.allProjects ? projects.map((r) => r.id as string) : named;
    const counts = ids.length
      ? await this.db.query(
          `SELECT project_id, status, COUNT(*) AS n FROM workflows WHERE project_id IN (${placeholders(ids.length)}) GROUP BY project_id, status`,
          ids,
        )
      : [];
    const byId = new Map(projects.map((r) => [r.id as string, r]));
    return {
      items: ids.sort().map((id) => {
        const c = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<string, number>;
        for (const r of counts) if (r.project_id === id) c[r.status] = Number(r.n);
        const row = byId.get(id);
        return {
          id,
          counts: c,
          lastSeq: row ? Number(row.last_seq) : 0,
          lastEventAt: row?.last_event_at ? new Date(Number(row.last_event_at)).toISOString() : null,
        };
      }),
    };
  }
}
