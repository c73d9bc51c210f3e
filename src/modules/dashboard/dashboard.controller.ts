import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/auth/auth.decorators';
import { DomainError } from '../../common/errors/domain-error';
import { DASHBOARD_CSP, DashboardAsset, loadDashboardAssets } from './dashboard-assets';

/**
 * `GET /` serves the dashboard page and `GET /dashboard/<file>` its script and stylesheet; the Socket.IO
 * client comes from the Socket.IO server itself (`/socket.io/socket.io.js`). No key is needed to load the
 * page: the page asks for one and sends it with every API call and on the socket.
 */
@ApiExcludeController()
@Public()
@Controller()
export class DashboardController {
  private readonly assets = loadDashboardAssets(__dirname);

  @Get()
  page(@Res() res: FastifyReply): void {
    this.send(res, this.assets.get('index.html')!);
  }

  @Get('dashboard/:file')
  file(@Param('file') file: string, @Res() res: FastifyReply): void {
    const asset = file === 'index.html' ? undefined : this.assets.get(file);
    if (!asset) throw new DomainError('not_found', 'no such route');
    this.send(res, asset);
  }

  private send(res: FastifyReply, asset: DashboardAsset): void {
    void res.headers({
      'Content-Type': asset.contentType,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': DASHBOARD_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    void res.send(asset.body);
  }
}
