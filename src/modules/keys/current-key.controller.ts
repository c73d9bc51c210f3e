import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/principal';

/**
 * `GET /api/keys/me`: what the calling key may do, for any role — so that a page can show or hide write
 * actions without trying one. No secret and nothing about other keys.
 */
@ApiTags('keys')
@ApiBearerAuth()
@Controller('api/keys/me')
export class CurrentKeyController {
  @Get()
  me(@CurrentPrincipal() p: Principal) {
    return { id: p.keyId, role: p.role, projects: p.allProjects ? ['*'] : [...p.projects] };
  }
}
