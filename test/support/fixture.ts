import { client, Client } from './http';
import { RunningServer, startServer } from './server';
import { createTestDatabase, TestDatabase } from './test-db';

export interface ServerFixture {
  db: TestDatabase;
  server: RunningServer;
  /** A client with the admin key. */
  admin: Client;
}

/**
 * One real server per spec file, on a fresh database: started in beforeAll (then `ready` is called with it),
 * stopped and its database dropped in afterAll.
 */
export function useServer(ready: (fx: ServerFixture) => void, env?: Record<string, string>): void {
  let db: TestDatabase | undefined;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer({ databaseUrl: db.url, env });
    ready({ db, server, admin: client(server.url) });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });
}
