import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AfterParams } from '../../common/validation/after.params';
import { EventLogRepository, EventPage } from './event-log.repository';

@ApiTags('events')
@ApiBearerAuth()
@Controller('api/projects/:projectId/events')
export class EventsController {
  constructor(private readonly log: EventLogRepository) {}

  /** Events with seq > after, in seq order; `reset: true` when `after` is older than the log keeps. */
  @Get()
  list(@Param('projectId') projectId: string, @Query() q: AfterParams): Promise<EventPage> {
    return this.log.readAfter(projectId, q.after ?? 0, q.limit ?? 1000);
  }
}
