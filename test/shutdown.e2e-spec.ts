import { eventually } from './support/browser';
import { client, Client } from './support/http';
import { useServer } from './support/fixture';
import { RunningServer } from './support/server';
import { TcpProxy } from './support/tcp-proxy';
import { usingMysql } from './support/test-db';

/**
 * Graceful shutdown has a deadline (SHUTDOWN_TIMEOUT_MS): a database that stops answering in the middle of
 * requests leaves queries that never return, and the shutdown hooks that end the pools wait behind them.
 * Without the deadline the stopped process never exits (and keeps its port); with it, it logs what it was
 * waiting on and exits with code 1. MariaDB only: the database must be on the far side of a network the test
 * can freeze (a TCP proxy); SQLite has none.
 */
const describeOnMysql = usingMysql() ? describe : describe.skip;

describeOnMysql('shutdown deadline (MariaDB behind a TCP proxy that stops forwarding)', () => {
  let proxy: TcpProxy;
  let server: RunningServer;
  let admin: Client;

  useServer(
    (fx) => ({ server, admin } = fx),
    { SHUTDOWN_TIMEOUT_MS: process.env.TEST_SHUTDOWN_TIMEOUT_MS ?? '1500' },
    {
      databaseUrl: async (db) => {
        proxy = await TcpProxy.create(db.host!, db.port!);
        await proxy.up();
        const url = new URL(db.url);
        url.hostname = '127.0.0.1';
        url.port = String(proxy.port);
        return url.toString();
      },
    },
  );

  afterAll(async () => {
    await proxy?.down();
  });

  it('a server whose database hangs mid-request still exits after SIGTERM, with code 1 and a log line saying why', async () => {
    const res = await admin.post('/api/projects/shut/workflows', {
      id: 'before',
      type: 't',
      steps: [{ id: 'a' }],
    });
    expect(res.status).toBe(201);

    proxy.freeze();
    // requests whose queries now never return: the pools have work in flight when the signal comes
    const hung = client(server.url);
    const inFlight = [0, 1, 2].map((i) =>
      hung
        .post('/api/projects/shut/workflows', { id: `hung-${i}`, type: 't', steps: [{ id: 'a' }] })
        .catch((e: Error) => e),
    );
    // the server has sent their queries (the proxy counts what it swallows) before the signal is sent
    await eventually(() => Promise.resolve(expect(proxy.bytesSentWhileFrozen).toBeGreaterThan(0)));

    await server.stop(); // SIGTERM, then waits for the exit
    expect(server.proc.exitCode).toBe(1);
    expect(server.output()).toMatch(/graceful shutdown on SIGTERM did not finish within 1500 ms; exiting/);
    // every request in flight got an answer or a closed connection: none is left hanging
    const settled = await Promise.all(inFlight);
    expect(settled).toHaveLength(3);
  }, 60_000);
});
