import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../../common/auth/auth.decorators';
import { CreateKeyRequest } from './keys.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@ApiBearerAuth()
@RequireRole('admin')
@Controller('api/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post()
  create(@Body() body: CreateKeyRequest) {
    return this.keys.create(body.name, body.role, [...new Set(body.projects)]);
  }

  @Get()
  async list() {
    return { items: await this.keys.list() };
  }

  @Delete(':id')
  @HttpCode(200)
  async revoke(@Param('id') id: string) {
    await this.keys.revoke(id);
    return { id, revoked: true };
  }
}
