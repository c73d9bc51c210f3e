import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import {
  corkWebsocketSends,
  directRoomBroadcast,
  outboundBacklog,
  type EngineSocket,
} from './engine-internals';

/**
 * Tripwires for the engine.io internals Stepline relies on: each test fails if an upgrade of engine.io/ws
 * moves what the patch touches (the patch would otherwise go quiet and the gain with it).
 */
describe('engine.io internals (tripwires)', () => {
  let http: HttpServer;
  let ioServer: Server;
  let client: ClientSocket | undefined;
  const tcp: NetSocket[] = [];
  let direct = false;

  beforeEach(async () => {
    tcp.length = 0;
    http = createServer();
    http.on('connection', (s: NetSocket) => tcp.push(s));
    ioServer = new Server(http, { transports: ['websocket'] });
    ioServer.engine.on('connection', (socket: EngineSocket) => corkWebsocketSends(socket.transport));
    direct = directRoomBroadcast(ioServer.of('/').adapter);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  });

  afterEach(async () => {
    client?.disconnect();
    for (const s of tcp) s.destroy();
    await ioServer.close();
  });

  const open = async () => {
    const { port } = http.address() as AddressInfo;
    const serverSide = new Promise<import('socket.io').Socket>((r) => ioServer.once('connection', r));
    client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
    const socket = await serverSide;
    await new Promise<void>((r) => (client!.connected ? r() : client!.once('connect', () => r())));
    return socket;
  };

  it('corks the websocket so that a burst of events leaves in one writev', async () => {
    const socket = await open();
    expect((socket.conn.transport as unknown as { steplineCorked?: boolean }).steplineCorked).toBe(true);
    // on the class, once: nothing of the patch is held per connection
    expect(Object.prototype.hasOwnProperty.call(socket.conn.transport, 'send')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(socket.conn.transport, 'steplineCorked')).toBe(false);
    const server = tcp[tcp.length - 1] as NetSocket & { _writev: (...a: unknown[]) => unknown };
    const writev = server._writev.bind(server);
    let writes = 0;
    server._writev = (...a: unknown[]) => {
      writes++;
      return writev(...a);
    };
    const got = new Promise<void>((resolve) => {
      let n = 0;
      client!.on('e', () => ++n === 40 && resolve());
    });
    // the first emit goes out alone and makes the transport busy; the other 39 queue and leave in one send()
    for (let i = 0; i < 40; i++) socket.emit('e', { i, pad: 'x'.repeat(64) });
    await got;
    // corked: the 39 queued frames are one writev (header and payload of each frame included); without the
    // cork, ws writes every frame on its own (39 writev calls)
    expect(writes).toBeLessThanOrEqual(3);
  });

  it('reads what waits for a client that does not read (writeBuffer and the websocket buffer)', async () => {
    const socket = await open();
    expect(outboundBacklog(socket.conn)).toEqual({ packets: 0, bytes: 0 });
    // the client stops reading: its TCP receive window fills, then the server's buffers
    const engine = (client as unknown as { io: { engine: { transport: { ws: { _socket: NetSocket } } } } }).io
      .engine;
    engine.transport.ws._socket.pause();
    const chunk = 'y'.repeat(64 * 1024);
    let backlog = { packets: 0, bytes: 0 };
    for (let i = 0; i < 400 && backlog.bytes < 4 * 1024 * 1024; i++) {
      socket.emit('big', chunk);
      if (i % 20 === 19) {
        await new Promise((r) => setImmediate(r));
        backlog = outboundBacklog(socket.conn);
      }
    }
    backlog = outboundBacklog(socket.conn);
    expect(backlog.bytes).toBeGreaterThan(1024 * 1024);
  });

  /** engine.io's packets of type "message" created for one connection (each send through engine.io makes one). */
  const countEnginePackets = (socket: import('socket.io').Socket) => {
    const seen = { n: 0 };
    socket.conn.on('packetCreate', (p: { type: string }) => p.type === 'message' && seen.n++);
    return seen;
  };

  const receive = (event: string, n: number) =>
    new Promise<number[]>((resolve) => {
      const got: number[] = [];
      client!.on(event, (m: { i: number }) => {
        got.push(m.i);
        if (got.length === n) resolve(got);
      });
    });

  it("writes a room broadcast's frame straight to the TCP socket, past engine.io", async () => {
    expect(direct).toBe(true);
    const socket = await open();
    await socket.join('room');
    const engine = countEnginePackets(socket);
    const got = receive('e', 20);
    for (let i = 0; i < 20; i++) ioServer.to('room').emit('e', { i, pad: 'z'.repeat(200) });
    expect(await got).toEqual([...Array(20).keys()]);
    // without the patch every broadcast is an engine.io packet (20 here)
    expect(engine.n).toBe(0);
  });

  it('keeps the send order when direct broadcasts and engine.io sends interleave', async () => {
    const socket = await open();
    await socket.join('room');
    const engine = countEnginePackets(socket);
    const got = receive('e', 300);
    // a socket.emit goes through engine.io and leaves the transport busy, so that the following emits wait in
    // engine.io's buffer; a broadcast then must not overtake them (it goes through engine.io too)
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) socket.emit('e', { i });
      else ioServer.to('room').emit('e', { i });
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    expect(await got).toEqual([...Array(300).keys()]);
    // both paths were taken
    expect(engine.n).toBeGreaterThanOrEqual(100);
    expect(engine.n).toBeLessThan(300);
  });
});
