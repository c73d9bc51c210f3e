import { join } from 'node:path';
import { io } from 'socket.io-client';
import { createKey, expectStatus } from './support/http';
import { RunningServer } from './support/server';
import { ServerFixture, useServer } from './support/fixture';

const PROBE = join(__dirname, 'support', 'module-probe.js');

/** The CommonJS modules the server process has loaded, asked of the preloaded probe over IPC. */
function loadedModules(s: RunningServer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { modules?: string[] }) => {
      if (!m.modules) return;
      s.proc.off('message', onMessage);
      resolve(m.modules.map((p) => p.replace(/\\/g, '/')));
    };
    s.proc.on('message', onMessage);
    s.proc.send('modules', (err) => err && reject(err));
  });
}

/**
 * What a server carries that it never uses is memory every instance pays (#19's idle-socket target). These
 * are the tripwires of the measures that keep it out: TypeORM's driver factory replaced by one that loads
 * only the driver asked for (src/database/typeorm-drivers.ts, a patch of TypeORM's module), and ioredis
 * loaded only with REDIS_URL. Each fails when its measure stops working, e.g. after an upgrade.
 */
describe('boot footprint', () => {
  let fx: ServerFixture;
  useServer((f) => (fx = f), {}, { start: false });
  let modules: string[];

  beforeAll(async () => {
    const s = await fx.start({ nodeArgs: ['-r', PROBE], ipc: true });
    // exercise the database and a socket before looking: what loads on first use counts too
    const created = await fx.admin.post('/api/projects/footprint/workflows', {
      type: 'footprint',
      steps: [{ id: 's1' }],
    });
    expectStatus(created, 201);
    const token = await createKey(fx.admin, 'viewer', ['footprint']);
    const socket = io(s.url, { transports: ['websocket'], auth: { token }, forceNew: true });
    try {
      const ack = await socket.timeout(10_000).emitWithAck('subscribe', { projectId: 'footprint' });
      expect(ack).toMatchObject({ ok: true });
    } finally {
      socket.close();
    }
    modules = await loadedModules(s);
  });

  it('loads the query runner of its own database only, not those of the 16 others TypeORM knows', () => {
    const runners = modules
      .filter((m) => /\/typeorm\/driver\/.*QueryRunner\.js$/.test(m))
      .map((m) => m.replace(/^.*\/typeorm\/driver\//, ''))
      .sort();
    expect(runners).toEqual(
      fx.db.kind === 'mysql'
        ? ['mysql/MysqlQueryRunner.js']
        : ['better-sqlite3/BetterSqlite3QueryRunner.js', 'sqlite-abstract/AbstractSqliteQueryRunner.js'],
    );
  });

  it('does not load the Redis client without REDIS_URL', () => {
    expect(modules.filter((m) => m.includes('/node_modules/ioredis/'))).toEqual([]);
    // the probe sees the server's modules at all (mysql2 on MariaDB, better-sqlite3 on SQLite)
    expect(modules.some((m) => /\/node_modules\/(mysql2|better-sqlite3)\//.test(m))).toBe(true);
  });
});
