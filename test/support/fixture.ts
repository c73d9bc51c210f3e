import { client, Client } from './http';
import { RunningServer, startServer, StartOptions } from './server';
import { createTestDatabase, TestDatabase } from './test-db';

export interface ServerFixture {
  db: TestDatabase;
  /** The spec's server (after `restart`, the new process). Unset with `{ start: false }` until `start`. */
  server: RunningServer;
  /** A client with the admin key, for `server`. */
  admin: Client;
  /**
   * Starts one more server on the spec's database (or `databaseUrl`), with the fixture's env under `env`;
   * the first one started becomes `server` when there is none. Stopped in afterAll if still running.
   */
  start(opts?: Partial<StartOptions>): Promise<RunningServer>;
  /**
   * Stops `server` (SIGTERM, or SIGKILL with `crash`; nothing if it has exited already) and starts it again
   * on the same database and the same port, so that clients reconnect to the same URL; `server` and `admin`
   * then point at the new process.
   */
  restart(opts?: {
    crash?: boolean;
    env?: Record<string, string>;
    /** Runs while no server is up (e.g. to put the database back to an older schema). */
    between?: (db: TestDatabase) => Promise<void>;
  }): Promise<RunningServer>;
}

export interface FixtureOptions {
  /** Start `server` in beforeAll (default). With false, the spec calls `fx.start()` itself. */
  start?: boolean;
  /** The URL servers reach the database by (e.g. through a TCP proxy); default the database's own. */
  databaseUrl?: (db: TestDatabase) => string | Promise<string>;
  /** What `startServer` waits for: /health 200 (default) or only the port. */
  waitFor?: 'healthy' | 'listening';
}

/**
 * One real server per spec file (or describe block), on a fresh database: created in beforeAll (then `ready`
 * is called with the fixture, whose `server` and `admin` follow restarts), every server it started stopped
 * and the database dropped in afterAll. Specs that need several servers or restarts use `start`/`restart`
 * rather than their own lifecycle.
 */
export function useServer(
  ready: (fx: ServerFixture) => void,
  env?: Record<string, string>,
  options: FixtureOptions = {},
): void {
  const started = new Set<RunningServer>();
  let dbUrl = '';
  const fx = {} as ServerFixture;
  fx.start = async (opts = {}) => {
    const s = await startServer({
      databaseUrl: dbUrl,
      waitFor: options.waitFor,
      ...opts,
      env: { ...env, ...opts.env },
    });
    started.add(s);
    if (!fx.server) {
      fx.server = s;
      fx.admin = client(s.url);
    }
    return s;
  };
  fx.restart = async ({ crash = false, env: extra, between } = {}) => {
    const old = fx.server;
    if (crash) await old.kill();
    else await old.stop();
    started.delete(old);
    if (between) await between(fx.db);
    const s = await startServer({
      databaseUrl: dbUrl,
      waitFor: options.waitFor,
      port: old.port,
      env: { ...env, ...extra },
    });
    started.add(s);
    fx.server = s;
    fx.admin = client(s.url);
    return s;
  };
  beforeAll(async () => {
    fx.db = await createTestDatabase();
    dbUrl = options.databaseUrl ? await options.databaseUrl(fx.db) : fx.db.url;
    if (options.start !== false) await fx.start();
    ready(fx);
  });
  afterAll(async () => {
    await Promise.all([...started].map((s) => s.stop()));
    await fx.db?.drop();
  });
}
