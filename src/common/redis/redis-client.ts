import type { Redis, RedisOptions } from 'ioredis';

/**
 * A Redis connection, with ioredis loaded on first use: without REDIS_URL nothing connects to Redis, and
 * the process does not carry the client's ~40 modules (boot-footprint.e2e-spec.ts checks that).
 */
export function createRedis(url: string, options: RedisOptions): Redis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Redis: Client } = require('ioredis') as typeof import('ioredis');
  return new Client(url, options);
}
