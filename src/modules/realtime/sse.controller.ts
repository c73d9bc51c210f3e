import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { AllowQueryToken, CurrentPrincipal } from '../../common/auth/auth.decorators';
import type { Principal } from '../../common/auth/principal';
import { DomainError, RateLimitedError } from '../../common/errors/domain-error';
import { PrincipalResolver } from '../../common/auth/principal-resolver';
import { ConnectionLimiter } from '../../common/limits/connection-limiter';
import { MetricsService } from '../metrics';
import type { EventEnvelope } from '../../common/events/event-types';
import { DeliveryHub, SubscribeResult, Subscriber } from './delivery-hub';
import { SLOW_CONSUMER_BYTES } from './progress.gateway';

const PING_MS = 15_000;
/** Retry-After of a stream refused for the connection limit (the `retry:` the streams ask for is 2 s). */
const RECONNECT_AFTER_S = 2;
/** One encoding per event, shared by every stream that sends it. */
const frames = new WeakMap<EventEnvelope, string>();
const frameOf = (env: EventEnvelope): string => {
  let f = frames.get(env);
  if (!f) {
    f = `id: ${env.seq}\nevent: ${env.type}\ndata: ${JSON.stringify(env)}\n\n`;
    frames.set(env, f);
  }
  return f;
};

function parseSeq(v: unknown, field: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  throw new DomainError('validation_failed', `${field} must be a non-negative integer`, [
    { field, message: 'must be a non-negative integer' },
  ]);
}

class SseStream implements Subscriber {
  readonly direct = true;
  private closed = false;
  /**
   * Bytes of a reset frame (its snapshot can be tens of MB) not counted against the slow-consumer bound
   * until the socket has drained it: the reader asked for them, and cutting it off would only make it
   * reconnect with the same old position and get the same reset again.
   */
  private allowance = 0;

  constructor(
    readonly projectId: string,
    readonly keyId: string,
    private readonly res: ServerResponse,
  ) {}

  deliver(env: EventEnvelope): void {
    if (this.closed) return;
    this.res.write(frameOf(env));
    // bounded outbound buffer: a reader that does not keep up is cut off and resumes with Last-Event-ID
    if (this.res.writableLength > SLOW_CONSUMER_BYTES + this.allowance) this.close();
  }

  goLive(): void {}

  /**
   * `since` older than the log keeps (§12): one `event: reset` frame with the snapshot, before any event
   * after lastSeq. Its id is lastSeq, so that an EventSource that reconnects resumes after the snapshot.
   */
  announceReset(res: SubscribeResult): void {
    if (this.closed) return;
    const data = { reset: true, lastSeq: res.lastSeq, snapshot: res.snapshot };
    const frame = `id: ${res.lastSeq}\nevent: reset\ndata: ${JSON.stringify(data)}\n\n`;
    if (!this.res.write(frame)) {
      this.allowance = Buffer.byteLength(frame);
      this.res.once('drain', () => (this.allowance = 0));
    }
  }

  ping(): void {
    if (!this.closed) this.res.write(': ping\n\n');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.destroy();
  }

  isClosed(): boolean {
    return this.closed || this.res.destroyed;
  }
}

/** Server-Sent Events: the same delivery hub, rules and access checks as the sockets. */
@ApiTags('events')
@ApiBearerAuth()
@Controller('api/projects/:projectId/status')
export class SseController {
  private readonly streams = new Set<SseStream>();

  constructor(
    private readonly hub: DeliveryHub,
    private readonly metrics: MetricsService,
    private readonly keys: PrincipalResolver,
    private readonly connections: ConnectionLimiter,
  ) {
    keys.onRevoke((keyId) => {
      for (const s of this.streams) if (s.keyId === keyId) s.close();
    });
  }

  @Get()
  @AllowQueryToken()
  @ApiProduces('text/event-stream')
  @ApiOperation({ summary: 'Live events of a project; resumes after Last-Event-ID or ?since=' })
  async stream(
    @Param('projectId') projectId: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const since =
      parseSeq(req.headers['last-event-id'], 'Last-Event-ID') ??
      parseSeq((req.query as Record<string, unknown> | undefined)?.since, 'since');
    // §10: SSE streams plus sockets per key; released when the stream closes
    if (!this.connections.acquire(principal.keyId))
      throw new RateLimitedError(
        `this key has ${this.connections.max} sockets and streams open (MAX_CONNECTIONS_PER_KEY)`,
        RECONNECT_AFTER_S,
      );
    // the stream is written straight to the socket's response: Fastify leaves it alone from here on
    // (headers set before, e.g. CORS's, are still Fastify's own: they go onto the response first)
    reply.hijack();
    const res = reply.raw;
    for (const [name, value] of Object.entries(reply.getHeaders()))
      if (value !== undefined) res.setHeader(name, value);
    res.on('close', () => this.connections.release(principal.keyId));
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);
    res.write('retry: 2000\n\n');

    const stream = new SseStream(projectId, principal.keyId, res);
    this.streams.add(stream);
    // revoked since the guard's lookup: the revocation's sweep ran before this stream was registered
    if (this.keys.isRevoked(principal.keyId)) stream.close();
    this.metrics.openConnections.inc({ kind: 'sse' });
    const ping = setInterval(() => stream.ping(), PING_MS);
    res.on('close', () => {
      clearInterval(ping);
      stream.close();
      this.streams.delete(stream);
      this.hub.unsubscribe(stream);
      this.metrics.openConnections.dec({ kind: 'sse' });
    });
    try {
      // `since` older than the log keeps: the hub hands the reset with its snapshot to announceReset
      await this.hub.subscribe(stream, since);
    } catch {
      stream.close();
    }
  }
}
