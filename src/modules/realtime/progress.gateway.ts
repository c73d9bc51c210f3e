import { Logger, OnApplicationShutdown } from '@nestjs/common';
import {
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { bearerToken } from '../../common/auth/auth.guard';
import { Principal } from '../../common/auth/principal';
import { DomainError } from '../../common/errors/domain-error';
import { PrincipalResolver } from '../../common/auth/principal-resolver';
import { ConnectionLimiter } from '../../common/limits/connection-limiter';
import { MetricsService } from '../metrics';
import { WorkflowsPort } from '../workflows';
import type { EventEnvelope } from '../../common/events/event-types';
import { DeliveryHub, SubscribeResult, Subscriber } from './delivery-hub';
import { dropBacklog, outboundBacklog } from './engine-internals';
import {
  JobMessage,
  JoinJobMessage,
  parseMessage,
  ProjectMessage,
  SubscribeMessage,
} from './realtime.requests';

/** A socket that has this many packets or bytes waiting is too slow: it is cut off and resumes with `since`. */
export const SLOW_CONSUMER_PACKETS = 10_000;
export const SLOW_CONSUMER_BYTES = 8 * 1024 * 1024;

const projectRoom = (projectId: string) => `p:${projectId}`;
const jobRoom = (workflowId: string) => `w:${workflowId}`;

interface SocketData {
  principal: Principal;
  subs: Map<string, SocketSubscription>;
  /**
   * Bytes of a reset ack (with its snapshot) not counted against the slow-consumer bound until the
   * connection has drained: cutting the socket for the snapshot it asked for would only bring the same
   * reset back when it resubscribes.
   */
  resetAllowance?: number;
}

/** §10: `subscribe` + `join_job` subscriptions one socket may hold at once. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

type Ack = Record<string, unknown>;

/** One project or job subscription of a socket; live, it is a member of the room the server derived. */
class SocketSubscription implements Subscriber {
  readonly direct = false;
  private closed = false;
  /** Sends the ack at once: a reset's ack (with its snapshot) goes out before the events after it. */
  reply?: (ack: Ack) => void;

  constructor(
    private readonly socket: Socket,
    readonly projectId: string,
    readonly room: string,
    readonly workflowId?: string,
  ) {}

  deliver(env: EventEnvelope): void {
    // a project subscription catching up skips events its socket already gets through a live job room
    if (!this.workflowId && env.workflowId && this.socket.rooms.has(jobRoom(env.workflowId))) return;
    this.socket.emit(env.type, env);
  }

  announceReset(res: SubscribeResult): void {
    this.reply?.({ ok: true, ...res });
    const data = this.socket.data as SocketData;
    data.resetAllowance = Math.max(data.resetAllowance ?? 0, outboundBacklog(this.socket.conn).bytes);
    this.socket.conn.once('drain', () => (data.resetAllowance = 0));
  }

  goLive(): void {
    if (!this.closed) void this.socket.join(this.room);
  }

  close(): void {
    this.closed = true;
    void this.socket.leave(this.room);
  }

  isClosed(): boolean {
    return this.closed || this.socket.disconnected;
  }
}

/**
 * Socket.IO, default namespace. Authenticated in the handshake (guards do not run on connect); rooms are
 * derived by the server after the access check, never taken from the client. Live events go out once
 * per project through rooms (`p:<project>`, `w:<workflow>`), each with its type as the event name.
 */
@WebSocketGateway()
export class ProgressGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnApplicationShutdown
{
  private readonly logger = new Logger('ProgressGateway');
  @WebSocketServer() private server: Server;
  private slowTimer?: NodeJS.Timeout;

  constructor(
    private readonly hub: DeliveryHub,
    private readonly keys: PrincipalResolver,
    private readonly workflows: WorkflowsPort,
    private readonly metrics: MetricsService,
    private readonly connections: ConnectionLimiter,
  ) {}

  afterInit(server: Server): void {
    server.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const token =
        typeof auth?.token === 'string' && auth.token
          ? auth.token
          : bearerToken(socket.handshake.headers.authorization);
      if (!token) return next(new Error('unauthorized'));
      this.keys.authenticate(token).then(
        (principal) => {
          if (!principal || this.keys.isRevoked(principal.keyId)) return next(new Error('unauthorized'));
          // §10: sockets plus SSE streams per key
          if (!this.connections.acquire(principal.keyId)) return next(new Error('rate_limited'));
          // released once: on disconnect, or when the transport closes (also before the socket connected)
          let counted = true;
          const release = () => {
            if (!counted) return;
            counted = false;
            this.connections.release(principal.keyId);
          };
          socket.once('disconnect', release);
          socket.conn.once('close', release);
          (socket.data as SocketData).principal = principal;
          (socket.data as SocketData).subs = new Map();
          next();
        },
        (err: unknown) => next(new Error(err instanceof DomainError ? err.code : 'unavailable')),
      );
    });
    this.hub.onLive((env) => {
      let target = this.server.to(projectRoom(env.projectId));
      if (env.workflowId) target = target.to(jobRoom(env.workflowId));
      target.emit(env.type, env);
    });
    this.keys.onRevoke((keyId) => this.disconnectKey(keyId));
    this.slowTimer = setInterval(() => this.cutSlowConsumers(), 500);
    this.slowTimer.unref();
  }

  /**
   * Handlers are bound with plain `socket.on` rather than `@SubscribeMessage`: Nest's per-socket RxJS wiring
   * of decorated handlers cost ~30 KiB per idle connection (3× a bare Socket.IO server), measured in bench/.
   */
  handleConnection(socket: Socket): void {
    this.metrics.openConnections.inc({ kind: 'socket' });
    // revoked between the handshake's lookup and now: the revocation's sweep ran before this socket existed
    if (this.keys.isRevoked((socket.data as SocketData).principal.keyId)) socket.disconnect(true);
    // `reply` acks at once (once): a handler may answer before it returns
    const bind = (event: string, handler: (body: unknown, reply: (r: Ack) => void) => Ack | Promise<Ack>) =>
      socket.on(event, (body: unknown, ack?: unknown) => {
        let replied = false;
        const reply = (res: Ack) => {
          if (replied) return;
          replied = true;
          if (typeof ack === 'function') (ack as (r: Ack) => void)(res);
        };
        void Promise.resolve()
          .then(() => handler(body, reply))
          .catch((): Ack => ({ ok: false, code: 'unavailable' }))
          .then(reply);
      });
    bind('subscribe', (b, reply) => this.subscribe(socket, b, reply));
    bind('unsubscribe', (b) => this.unsubscribe(socket, b));
    bind('join_job', (b, reply) => this.joinJob(socket, b, reply));
    bind('leave_job', (b) => this.leaveJob(socket, b));
  }

  handleDisconnect(socket: Socket): void {
    this.metrics.openConnections.dec({ kind: 'socket' });
    const data = socket.data as SocketData;
    for (const sub of data.subs?.values() ?? []) {
      sub.close();
      this.hub.unsubscribe(sub);
    }
    data.subs?.clear();
  }

  async subscribe(socket: Socket, body: unknown, reply?: (r: Ack) => void): Promise<Ack> {
    const msg = parseMessage(SubscribeMessage, body);
    if (!msg) return { ok: false, code: 'validation_failed' };
    const { principal } = socket.data as SocketData;
    if (!principal.canRead(msg.projectId)) return { ok: false, code: 'forbidden' };
    const sub = new SocketSubscription(socket, msg.projectId, projectRoom(msg.projectId));
    sub.reply = reply;
    return this.start(socket, sub, msg.since);
  }

  unsubscribe(socket: Socket, body: unknown): Ack {
    const msg = parseMessage(ProjectMessage, body);
    if (!msg) return { ok: false, code: 'validation_failed' };
    this.stop(socket, projectRoom(msg.projectId));
    return { ok: true };
  }

  async joinJob(socket: Socket, body: unknown, reply?: (r: Ack) => void): Promise<Ack> {
    const msg = parseMessage(JoinJobMessage, body);
    if (!msg) return { ok: false, code: 'validation_failed' };
    const { principal } = socket.data as SocketData;
    let projectId: string;
    try {
      projectId = await this.workflows.projectFor(principal, msg.workflowId);
    } catch (err) {
      return { ok: false, code: err instanceof DomainError ? err.code : 'unavailable' };
    }
    const sub = new SocketSubscription(socket, projectId, jobRoom(msg.workflowId), msg.workflowId);
    sub.reply = reply;
    return this.start(socket, sub, msg.since);
  }

  leaveJob(socket: Socket, body: unknown): Ack {
    const msg = parseMessage(JobMessage, body);
    if (!msg) return { ok: false, code: 'validation_failed' };
    this.stop(socket, jobRoom(msg.workflowId));
    return { ok: true };
  }

  private async start(socket: Socket, sub: SocketSubscription, since: number | undefined): Promise<Ack> {
    const data = socket.data as SocketData;
    // a subscription replacing one of the same room does not count twice
    if (!data.subs.has(sub.room) && data.subs.size >= MAX_SUBSCRIPTIONS_PER_SOCKET)
      return { ok: false, code: 'rate_limited' };
    this.stop(socket, sub.room);
    data.subs.set(sub.room, sub);
    try {
      const res = await this.hub.subscribe(sub, since);
      return { ok: true, ...res };
    } catch (err) {
      this.stop(socket, sub.room);
      return { ok: false, code: err instanceof DomainError ? err.code : 'unavailable' };
    }
  }

  private stop(socket: Socket, room: string): void {
    const data = socket.data as SocketData;
    const prev = data.subs.get(room);
    if (!prev) return;
    data.subs.delete(room);
    prev.close();
    this.hub.unsubscribe(prev);
  }

  private disconnectKey(keyId: string): void {
    for (const socket of this.server.sockets.sockets.values()) {
      if ((socket.data as SocketData).principal?.keyId === keyId) socket.disconnect(true);
    }
  }

  /** Bounded outbound buffers: a socket that does not read is disconnected, and resumes with `since`. */
  private cutSlowConsumers(): void {
    for (const socket of this.server.sockets.sockets.values()) {
      const { packets, bytes } = outboundBacklog(socket.conn);
      const allowance = (socket.data as SocketData).resetAllowance ?? 0;
      if (packets > SLOW_CONSUMER_PACKETS || bytes > SLOW_CONSUMER_BYTES + allowance) {
        this.logger.warn(
          `disconnecting slow consumer ${socket.id} (${packets} packets, ${bytes} bytes waiting)`,
        );
        dropBacklog(socket.conn);
        socket.disconnect(true);
        (socket.conn as { close?: () => void }).close?.();
      }
    }
  }

  onApplicationShutdown(): void {
    if (this.slowTimer) clearInterval(this.slowTimer);
  }
}
