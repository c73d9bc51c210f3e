import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedis } from '../redis/redis-client';
import {
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors/domain-error';
import { AppConfig } from '../../config/app.config';
import { clusterNamespace } from '../../config/redis-namespace';

/**
 * §10 `RATE_LIMIT_PER_KEY`: REST requests per second per API key, a fixed one-second window of that many
 * points (so a burst of the same size), from rate-limiter-flexible. Without REDIS_URL the counters live in
 * this process; with it they live in Redis (one atomic INCR + PEXPIRE script per request), so the limit
 * holds across instances, with an in-memory insurance limiter of the same size that takes over while Redis
 * is away (then each instance enforces the limit on its own: a brief overshoot rather than an outage).
 *
 * Requests without a valid key count against their client address (`ip:<address>`), under the same limit:
 * a flood of bad or missing keys is answered 429 once it passes that rate, without a database query. A
 * lookup is charged to the address before it runs and given back when it finds a key, so new keys sharing
 * an address never spend each other's budget (only one flooding that address with bad keys does).
 */
@Injectable()
export class RequestRateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly limiter?: RateLimiterAbstract;
  private readonly redis?: Redis;

  constructor(config: AppConfig) {
    const points = config.rateLimitPerKey;
    if (points <= 0) return;
    const memory = new RateLimiterMemory({ points, duration: 1, keyPrefix: 'rl' });
    const url = config.redisUrl;
    if (!url) {
      this.limiter = memory;
      return;
    }
    // its own connection: commands fail fast while Redis is away (no offline queue), and the insurance
    // limiter answers instead
    this.redis = createRedis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      connectionName: 'stepline:rate-limit',
    });
    this.redis.on('error', () => {
      // ClusterBus reports Redis outages; the insurance limiter covers them here
    });
    this.limiter = new RateLimiterRedis({
      storeClient: this.redis,
      points,
      duration: 1,
      keyPrefix: `${clusterNamespace(config.redisPrefix, config.databaseUrl)}:rl`,
      // once a key is over the limit, the rest of its window is answered from memory, not from Redis (past
      // it, not at it: a charge that reaches the limit may still be given back, see refund)
      inMemoryBlockOnConsumed: points + 1,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
    this.logger.log(`rate limit ${points}/s per key, shared through Redis`);
  }

  get enabled(): boolean {
    return this.limiter !== undefined;
  }

  /**
   * Takes one request from `key`'s budget; throws `429 rate_limited` (with Retry-After) past it. Returns when
   * the window it was taken from ends (epoch ms), for `refund`.
   */
  async consume(key: string): Promise<number | undefined> {
    if (!this.limiter) return undefined;
    try {
      const res = await this.limiter.consume(key);
      return Date.now() + res.msBeforeNext;
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        throw new RateLimitedError(
          `more than ${this.limiter.points} requests per second with this key`,
          Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
        );
      }
      // a store error with no insurance left: let the request through rather than fail it
      return undefined;
    }
  }

  /**
   * Gives one request back to `key`'s budget (a charge that turned out not to be its own), if the window it
   * was taken from (`until`, from `consume`) has not ended: given to the next window, it would raise that
   * one's budget instead.
   */
  async refund(key: string, until: number | undefined): Promise<void> {
    if (until === undefined || Date.now() >= until) return;
    try {
      await this.limiter?.reward(key, 1);
    } catch {
      // a store error: the point stays taken until the window ends
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
