import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireRole } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/principal';
import { CreateWebhookRequest } from './webhook.requests';
import { WebhooksService } from './webhooks.service';

/**
 * CONTRACT §15. Creating and deleting need a producer or admin key; any key with the project in scope lists
 * (§1: viewers read in their projects), a viewer with the credentials of each URL (its user info) shown as
 * `***`, since a URL may carry a receiver's credentials.
 */
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/projects/:projectId/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @RequireRole('producer')
  create(@Param('projectId') projectId: string, @Body() body: CreateWebhookRequest) {
    return this.webhooks.create(projectId, body);
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Param('projectId') projectId: string) {
    return { items: await this.webhooks.list(projectId, { credentials: principal.role !== 'viewer' }) };
  }

  @Delete(':id')
  @RequireRole('producer')
  @HttpCode(200)
  async remove(@Param('projectId') projectId: string, @Param('id') id: string) {
    await this.webhooks.remove(projectId, id);
    return { id, deleted: true };
  }
}
