import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { waitFor } from '../../../test/support/live-clients';
import {
  releaseHandshake,
  releaseUpgradeRequests,
  type HandshakeParts,
  type RequestParts,
  type UpgradingEngine,
} from './handshake-release';

// a full collection on demand, without starting jest with --expose-gc
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * An idle socket should not hold its handshake's headers, query and auth (#19's idle-memory target): the
 * gateway lets them go once connected. This holds, on a real Socket.IO server, that what it lets go is then
 * collected, i.e. that Socket.IO and engine.io keep no other reference to it. It fails when an upgrade of
 * either starts keeping one (and the control shows that, not let go, the same objects stay).
 */
describe('releaseHandshake (what a connected socket lets go of its handshake is collected)', () => {
  let http: HttpServer;
  let ioServer: Server;
  const clients: ClientSocket[] = [];
  let release = true;
  let held: WeakRef<object>[] = [];
  let connected: Promise<Socket>;
  let onConnected: (s: Socket) => void;

  beforeAll(async () => {
    http = createServer();
    ioServer = new Server(http, { transports: ['websocket'] });
    ioServer.on('connection', (socket) => {
      const hs = socket.handshake as unknown as HandshakeParts;
      const conn = socket.conn as unknown as { request: (RequestParts & object) | null };
      const req = conn.request!;
      held = [hs.headers as object, hs.query as object, hs.auth as object, req.rawHeaders as object].map(
        (o) => new WeakRef(o),
      );
      if (release) {
        releaseHandshake(hs, req);
        conn.request = null;
      }
      onConnected(socket);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await new Promise<void>((r) => void ioServer.close(() => r()));
  });

  async function connectOne(): Promise<Socket> {
    connected = new Promise((r) => (onConnected = r));
    const { port } = http.address() as AddressInfo;
    const c = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token: 'a-secret-token' },
      query: { some: 'query' },
      extraHeaders: { 'x-some-header': 'value' },
    });
    clients.push(c);
    const socket = await connected;
    // the client's connect, after the server's: every step of the handshake has run
    await new Promise<void>((r) => (c.connected ? r() : c.once('connect', () => r())));
    return socket;
  }

  /** Which of the captured objects are still alive after a full collection (a few turns, to be sure). */
  async function alive(): Promise<boolean[]> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    return held.map((w) => w.deref() !== undefined);
  }

  it('let go: the headers, query, auth and raw headers of a connected socket are collected', async () => {
    release = true;
    const socket = await connectOne();
    expect(await alive()).toEqual([false, false, false, false]);
    // what the socket still answers with
    expect(socket.handshake.headers).toEqual({});
    expect(socket.handshake.address).toBeTruthy();
    expect(socket.connected).toBe(true);
  });

  it('control: not let go, the same objects stay for the connection’s life', async () => {
    release = false;
    const socket = await connectOne();
    expect(await alive()).toEqual([true, true, true, true]);
    expect(socket.handshake.auth).toEqual({ token: 'a-secret-token' });
  });
});

/**
 * The same for a client that starts on long-polling and upgrades (socket.io-client's default): its upgrade
 * request, which engine.io keeps for the connection's life, is emptied once the session has upgraded.
 */
