/**
 * The two places where Stepline reaches into engine.io's internals, kept together so that one spec
 * (engine-internals.spec.ts) fails when an upgrade moves them, instead of the gains silently going away.
 */

export interface EngineTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: { cork(): void; uncork(): void }; bufferedAmount?: number };
  steplineCorked?: boolean;
}
export interface EngineSocket {
  transport: EngineTransport;
  on(event: 'upgrade', fn: (transport: EngineTransport) => void): void;
  once(event: 'upgrade', fn: (transport: EngineTransport) => void): void;
}

/**
 * engine.io's websocket transport writes each queued packet as its own frame, and each frame is a write
 * (a syscall) on the TCP socket; a commit of a 100-update batch sends 100 events to every subscriber.
 * Corking the socket around one `send(packets)` turns those into one writev — the same frames, in the
 * same order. Measured: ~13 % less server CPU per update in the batch benchmark.
 *
 * The patch goes on the transport's class (its prototype), once for the process: nothing per connection (a
 * bound `send` and a closure per socket cost memory on every idle connection). Given any websocket transport,
 * patches its class if that is not done yet; returns whether it is in place (false when the internals it
 * needs are missing).
 */
export function corkWebsocketSends(transport: EngineTransport | undefined): boolean {
  if (!transport || transport.name !== 'websocket') return false;
  if (transport.steplineCorked) return true;
  const proto = Object.getPrototypeOf(transport) as EngineTransport | null;
  if (
    !proto ||
    !Object.prototype.hasOwnProperty.call(proto, 'send') ||
    typeof proto.send !== 'function' ||
    typeof transport.socket?._socket?.cork !== 'function'
  )
    return false;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the transport as `this`
  const send = proto.send;
  proto.send = function corkedSend(this: EngineTransport, packets: unknown[]): void {
    const tcp = this.socket?._socket;
    if (packets.length < 2 || typeof tcp?.cork !== 'function') return send.call(this, packets);
    tcp.cork();
    try {
      send.call(this, packets);
    } finally {
      tcp.uncork();
    }
  };
  proto.steplineCorked = true;
  return true;
}

interface EngineConn {
  writeBuffer?: { data?: string | Buffer }[];
  transport?: { socket?: { bufferedAmount?: number } };
}

/** What waits to be sent to one client: in engine.io's own buffer (transport not writable) and in the websocket's. */
export function outboundBacklog(conn: unknown): { packets: number; bytes: number } {
  const c = conn as EngineConn;
  const queue = c.writeBuffer ?? [];
  let bytes = c.transport?.socket?.bufferedAmount ?? 0;
  for (const p of queue) bytes += p.data?.length ?? 0;
  return { packets: queue.length, bytes };
}

/** Drops what waits in engine.io's buffer for a client that is being cut off for not reading. */
export function dropBacklog(conn: unknown): void {
  (conn as EngineConn).writeBuffer = [];
}

interface DirectConn {
  readyState?: string;
  upgrading?: boolean;
  writeBuffer?: unknown[];
  transport?: {
    name?: string;
    perMessageDeflate?: unknown;
    socket?: {
      readyState?: number;
      _sender?: { _state?: number; _queue?: unknown[] };
      _socket?: { destroyed?: boolean; writableLength?: number; write(b: Buffer): boolean };
    };
  };
}

/**
 * Writes an already-framed websocket message straight to the client's TCP socket, when nothing of
 * engine.io's or ws's own can be waiting ahead of it: a websocket transport without compression, open,
 * nothing in engine.io's write buffer, nothing in ws's queue, nothing unsent in the TCP socket's buffer. Then the TCP stream's order is the send
 * order (the frames engine.io has already handed to ws are in the stream before this one); otherwise the
 * caller goes through engine.io. Returns whether it wrote.
 */
export function writeFrameDirect(conn: unknown, frame: Buffer): boolean {
  const c = conn as DirectConn;
  const t = c.transport;
  if (c.readyState !== 'open' || c.upgrading || t?.name !== 'websocket' || t.perMessageDeflate) return false;
  if (!c.writeBuffer || c.writeBuffer.length) return false;
  const ws = t.socket;
  const sender = ws?._sender;
  const tcp = ws?._socket;
  // ws's sender `_state` is 0 (DEFAULT) unless it is compressing or reading a Blob
  if (
    ws?.readyState !== 1 ||
    !sender ||
    (sender._state ?? 0) !== 0 ||
    sender._queue?.length ||
    !tcp ||
    tcp.destroyed
  )
    return false;
  // a client that does not keep up: the frame goes through engine.io, whose buffer then holds what follows
  // (where the slow-consumer cut can drop it), rather than piling up unbounded in the socket's own buffer
  if (tcp.writableLength !== 0) return false;
  tcp.write(frame);
  return true;
}

interface RoomAdapter {
  nsp: { name: string };
  broadcast(packet: Record<string, unknown>, opts: { flags?: Record<string, unknown> }): void;
  _encode?(packet: unknown, packetOpts: Record<string, unknown>): unknown[];
  apply?(
    opts: unknown,
    fn: (socket: {
      conn: unknown;
      client: { writeToEngine(p: unknown[], o: unknown): void };
      notifyOutgoingListeners?: (p: unknown) => void;
    }) => void,
  ): void;
  steplineDirect?: boolean;
}

/**
 * A room broadcast in Socket.IO encodes the packet and its websocket frame once, then hands the frame to
 * each member through engine.io: a packet object, five event emits, a write callback and a cork per socket,
 * ~13 µs of CPU per delivery on this machine, which at 1,000 subscribers × 50 events/s is most of a core.
 * This replaces the in-memory adapter's `broadcast` on one adapter instance with the same steps (Socket.IO's
 * own `_encode` and `apply`) whose last one writes the frame's bytes straight to each member's TCP socket
 * when `writeFrameDirect` allows it, and goes through engine.io otherwise. Returns whether it is in place
 * (false, and nothing changed, when the internals it needs are missing).
 */
export function directRoomBroadcast(adapter: unknown): boolean {
  const a = adapter as RoomAdapter;
  if (a.steplineDirect) return true;
  if (typeof a._encode !== 'function' || typeof a.apply !== 'function' || typeof a.broadcast !== 'function')
    return false;
  a.broadcast = function directBroadcast(this: RoomAdapter, packet, opts): void {
    const flags = opts.flags ?? {};
    const packetOpts: Record<string, unknown> = {
      preEncoded: true,
      volatile: flags.volatile,
      compress: flags.compress,
    };
    packet.nsp = this.nsp.name;
    const encoded = this._encode!(packet, packetOpts);
    const parts = packetOpts.wsPreEncodedFrame as Buffer[] | undefined;
    const frame = Array.isArray(parts) && !flags.volatile ? Buffer.concat(parts) : undefined;
    this.apply!(opts, (socket) => {
      socket.notifyOutgoingListeners?.(packet);
      if (frame && writeFrameDirect(socket.conn, frame)) return;
      socket.client.writeToEngine(encoded, packetOpts);
    });
  };
  a.steplineDirect = true;
  return true;
}
