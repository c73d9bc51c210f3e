import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, ErrorCode, RateLimitedError } from './domain-error';
import { errorBody } from './error-body';

const HTTP_CODE: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  429: 'rate_limited',
  503: 'unavailable',
};

const UNSUPPORTED_TYPE = 'unsupported content type: only application/json bodies are read';
const unsupportedType = () =>
  new DomainError('validation_failed', UNSUPPORTED_TYPE, [
    { field: 'content-type', message: UNSUPPORTED_TYPE },
  ]);

function fastifyError(e: unknown): { code: string; statusCode?: number; message: string } | undefined {
  const f = e as { code?: unknown } | undefined;
  return typeof f?.code === 'string' && f.code.startsWith('FST_')
    ? (f as { code: string; statusCode?: number; message: string })
    : undefined;
}

/** Turns anything thrown into a DomainError with a contract code: one place, one body shape, never a stack. */
export function toDomainError(exception: unknown): DomainError {
  if (exception instanceof DomainError) return exception;
  // Fastify's own errors (body limit, broken Content-Length, ...) carry a `FST_` code and a status; some
  // reach here wrapped by Nest in an HttpException, with Fastify's error as its `cause` (a Content-Type
  // that is not a media type at all: FST_ERR_CTP_INVALID_MEDIA_TYPE)
  const e = fastifyError(exception) ?? fastifyError((exception as { cause?: unknown } | undefined)?.cause);
  if (e) {
    if (e.statusCode === 413) return new DomainError('payload_too_large', 'the request body exceeds 1 MiB');
    if (e.statusCode === 415) return unsupportedType();
    if (e.code === 'FST_ERR_BAD_URL')
      return new DomainError('validation_failed', 'the URL is not valid (bad percent-encoding)');
    if (e.statusCode === 400) return new DomainError('validation_failed', String(e.message));
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 413) return new DomainError('payload_too_large', 'the request body exceeds 1 MiB');
    if (status === 404) return new DomainError('not_found', 'no such route');
    if (status === 415) return unsupportedType();
    const code = HTTP_CODE[status];
    if (code) return new DomainError(code, exception.message);
  }
  return new DomainError('internal_error', 'internal error');
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const res = host.switchToHttp().getResponse<FastifyReply>();
    const err = toDomainError(exception);
    if (err.code === 'internal_error') this.logger.error(exception);
    if (res.sent || res.raw.headersSent) {
      if (!res.raw.writableEnded) res.raw.end();
      return;
    }
    if (err instanceof RateLimitedError) res.header('Retry-After', String(err.retryAfterSeconds));
    void res
      .status(err.status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(errorBody(err)));
  }
}
