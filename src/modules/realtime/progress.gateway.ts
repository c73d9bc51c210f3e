import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { bearerToken } from '../../common/auth/auth.guard';
import { Principal } from '../../common/auth/principal';
import { DomainError } from '../../common/errors/domain-error';
import { PrincipalResolver } from '../../common/auth/principal-resolver';
import { ConnectionLimiter } from '../../common/limits/connection-limiter';
import { AppConfig } from '../../config/app.config';
import { MetricsService } from '../metrics';
import { WorkflowsPort } from '../workflows';
import type { EventEnvelope } from '../../common/events/event-types';
import { DeliveryHub, SubscribeResult, Subscriber } from './delivery-hub';
import { dropBacklog, outboundBacklog } from './engine-internals';
import {
  releaseHandshake,
  releaseUpgradeRequests,
  RequestParts,
  type UpgradingEngine,
} from './handshake-release';
import { type Ack, sharedListeners, type SocketListener, whenNeverConnected } from './socket-listeners';
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
/** The project's subscribers that asked for `batch: true`: they get `events` messages instead of one per event. */
const batchRoom = (projectId: string) => `pb:${projectId}`;
const jobRoom = (workflowId: string) => `w:${workflowId}`;

/** The Socket.IO event name of a batched message: an array of envelopes in seq order. */
export const BATCH_EVENT = 'events';
/**
 * Most envelopes in one `events` message; more go out as several messages, in order. Bounds a message
 * (an envelope with a `result` may be 256 KiB) for clients with a frame limit (ws's default is 100 MiB).
 */
export const MAX_BATCH_EVENTS = 256;

interface SocketData {
  principal: Principal;
  /** Whether this socket holds one of its key's connection slots (§10), released once. */
  counted?: boolean;
  /**
   * The socket's subscriptions (at most MAX_SUBSCRIPTIONS_PER_SOCKET, nearly always one): a plain array
   * costs an idle socket ~40 bytes where a Map costs ~180.
   */
  subs: SocketSubscription[];
  /**
   * Bytes of a reset ack (with its snapshot) not counted against the slow-consumer bound until the
   * connection has drained: cutting the socket for the snapshot it asked for would only bring the same
   * reset back when it resubscribes.
   */
  resetAllowance?: number;
}

/** §10: `subscribe` + `join_job` subscriptions one socket may hold at once. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;
/** Project ids and room names kept for sharing (see `intern`); past this many the table starts over. */
const MAX_INTERNED = 10_000;

/** The client messages the gateway answers. */
type Message = 'subscribe' | 'unsubscribe' | 'join_job' | 'leave_job';

const emitBatches = (target: { emit(ev: string, ...args: unknown[]): unknown }, envs: EventEnvelope[]) => {
  for (let i = 0; i < envs.length; i += MAX_BATCH_EVENTS)
    target.emit(BATCH_EVENT, envs.length <= MAX_BATCH_EVENTS ? envs : envs.slice(i, i + MAX_BATCH_EVENTS));
};

/**
 * One project or job subscription of a socket; live, it is a member of the room the server derived.
 * A batched one (`subscribe` with `batch: true`) gathers what the hub delivers to it until the hub's
 * `flush` and sends it as one `events` message; live, it is a member of the project's batch room.
 */
class SocketSubscription implements Subscriber {
  readonly direct = false;
  private closed = false;
  /** Batched only: events held until `flush` (made when the first one comes; an idle socket holds none). */
  private held?: EventEnvelope[];
  /** Sends the ack at once: a reset's ack (with its snapshot) goes out before the events after it. */
  reply?: (ack: Ack) => void;

  constructor(
    private readonly socket: Socket,
    readonly projectId: string,
    /** The socket's subscriptions are keyed by this: one per project (batched or not), one per job. */
    readonly key: string,
    readonly room: string,
    readonly workflowId?: string,
    /** Batched: sends the batch room's pending events, before this socket joins or leaves that room. */
    private readonly settleRoom?: () => void,
    /** Not batched: runs before each event sent to this socket alone (a catch-up). */
    private readonly beforeDirect?: () => void,
  ) {}

