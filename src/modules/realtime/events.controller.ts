import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AfterParams } from '../../common/validation/after.params';
import { GetResetSnapshotQuery } from '../workflows';
import { EventLogRepository, EventPage } from '../event-log';

@ApiTags('events')
@ApiBearerAuth()
@Controller('api/projects/:projectId/events')
export class EventsController {
  constructor(
    private readonly log: EventLogRepository,
    private readonly queries: QueryBus,
  ) {}

  /**
   * Events with seq > after, in seq order; when `after` is older than the log keeps, `reset: true` with a
   * snapshot consistent with `lastSeq` (§12): go on with `after=lastSeq`.
   */
  @Get()
  async list(@Param('projectId') projectId: string, @Query() q: AfterParams): Promise<EventPage> {
    const page = await this.log.readAfter(projectId, q.after ?? 0, q.limit ?? 1000);
    if (!page.reset) return page;
    const { lastSeq, snapshot } = await this.queries.execute(new GetResetSnapshotQuery(projectId));
    return { items: [], reset: true, lastSeq, snapshot };
  }
}
