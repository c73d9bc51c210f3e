import { shownValue, validateEnv } from './env.validation';

describe('configuration errors never print a secret', () => {
  it('hides variables named like secrets and the password of a URL', () => {
    expect(shownValue('ADMIN_TOKEN', 'short-secret')).toBe('(hidden, 12 characters)');
    expect(shownValue('DATABASE_URL', 'mysql://u:p4ss@h:3306/db')).toBe('"mysql://u:***@h:3306/db"');
    expect(shownValue('REDIS_URL', 'redis://:p4ss@h:6379')).toBe('"redis://:***@h:6379"');
    expect(shownValue('REDIS_URL', 'redis://p4ss@h:6379')).toBe('"redis://***@h:6379"');
    expect(shownValue('REDIS_URL', 'redis:/p4ss@h')).toBe('"***@h"');
    // a raw `@` in the password: the user info runs to the last `@` of the authority
    expect(shownValue('DATABASE_URL', 'postgres://u:p@ss@h/db')).toBe('"postgres://u:***@h/db"');
    expect(shownValue('REDIS_URL', 'redis://p@ss@h:6379/0?x=a@b')).toBe('"redis://***@h:6379/0?x=a@b"');
    expect(shownValue('RATE_LIMIT_PER_KEY', -1)).toBe('"-1"');
  });

  it('names every bad variable and prints none of their secrets', () => {
    let message = '';
    try {
      validateEnv({
        ADMIN_TOKEN: 'too-short',
        DATABASE_URL: 'postgres://u:s3cr3t@h/db',
        SQLITE_SYNCHRONOUS: 'OFF',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/ADMIN_TOKEN=\(hidden, 9 characters\)/);
    expect(message).toMatch(/DATABASE_URL="postgres:\/\/u:\*\*\*@h\/db"/);
    expect(message).toMatch(/SQLITE_SYNCHRONOUS/);
    expect(message).not.toMatch(/too-short|s3cr3t/);
  });
});

describe('cluster configuration', () => {
  const cluster = { DATABASE_URL: 'mysql://u@127.0.0.1:3306/db', REDIS_URL: 'redis://127.0.0.1:6379' };

  it('refuses REDIS_URL without a shared webhook key (each instance would generate its own), naming WEBHOOK_SECRET_KEY', () => {
    expect(() => validateEnv(cluster)).toThrow(/WEBHOOK_SECRET_KEY/);
    expect(() => validateEnv({ ...cluster, WEBHOOK_SECRET_KEY: '' })).toThrow(/WEBHOOK_SECRET_KEY/);
  });

  it('starts with WEBHOOK_SECRET_KEY or ADMIN_TOKEN set, and without REDIS_URL', () => {
    expect(validateEnv({ ...cluster, WEBHOOK_SECRET_KEY: 'k'.repeat(16) }).REDIS_URL).toBe(cluster.REDIS_URL);
    expect(validateEnv({ ...cluster, ADMIN_TOKEN: 't'.repeat(16) }).REDIS_URL).toBe(cluster.REDIS_URL);
    expect(validateEnv({ DATABASE_URL: cluster.DATABASE_URL }).REDIS_URL).toBeUndefined();
  });
});

describe('worker health thresholds', () => {
  it('refuses WORKER_OFFLINE_MS at or below WORKER_STALE_MS, naming both; takes the defaults and a wider pair', () => {
    expect(() => validateEnv({ WORKER_STALE_MS: '5000', WORKER_OFFLINE_MS: '5000' })).toThrow(
      /WORKER_OFFLINE_MS=5000 must be more than WORKER_STALE_MS=5000/,
    );
    expect(() => validateEnv({ WORKER_STALE_MS: '120000' })).toThrow(/WORKER_OFFLINE_MS=90000/);
    const env = validateEnv({});
    expect([env.WORKER_STALE_MS, env.WORKER_OFFLINE_MS]).toEqual([30_000, 90_000]);
    expect(validateEnv({ WORKER_STALE_MS: '2000', WORKER_OFFLINE_MS: '4000' }).WORKER_OFFLINE_MS).toBe(4000);
  });
});
