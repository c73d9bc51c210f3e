import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Observable } from 'rxjs';
import { MetricsService } from './metrics.service';

/** Request durations by route template (not raw path, to keep label cardinality bounded). */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsService) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const end = this.metrics.httpDuration.startTimer();
    res.once('finish', () =>
      end({ method: req.method, route: (req.route?.path as string) ?? 'unknown', status: res.statusCode }),
    );
    return next.handle();
  }
}