  /** The project's published seq when this subscription went live (its room delivers what comes after). */
  liveAfter?: number;

  get batched(): boolean {
    return this.settleRoom !== undefined;
  }

  deliver(env: EventEnvelope): void {
    // a project subscription catching up skips the events its socket gets through a live job room: those
    // after the seq that job subscription went live at (the ones before it, it does not get there)
    if (!this.workflowId && env.workflowId && this.socket.rooms.has(jobRoom(env.workflowId))) {
      const job = (this.socket.data as SocketData).subs.find((s) => s.workflowId === env.workflowId);
      if (job?.liveAfter !== undefined && env.seq > job.liveAfter) return;
    }
    if (this.batched) (this.held ??= []).push(env);
    else {
      // a job subscription's catch-up on a socket live in its project's batch room: what that room holds
      // (earlier events, some of this job's among them) goes out first
      this.beforeDirect?.();
      this.socket.emit(env.type, env);
    }
  }

  flush(): void {
    const envs = this.held;
    if (!envs?.length) return;
    this.held = undefined;
    if (!this.isClosed()) emitBatches(this.socket, envs);
  }

  announceReset(res: SubscribeResult): void {
    this.flush();
    this.reply?.({ ok: true, ...res, ...(this.batched ? { batch: true } : {}) });
    const data = this.socket.data as SocketData;
    data.resetAllowance = Math.max(data.resetAllowance ?? 0, outboundBacklog(this.socket.conn).bytes);
    this.socket.conn.once('drain', () => (data.resetAllowance = 0));
  }

  goLive(liveAfter: number): void {
    if (this.closed) return;
    this.liveAfter = liveAfter;
    this.flush();
    // what the room holds was published before this subscription caught up: it has had it directly
    this.settleRoom?.();
    void this.socket.join(this.room);
  }

  close(): void {
    this.closed = true;
    this.held = undefined;
    // what the room holds was published while this subscription was live: it goes out as it would have
    if (this.socket.rooms.has(this.room)) this.settleRoom?.();
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
export class ProgressGateway implements OnGatewayInit, OnGatewayConnection, OnApplicationShutdown {
  private readonly logger = new Logger('ProgressGateway');
  @WebSocketServer() private server: Server;
  private slowTimer?: NodeJS.Timeout;
  /** Per project, the live events for its batch room not sent yet (see batchWindowMs). */
  private readonly pendingBatches = new Map<string, EventEnvelope[]>();
  private batchTimer?: NodeJS.Immediate;
  /**
   * A hot project's batch room: its next `events` message waits for the end of the window that began with
   * its last one (SOCKET_BATCH_WINDOW_MS), so that a subscriber gets at most one frame per window, carrying
   * every event of it, whatever the rate. A quiet project's first event goes out on the next turn.
   */
  private readonly batchWindowMs: number;
  private readonly lastBatchAt = new Map<string, number>();
  private readonly heldBatches = new Map<string, NodeJS.Timeout>();
  /**
   * The socket listeners, made once for all sockets (Socket.IO calls them with the socket as `this`): an
   * idle connection holds no closures of its own, only its entries in the listener lists.
   */
  readonly listeners: Readonly<Record<Message, SocketListener<Socket>>>;
  private readonly names = new Map<string, string>();
  /**
   * Every socket's `disconnect` listener (`this`: the socket), one function for all: Nest's own binding made
   * two closures per socket for it (see RealtimeIoAdapter.bindClientDisconnect, which binds nothing).
   */
  private readonly onDisconnect: (this: Socket) => void;
  /** Every client message of every socket (`this`: the socket): runs the listener of its name, if any. */
  private readonly onMessage: (this: Socket, event: unknown, ...args: unknown[]) => void;

  constructor(
    private readonly hub: DeliveryHub,
    private readonly keys: PrincipalResolver,
    private readonly workflows: WorkflowsPort,
    private readonly metrics: MetricsService,
    private readonly connections: ConnectionLimiter,
    config: AppConfig,
  ) {
    this.batchWindowMs = config.socketBatchWindowMs;
    this.listeners = sharedListeners<Message, Socket>({
      subscribe: (socket, body, reply) => this.subscribe(socket, body, reply),
      unsubscribe: (socket, body) => this.unsubscribe(socket, body),
      join_job: (socket, body, reply) => this.joinJob(socket, body, reply),
      leave_job: (socket, body) => this.leaveJob(socket, body),
    });
    const listeners: Partial<Record<string, SocketListener<Socket>>> = this.listeners;
    this.onMessage = function (this: Socket, event: unknown, ...args: unknown[]) {
      // Socket.IO runs catch-all listeners as a packet is decoded, before its own "still connected?" check
      if (this.disconnected) return;
      const fn = typeof event === 'string' && Object.hasOwn(listeners, event) ? listeners[event] : undefined;
      fn?.apply(this, args as [unknown, unknown?]);
    };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const gateway = this;
    this.onDisconnect = function (this: Socket) {
      gateway.disconnected(this);
    };
  }

  /**
   * One copy of each project id and room name for all the sockets that subscribe to it (an idle socket
   * would otherwise hold its own copies: its subscription's, and its entry in Socket.IO's room set).
   */
  private intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size >= MAX_INTERNED) this.names.clear();
    this.names.set(name, name);
    return name;
  }

