import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';
import {
  corkWebsocketSends,
  directRoomBroadcast,
  type EngineSocket,
  type EngineTransport,
} from './engine-internals';

/**
 * Socket.IO server options that depend on configuration: both transports, 1 MB message limit, and the
 * Origin check against CORS_ORIGINS (browsers send Origin; a cross-origin page not on the list is refused,
 * same-origin pages and non-browser clients are allowed).
 */
export class RealtimeIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly origins: string[] | undefined,
  ) {
    super(app);
  }

  /**
   * Nest calls this for every connected socket, with the gateway's `@SubscribeMessage` handlers; the gateway
   * has none (its listeners are shared, see progress.gateway.ts), yet the base class still builds a disconnect
   * Observable chain per socket and keeps it in a map for the socket's life. Nothing to bind: nothing built.
   */
  override bindMessageHandlers(
    socket: Parameters<IoAdapter['bindMessageHandlers']>[0],
    handlers: Parameters<IoAdapter['bindMessageHandlers']>[1],
    transform: Parameters<IoAdapter['bindMessageHandlers']>[2],
  ): void {
    if (handlers.length) super.bindMessageHandlers(socket, handlers, transform);
  }

  /**
   * Nest binds every gateway's disconnect hook per socket, with two closures (its own and this adapter's);
   * the one gateway here (ProgressGateway) listens for `disconnect` itself with one shared function and has
   * no `handleDisconnect`, so nothing is bound here. A gateway that needs Nest's hook would have to bind it.
   */
  override bindClientDisconnect(): void {}

  override createIOServer(port: number, options?: ServerOptions): Server {
    const origins = this.origins;
    const server: Server = super.createIOServer(port, {
      ...options,
      path: '/socket.io',
      transports: ['polling', 'websocket'],
      maxHttpBufferSize: 1e6,
      pingInterval: 10_000,
      pingTimeout: 10_000,
      cors: origins ? { origin: origins, credentials: true } : undefined,
      allowRequest: (req: IncomingMessage, cb: (err: string | null | undefined, ok: boolean) => void) => {
        const origin = req.headers.origin;
        if (!origin) return cb(null, true);
        const sameOrigin = (() => {
          try {
            return new URL(origin).host === req.headers.host;
          } catch {
            return false;
          }
        })();
        if (sameOrigin || origins?.includes(origin)) return cb(null, true);
        cb('origin not allowed', false);
      },
    } as ServerOptions);
    // the cork patch goes on engine.io's websocket transport class, at the first websocket seen: until then a
    // connection that starts on polling patches it when it upgrades; afterwards nothing is done per connection
    let corked = false;
    const corkOnUpgrade = (transport: EngineTransport) => (corked ||= corkWebsocketSends(transport));
    server.engine.on('connection', (socket: EngineSocket) => {
      if (corked || (corked = corkWebsocketSends(socket.transport))) return;
      if (socket.transport?.name !== 'websocket') socket.once('upgrade', corkOnUpgrade);
    });
    // room broadcasts write each member's frame straight to its TCP socket when nothing is queued ahead of it
    if (!directRoomBroadcast(server.of('/').adapter))
      new Logger('RealtimeIoAdapter').warn('direct room broadcast unavailable');
    return server;
  }
}
