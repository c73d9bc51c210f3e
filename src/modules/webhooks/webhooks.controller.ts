import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../../common/auth/auth.decorators';
import { CreateWebhookRequest } from './webhook.requests';
import { WebhooksService } from './webhooks.service';

/**
 * CONTRACT §15. Producer or admin for all three: a webhook URL may carry a receiver's credentials, so
 * viewers do not list them.
 */
@ApiTags('webhooks')
@ApiBearerAuth()
@RequireRole('producer')
@Controller('api/projects/:projectId/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  create(@Param('projectId') projectId: string, @Body() body: CreateWebhookRequest) {
    return this.webhooks.create(projectId, body);
  }

  @Get()
  async list(@Param('projectId') projectId: string) {
    return { items: await this.webhooks.list(projectId) };
  }

  @Delete(':id')
  @HttpCode(200)
  async remove(@Param('projectId') projectId: string, @Param('id') id: string) {
    await this.webhooks.remove(projectId, id);
    return { id, deleted: true };
  }
}
