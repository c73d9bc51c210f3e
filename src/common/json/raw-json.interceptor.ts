import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { map, Observable } from 'rxjs';
import { holdsRawJson, stringifyWithRaw } from './raw-json';

/**
 * Write answers carry the Workflow with every step's result (the contract's shape); the write path loads
 * the results it does not touch as stored text (RawJson). This sends such an answer with that text spliced
 * in, instead of parsing up to 1 MiB of results and serialising them again for every progress write, and
 * names it with a weak ETag from the workflow's id and last seq instead of a hash of the whole body.
 */
@Injectable()
export class RawJsonInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    return next.handle().pipe(
      map((body: unknown) => {
        if (!holdsRawJson(body)) return body;
        const res = ctx.switchToHttp().getResponse<FastifyReply>();
        // a string with a JSON type is sent as it is (Fastify serialises only what is not a string yet)
        res.type('application/json; charset=utf-8');
        // the workflow's id and last seq name this representation (weak: the ETA in it moves with the clock),
        // with no hash of the whole answer (up to 1 MiB)
        const wf = body as {
          id?: unknown;
          lastSeq?: unknown;
          workflow?: { id?: unknown; lastSeq?: unknown };
        };
        const named = wf.workflow ?? wf;
        if (typeof named.id === 'string' && typeof named.lastSeq === 'number')
          res.header('ETag', `W/"${Buffer.from(named.id).toString('base64url')}.${named.lastSeq}"`);
        return stringifyWithRaw(body);
      }),
    );
  }
}
