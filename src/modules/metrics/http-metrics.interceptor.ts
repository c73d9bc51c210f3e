import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { MetricsService } from './metrics.service';

/** Request durations by route template (not raw path, to keep label cardinality bounded). */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsService) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const res = ctx.switchToHttp().getResponse<FastifyReply>();
    const end = this.metrics.httpDuration.startTimer();
    res.raw.once('finish', () =>
      end({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: res.raw.statusCode }),
    );
    return next.handle();
  }
}
