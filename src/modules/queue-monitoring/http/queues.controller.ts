import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../../config/app.config';
import { CurrentPrincipal, RequireRole } from '../../../common/auth/auth.decorators';
import type { Principal } from '../../../common/auth/principal';
import { DomainError } from '../../../common/errors/domain-error';
import { ID_MESSAGE, isId } from '../../../common/validation/validators';
import { DEFAULT_LEASE_MS, type Claimed } from '../../workflows';
import { ClaimService } from '../claim.service';
import { QueueMonitoringQueries, QueueSummary } from '../queries/queue-monitoring.queries';
import { ClaimRequest, HeartbeatRequest, QueuesParams } from './queue.requests';

@ApiTags('queues')
@ApiBearerAuth()
@Controller('api')
export class QueuesController {
  constructor(
    private readonly claims: ClaimService,
    private readonly queries: QueueMonitoringQueries,
    private readonly config: AppConfig,
  ) {}

  /** 200 with a lease, or 204 when nothing is ready within waitMs. Claims only in the key's projects. */
  @Post('queues/:queue/claim')
  @RequireRole('producer')
  async claim(
    @CurrentPrincipal() p: Principal,
    @Param('queue') queue: string,
    @Body() b: ClaimRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<Claimed | undefined> {
    if (!isId(queue))
      throw new DomainError('validation_failed', `queue ${ID_MESSAGE}`, [
        { field: 'queue', message: ID_MESSAGE },
      ]);
    // a worker that gives up (closes the request) while its claim waits must not be handed work it will
    // never see: the claim stops waiting, and one granted in that instant is given back
    const gone = new AbortController();
    res.raw.on('close', () => {
      if (!res.raw.writableFinished) gone.abort();
    });
    const claimed = await this.claims.claim(
      p,
      queue,
      b.workerId,
      b.leaseMs ?? DEFAULT_LEASE_MS,
      b.waitMs ?? 0,
      this.config.maxWaitingClaimsPerKey,
      gone.signal,
    );
    if (!claimed) {
      res.status(204);
      return undefined;
    }
    res.status(200);
    return claimed;
  }

  @Post('workflows/:id/heartbeat')
  @RequireRole('producer')
  @HttpCode(200)
  heartbeat(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() b: HeartbeatRequest) {
    return this.claims.heartbeat(p, id, b.leaseToken, b.leaseMs);
  }

  /** `?projectId=` narrows the counts, workers and history to one project the key may read. */
  @Get('queues')
  queues(@CurrentPrincipal() p: Principal, @Query() q: QueuesParams): Promise<{ items: QueueSummary[] }> {
    if (q.projectId !== undefined && !p.canRead(q.projectId))
      throw new DomainError('forbidden', `no access to project ${q.projectId}`);
    return this.queries.listQueues(p, q.projectId);
  }

  @Get('projects/:projectId/queue')
  projectQueue(@CurrentPrincipal() p: Principal, @Param('projectId') projectId: string) {
    return this.queries.projectQueue(p, projectId);
  }
}
