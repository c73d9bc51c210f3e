import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { sharedListeners } from './socket-listeners';

/**
 * The gateway's message listeners (#19, idle sockets), on a real Socket.IO server: made once, the same
 * functions on every socket (no closures per connection), and still answering each socket on its own.
 */
describe('sharedListeners', () => {
  let http: HttpServer;
  let ioServer: Server;
  const clients: ClientSocket[] = [];
  const tcp: NetSocket[] = [];
  let made = 0;

  const listeners = sharedListeners<'whoami' | 'early' | 'boom', Socket>({
    whoami: (socket, body) => ({ ok: true, id: socket.data.name, body }),
    // answers through reply before it returns; the later return value is not sent a second time
    early: async (_socket, _body, reply) => {
      reply({ ok: true, early: true });
      await new Promise((r) => setImmediate(r));
      return { ok: true, early: false };
    },
    boom: () => {
      throw new Error('boom');
    },
  });

  beforeEach(async () => {
    http = createServer();
    http.on('connection', (s: NetSocket) => tcp.push(s));
    ioServer = new Server(http, { transports: ['websocket'] });
    ioServer.on('connection', (socket) => {
      socket.data.name = `s${++made}`;
      for (const event of ['whoami', 'early', 'boom'] as const) socket.on(event, listeners[event]);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const s of tcp.splice(0)) s.destroy();
    await ioServer.close();
  });

  const open = async (): Promise<[Socket, ClientSocket]> => {
    const { port } = http.address() as AddressInfo;
    const serverSide = new Promise<Socket>((r) => ioServer.once('connection', r));
    const client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
    clients.push(client);
    const socket = await serverSide;
    await new Promise<void>((r) => (client.connected ? r() : client.once('connect', () => r())));
    return [socket, client];
  };

  it('registers the same functions on every socket', async () => {
    const [a] = await open();
    const [b] = await open();
    for (const event of ['whoami', 'early', 'boom']) {
      expect(a.listeners(event)).toHaveLength(1);
      expect(a.listeners(event)[0]).toBe(b.listeners(event)[0]);
    }
  });

  it('answers each socket on its own, once, and unavailable when the handler throws', async () => {
    const [a, c1] = await open();
    const [b, c2] = await open();
    const [r1, r2] = await Promise.all([c1.emitWithAck('whoami', 1), c2.emitWithAck('whoami', 2)]);
    expect(r1).toEqual({ ok: true, id: a.data.name, body: 1 });
    expect(r2).toEqual({ ok: true, id: b.data.name, body: 2 });
    expect(await c1.emitWithAck('early', null)).toEqual({ ok: true, early: true });
    expect(await c2.emitWithAck('boom', null)).toEqual({ ok: false, code: 'unavailable' });
  });
});
