import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error';
import { assertJsonLimits } from '../validation/json-limits';

/** §1: request bodies are at most 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A JSON text that starts with an object or an array (strict, as the contract's bodies all are). */
const STRICT_START = /^[ \t\n\r]*[{[]/;

/**
 * Parses a JSON body the way the contract wants it: `application/json` only (any other type is not parsed:
 * the route sees no body, and validation refuses it), UTF-8 only, strict (an object or an array; anything
 * else is `400 malformed_json`), an empty body is `{}`, and the §10 depth and key limits are checked here,
 * before class-transformer and the fast paths see the body. `JSON.parse` keeps a `__proto__` key as an own
 * property, which the limits then refuse with `400 validation_failed` naming the key.
 */
export function parseJsonBody(req: Pick<FastifyRequest, 'headers'>, text: string): unknown {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity')
    throw new DomainError('validation_failed', 'unsupported body encoding');
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset))
    throw new DomainError('validation_failed', 'unsupported body encoding');
  if (text.length === 0) return {};
  if (!STRICT_START.test(text)) throw new DomainError('malformed_json', 'the request body is not valid JSON');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new DomainError('malformed_json', 'the request body is not valid JSON');
  }
  assertJsonLimits(body);
  return body;
}

/** A declared body up to this size is read and discarded before the 413 goes out; past it the 413 closes. */
const DRAIN_MAX_BYTES = 16 * MAX_BODY_BYTES;
/** ... and the reading stops after this long. */
const DRAIN_MAX_MS = 5_000;

/**
 * A body declared larger than the limit is answered 413 only once the client has sent it (up to 16 MiB and
 * 5 s), as Express's body-parser did: answering at once and closing the connection makes a client that is
 * still writing fail with EPIPE or a reset instead of reading the 413.
 */
function drainOversizedBodies(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', (req, _reply, payload, done) => {
    const declared = Number(req.headers['content-length']);
    if (!(declared > MAX_BODY_BYTES)) return done(null, payload);
    const tooLarge = new DomainError('payload_too_large', 'the request body exceeds 1 MiB');
    if (declared > DRAIN_MAX_BYTES) return done(tooLarge);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      payload.removeListener('end', finish);
      payload.removeListener('error', finish);
      done(tooLarge);
    };
    const timer = setTimeout(finish, DRAIN_MAX_MS);
    payload.on('end', finish);
    payload.on('error', finish);
    payload.resume();
  });
}

/** Replaces Fastify's own parsers (which refuse `__proto__` and unknown types with their own errors). */
export function registerBodyParsers(fastify: FastifyInstance): void {
  drainOversizedBodies(fastify);
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, text, done) => {
    try {
      done(null, parseJsonBody(req, text as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // any other type (or none): read within the limit, not parsed; the route's validation refuses it
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));
}
