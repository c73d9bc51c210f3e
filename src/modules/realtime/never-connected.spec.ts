import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { whenNeverConnected } from './socket-listeners';

/**
 * The gateway releases a connection slot taken in its middleware when Socket.IO drops the socket without a
 * connect or a disconnect (the client went away while the key was looked up). That rests on Socket.IO's
 * order (namespace.js `_add`: connect on the tick after `next()`, or drop when the connection is no longer
 * open): these tests hold it there, on a real server, with a middleware that waits for a promise the test
 * controls — they fail if an upgrade moves that order.
 */
describe('whenNeverConnected (Socket.IO drops a socket whose client left during the middleware)', () => {
  let http: HttpServer;
  let ioServer: Server;
  let client: ClientSocket | undefined;
  const tcp: NetSocket[] = [];
  let gate: { release: () => void; pending: Promise<void> };
  let inMiddleware: Promise<Socket>;
  let fired: number;
  let firedOnce: Promise<void>;
  let connected: number;

  beforeEach(async () => {
    tcp.length = 0;
    fired = 0;
    connected = 0;
    let onFire!: () => void;
    firedOnce = new Promise((r) => (onFire = r));
    let release!: () => void;
    gate = { release: () => release(), pending: new Promise<void>((r) => (release = r)) };
    http = createServer();
    http.on('connection', (s: NetSocket) => tcp.push(s));
    ioServer = new Server(http, { transports: ['websocket'] });
    let entered!: (s: Socket) => void;
    inMiddleware = new Promise((r) => (entered = r));
    ioServer.use((socket, next) => {
      entered(socket);
      void gate.pending.then(() => {
        next();
        whenNeverConnected(socket, () => {
          fired++;
          onFire();
        });
      });
    });
    ioServer.on('connection', () => connected++);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const { port } = http.address() as AddressInfo;
    client = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
  });

  afterEach(async () => {
    client?.disconnect();
    for (const s of tcp) s.destroy();
    await ioServer.close();
  });

  it('fires once when the connection closed while the middleware waited, and the socket never connects', async () => {
    const socket = await inMiddleware;
    // the client is gone before the middleware calls next()
    for (const s of tcp) s.destroy();
    while (socket.conn.readyState !== 'closed') await new Promise((r) => setTimeout(r, 5));
    gate.release();
    // the sentinel: it fires on the tick after Socket.IO decided, so the decision is in by then
    await firedOnce;
    expect(connected).toBe(0);
    expect(socket.connected).toBe(false);
    expect(fired).toBe(1);
  });

  it('does not fire when the socket connects (its disconnect releases instead)', async () => {
    const socket = await inMiddleware;
    gate.release();
    // the client hears of the connect a network round trip after the server's tick that would have fired
    await new Promise<void>((r) => (client!.connected ? r() : client!.once('connect', () => r())));
    expect(connected).toBe(1);
    expect(socket.connected).toBe(true);
    expect(fired).toBe(0);
  });
});
