import { createConnection, createServer, Server, Socket } from 'node:net';
import { freePort } from './server';

/**
 * A small TCP proxy to put between the server and its database, so that a test can take the database
 * away (nothing listening: connections are refused, and every open connection is cut) and bring it back
 * on the same port, without touching the database itself.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private frozen = false;

  private constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Picks a free port; the proxy starts down (nothing listens there) until `up()`. */
  static async create(targetHost: string, targetPort: number): Promise<TcpProxy> {
    return new TcpProxy(await freePort(), targetHost, targetPort);
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** Starts listening and forwarding every connection to the target. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Stops listening and destroys every open connection, both ways: an outage, as the server sees it. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The database stops answering without going away (a hung server, a black-holed network): every open
   * connection stays open but nothing passes either way, and new connections are accepted and never forwarded.
   * What the server sends from then on is counted (`bytesSentWhileFrozen`) and dropped.
   */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.unpipe();
    for (const c of this.clients) this.sink(c);
  }

  /** Bytes the server sent towards the database since `freeze()`: queries that will never be answered. */
  bytesSentWhileFrozen = 0;

  private readonly clients = new Set<Socket>();

  private sink(client: Socket): void {
    client.on('data', (d: Buffer) => (this.bytesSentWhileFrozen += d.length)).resume();
  }

  private forward(client: Socket): void {
    if (this.frozen) {
      this.sockets.add(client);
      client.on('error', () => undefined);
      this.sink(client);
      return;
    }
    this.clients.add(client);
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      this.clients.delete(client);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
