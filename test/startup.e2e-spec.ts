import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ServerFixture, useServer } from './support/fixture';
import { client } from './support/http';

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');

describe('startup', () => {
  it.each([
    ['PORT', 'not-a-port'],
    ['DATABASE_URL', 'postgres://nope'],
    ['ADMIN_TOKEN', 'short'],
    ['EVENT_RETENTION_HOURS', '-3'],
  ])('a bad %s stops the start with a message naming it', (name, value) => {
    const res = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, DATABASE_URL: 'sqlite::memory:', [name]: value },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).not.toBe(0);
    expect(`${res.stdout}${res.stderr}`).toContain(name);
  });

  describe('admin token', () => {
    // no ADMIN_TOKEN in the environment: the spec starts the two servers itself, one after the other
    let fx: ServerFixture;
    useServer((f) => (fx = f), { ADMIN_TOKEN: '' }, { start: false });

    it('is generated on first start, printed once, stored hashed, and works', async () => {
      const first = await fx.start();
      let token: string;
      try {
        const m = /admin token \(shown once[^)]*\): (\S+)/.exec(first.output());
        expect(m).not.toBeNull();
        token = m![1];
        const keys = await client(first.url, token).get('/api/keys');
        expect(keys.status).toBe(200);
        expect(JSON.stringify(keys.body)).not.toContain(token);
        expect((await client(first.url, 'stl_wrong').get('/api/keys')).status).toBe(401);
      } finally {
        await first.stop();
      }
      const second = await fx.start();
      try {
        expect(second.output()).not.toContain('shown once');
        expect((await client(second.url, token).get('/api/keys')).status).toBe(200);
      } finally {
        await second.stop();
      }
    });
  });
});
