import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { map, Observable } from 'rxjs';
import { holdsRawJson, stringifyWithRaw } from './raw-json';

/**
 * Write answers carry the Workflow with every step's result (the contract's shape); the write path loads
 * the results it does not touch as stored text (RawJson). This sends such an answer with that text spliced
 * in, instead of parsing up to 1 MiB of results and serialising them again for every progress write.
 */
@Injectable()
export class RawJsonInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    return next.handle().pipe(
      map((body: unknown) => {
        if (!holdsRawJson(body)) return body;
        ctx.switchToHttp().getResponse<Response>().type('application/json');
        return stringifyWithRaw(body);
      }),
    );
  }
}