describe('releaseUpgradeRequests (the upgrade request of a polling client is let go once upgraded)', () => {
  const servers: { http: HttpServer; io: Server }[] = [];
  const clients: ClientSocket[] = [];

  afterAll(async () => {
    // a polling client's engine closes after its last request: wait for it (jest tears down after this)
    await Promise.all(
      clients.map((c) => {
        const closed = new Promise<void>((r) =>
          c.io.engine && c.io.engine.readyState !== 'closed' ? c.io.engine.once('close', () => r()) : r(),
        );
        c.disconnect();
        return closed;
      }),
    );
    for (const s of servers) await new Promise<void>((r) => void s.io.close(() => r()));
  });

  /** A polling client that upgrades; the upgrade request's headers and raw headers, weakly held. */
  async function upgradeOne(release: boolean): Promise<{ held: WeakRef<object>[]; req: RequestParts }> {
    const http = createServer();
    const ioServer = new Server(http);
    servers.push({ http, io: ioServer });
    if (release) releaseUpgradeRequests(ioServer.engine as unknown as UpgradingEngine);
    let req: RequestParts | undefined;
    let held: WeakRef<object>[] = [];
    // the upgrade request as it arrives, before anything is let go
    (ioServer.engine as unknown as UpgradingEngine).on('headers', (_h, r) => {
      if ((r._query as { transport?: string }).transport !== 'websocket') return;
      req = r;
      held = [r.headers as object, r.rawHeaders as object].map((o) => new WeakRef(o));
    });
    const upgraded = new Promise<void>((r) =>
      ioServer.engine.on('connection', (conn) => conn.once('upgrade', r)),
    );
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const { port } = http.address() as AddressInfo;
    const c = connect(`http://127.0.0.1:${port}`, {
      transports: ['polling', 'websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: { 'x-some-header': 'value' },
    });
    clients.push(c);
    await upgraded;
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    return { held, req: req! };
  }

  it('let go: once upgraded, the upgrade request keeps no headers and they are collected', async () => {
    const { held, req } = await upgradeOne(true);
    expect(held.map((w) => w.deref() !== undefined)).toEqual([false, false]);
    expect(req.headers).toEqual({});
    expect(req.rawHeaders).toEqual([]);
  });

  it('control: not let go, engine.io keeps them for the connection’s life', async () => {
    const { held, req } = await upgradeOne(false);
    expect(held.map((w) => w.deref() !== undefined)).toEqual([true, true]);
    expect(req.headers).toMatchObject({ 'x-some-header': 'value' });
  });

  /** A server that lets upgrade requests go, and a polling session on it (upgrading itself, or not). */
  async function session(upgrade: boolean) {
    const http = createServer();
    const ioServer = new Server(http);
    servers.push({ http, io: ioServer });
    releaseUpgradeRequests(ioServer.engine as unknown as UpgradingEngine);
    // (only when it upgrades: the tests below count the session's `upgrade` listeners)
    const upgraded =
      upgrade &&
      new Promise<void>((r) => ioServer.engine.on('connection', (conn) => conn.once('upgrade', r)));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const { port } = http.address() as AddressInfo;
    const c = connect(`http://127.0.0.1:${port}`, {
      transports: upgrade ? ['polling', 'websocket'] : ['polling'],
      forceNew: true,
      reconnection: false,
    });
    clients.push(c);
    await new Promise<void>((r) => c.once('connect', () => r()));
    if (upgrade) await upgraded;
    const sid = c.io.engine.id;
    const conn = (ioServer.engine as unknown as UpgradingEngine).clients[sid] as unknown as {
      listenerCount(e: string): number;
    };
    /** A websocket upgrade request for the session, by hand (as a client retrying its upgrade would). */
    const upgradeRequest = () =>
      new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    return { conn, upgradeRequest };
  }

  it('an upgrade request engine.io turns away (the session has upgraded already) leaves no listener', async () => {
    const { conn, upgradeRequest } = await session(true);
    const extra = upgradeRequest();
    // engine.io closes it at once: "transport had already been upgraded"
    await new Promise<void>((r) => extra.once('close', () => r()));
    expect(conn.listenerCount('upgrade')).toBe(0);
  });

  it('an upgrade that never completes has its listener removed when its connection closes', async () => {
    const { conn, upgradeRequest } = await session(false);
    const extra = upgradeRequest();
    await new Promise<void>((r) => extra.once('open', () => r()));
    // under way: the session waits for the probe, with the listener on it
    await waitFor(() => conn.listenerCount('upgrade') === 1, 'the listener of the upgrade under way');
    extra.terminate();
    await waitFor(() => conn.listenerCount('upgrade') === 0, 'the listener to go with the connection');
  });
});