  private releaseSlot(data: SocketData): void {
    if (!data.counted) return;
    data.counted = false;
    this.connections.release(data.principal.keyId);
  }

  afterInit(server: Server): void {
    releaseUpgradeRequests(server.engine as unknown as UpgradingEngine);
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
          // released once: on disconnect, or below when the socket never connects
          const data = socket.data as SocketData;
          data.principal = principal;
          data.subs = [];
          data.counted = true;
          next();
          // the client went away while the key was looked up: no connect and no disconnect will follow
          whenNeverConnected(socket, () => this.releaseSlot(data));
        },
        (err: unknown) => next(new Error(err instanceof DomainError ? err.code : 'unavailable')),
      );
    });
    // one broadcast per event and room: Socket.IO encodes the packet (and its websocket frame) once and
    // writes the same frame to every member
    this.hub.onLive((env) => {
      const rooms = this.server.sockets.adapter.rooms;
      const batched = batchRoom(env.projectId);
      const job = env.workflowId ? jobRoom(env.workflowId) : undefined;
      let target = this.server.to(projectRoom(env.projectId));
      if (rooms.has(batched)) {
        this.queueBatch(env);
        // a job-room member that is also in the batch room gets the event there, once and in order
        if (job && rooms.has(job)) target = target.to(job).except(batched);
      } else if (job) target = target.to(job);
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
    // first: a socket disconnected just below must be counted out and released too
    socket.on('disconnect', this.onDisconnect);
    // revoked between the handshake's lookup and now: the revocation's sweep ran before this socket existed
    if (this.keys.isRevoked((socket.data as SocketData).principal.keyId)) socket.disconnect(true);
    // one catch-all listener instead of one per message: each listener list is an array that reserves 16
    // slots on its first push (~180 bytes per idle socket and message)
    socket.onAny(this.onMessage);
    // the handshake (headers, address, query) is built and was read by the connect middleware: neither it
    // nor the request the socket connected with (the upgrade request, for a client that connects over
    // websocket directly) keeps headers, query or auth for the socket's life (Socket.IO's advice on memory
    // use; only one namespace is served here); ~0.9 KB less per idle socket. A client that upgrades from
    // long-polling later has its upgrade request let go once upgraded (releaseUpgradeRequests, afterInit)
    const conn = socket.conn as { request: RequestParts | null };
    releaseHandshake(socket.handshake, conn.request);
    conn.request = null;
  }

  private disconnected(socket: Socket): void {
    this.metrics.openConnections.dec({ kind: 'socket' });
    const data = socket.data as SocketData;
    if (data.principal) this.releaseSlot(data);
    const subs = data.subs ?? [];
    data.subs = [];
    for (const sub of subs) {
      sub.close();
      this.hub.unsubscribe(sub);
    }
  }

  async subscribe(socket: Socket, body: unknown, reply?: (r: Ack) => void): Promise<Ack> {
    const msg = parseMessage(SubscribeMessage, body);
    if (!msg) return { ok: false, code: 'validation_failed' };
    const { principal } = socket.data as SocketData;
    if (!principal.canRead(msg.projectId)) return { ok: false, code: 'forbidden' };
    const projectId = this.intern(msg.projectId);
    const room = this.intern(projectRoom(projectId));
    const sub = msg.batch
      ? new SocketSubscription(socket, projectId, room, this.intern(batchRoom(projectId)), undefined, () =>
          this.flushBatch(projectId),
        )
      : new SocketSubscription(socket, projectId, room, room);
    sub.reply = reply;
    return this.start(socket, sub, msg.since);
  }

  private queueBatch(env: EventEnvelope): void {
    const projectId = env.projectId;
    const list = this.pendingBatches.get(projectId);
    if (list) list.push(env);
    else this.pendingBatches.set(projectId, [env]);
    if (this.heldBatches.has(projectId)) return;
    const wait = (this.lastBatchAt.get(projectId) ?? -Infinity) + this.batchWindowMs - performance.now();
    if (wait > 0) {
      this.heldBatches.set(
        projectId,
        setTimeout(() => this.flushBatch(projectId), wait),
      );
      return;
    }
    this.batchTimer ??= setImmediate(() => {
      this.batchTimer = undefined;
      for (const p of [...this.pendingBatches.keys()]) if (!this.heldBatches.has(p)) this.flushBatch(p);
    });
  }

  /**
   * Sends a project's pending live events to its batch room: one `events` message, encoded once for all.
   * Also called before a socket joins or leaves that room, so that it gets exactly the events sent after.
   */
  private flushBatch(projectId: string): void {
    const held = this.heldBatches.get(projectId);
    if (held) {
      clearTimeout(held);
      this.heldBatches.delete(projectId);
    }
    const envs = this.pendingBatches.get(projectId);
    if (!envs) return;
    this.pendingBatches.delete(projectId);
    if (this.batchWindowMs > 0) this.lastBatchAt.set(projectId, performance.now());
    emitBatches(this.server.to(batchRoom(projectId)), envs);
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
    const room = jobRoom(msg.workflowId);
    const batched = batchRoom(projectId);
    const sub = new SocketSubscription(socket, projectId, room, room, msg.workflowId, undefined, () => {
      if (socket.rooms.has(batched)) this.flushBatch(projectId);
    });
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
    // gone while the message waited (join_job's lookup, or a disconnect decoded with it): nothing to start
    if (socket.disconnected) return { ok: false, code: 'unavailable' };
    // a subscription replacing one of the same room does not count twice
    if (!data.subs.some((s) => s.key === sub.key) && data.subs.length >= MAX_SUBSCRIPTIONS_PER_SOCKET)
      return { ok: false, code: 'rate_limited' };
    this.stop(socket, sub.key);
    // copied at the exact length: an array grown by push reserves 16 slots, most of an idle socket's cost
    data.subs = data.subs.length ? data.subs.concat([sub]) : [sub];
    try {
      const res = await this.hub.subscribe(sub, since);
      return { ok: true, ...res, ...(sub.batched ? { batch: true } : {}) };
    } catch (err) {
      if (data.subs.includes(sub)) this.stop(socket, sub.key);
      return { ok: false, code: err instanceof DomainError ? err.code : 'unavailable' };
    } finally {
      // answered: the ack (and what its closure holds) is not kept for the subscription's life
      sub.reply = undefined;
    }
  }

  private stop(socket: Socket, key: string): void {
    const data = socket.data as SocketData;
    const prev = data.subs.find((s) => s.key === key);
    if (!prev) return;
    data.subs = data.subs.filter((s) => s !== prev);
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
    // windows long over: such a project's next event goes out on the next turn anyway
    const past = performance.now() - this.batchWindowMs;
    for (const [projectId, at] of this.lastBatchAt) if (at < past) this.lastBatchAt.delete(projectId);
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
    if (this.batchTimer) clearImmediate(this.batchTimer);
    for (const t of this.heldBatches.values()) clearTimeout(t);
  }
}
