export type Ack = Record<string, unknown>;
export type Reply = (res: Ack) => void;
/** A client message's handler: answers with its return value, or earlier through `reply` (once either way). */
export type MessageHandler<S> = (socket: S, body: unknown, reply: Reply) => Ack | Promise<Ack>;
/** A Socket.IO listener: Socket.IO calls it with the socket as `this`. */
export type SocketListener<S> = (this: S, body: unknown, ack?: unknown) => void;

/**
 * The listeners of a gateway's client messages, made once for all sockets (#19, idle sockets): each socket
 * registers the same functions, so that an idle connection holds no closures of its own, only its entries
 * in the listener lists. A listener runs the message's handler with the socket it was called on; the ack
 * goes out once: at once when the handler calls `reply` before it returns, else with its result; a handler
 * that throws answers `{ ok: false, code: 'unavailable' }`.
 */
export function sharedListeners<E extends string, S>(
  handlers: Record<E, MessageHandler<S>>,
): Readonly<Record<E, SocketListener<S>>> {
  const table = {} as Record<E, SocketListener<S>>;
  for (const event of Object.keys(handlers) as E[]) {
    const handler = handlers[event];
    table[event] = function (this: S, body: unknown, ack?: unknown): void {
      let replied = false;
      const reply: Reply = (res) => {
        if (replied) return;
        replied = true;
        if (typeof ack === 'function') (ack as Reply)(res);
      };
      void Promise.resolve()
        .then(() => handler(this, body, reply))
        .catch((): Ack => ({ ok: false, code: 'unavailable' }))
        .then(reply);
    };
  }
  return table;
}

/** What `whenNeverConnected` needs of a Socket.IO server socket. */
export interface PendingSocket {
  readonly connected: boolean;
  readonly conn: { readonly readyState: string };
}

/**
 * Call right after a Socket.IO middleware's `next()`: Socket.IO connects the socket on the tick after
 * `next()` (namespace.js `_add`), or drops it without a connect or a disconnect when the client went away
 * while the middleware waited. This runs `fn` in that second case only, on the tick after Socket.IO decided
 * (a close listener per connection would do the same for ~200 bytes per idle socket).
 * socket-listeners.spec.ts holds it to Socket.IO's order, on a real server.
 */
export function whenNeverConnected(socket: PendingSocket, fn: () => void): void {
  process.nextTick(() => {
    if (!socket.connected && socket.conn.readyState !== 'open') fn();
  });
}
