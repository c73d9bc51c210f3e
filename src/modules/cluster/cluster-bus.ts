import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedis } from '../../common/redis/redis-client';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { MetricsService } from '../metrics';
import { clusterNamespace } from '../../config/redis-namespace';
import { channelOf, decodeForeign, encodeMessage, Topic, TOPICS } from './cluster-message';

type Handler = (payload: string) => void;

const retryStrategy = (times: number) => Math.min(times * 200, 2000);

/**
 * Messages between the instances that share one database, over Redis pub/sub; inert without REDIS_URL
 * (nothing connects to Redis then, and `publish` does nothing).
 *
 * Redis only makes things faster here, never correct: pub/sub is at-most-once (a message is lost while a
 * subscriber reconnects, or while Redis is away), so every consumer also has a database-backed path that
 * catches up on its own (the event log by seq, the revoked keys, the run history). So Redis being down at
 * start or later is a warning, not a failure: instances keep serving, with cross-instance delivery
 * falling back to the database poll, and reconnect by themselves.
 */
@Injectable()
export class ClusterBus implements OnApplicationShutdown {
  private readonly logger = new Logger('ClusterBus');
  readonly enabled: boolean;
  /** Tells this instance's messages apart from the others' (its own come back on the subscription). */
  readonly instanceId = randomBytes(6).toString('hex');
  readonly namespace: string;
  private readonly handlers = new Map<Topic, Handler[]>();
  private readonly reconnectListeners: Array<() => void> = [];
  private readonly channels = new Map<string, Topic>();
  private pub?: Redis;
  private sub?: Redis;
  private subReadyOnce = false;
  private down = false;

  constructor(
    config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    const url = config.redisUrl;
    this.enabled = Boolean(url);
    this.namespace = clusterNamespace(config.redisPrefix, config.databaseUrl);
    if (!url) return;
    for (const topic of TOPICS) this.channels.set(channelOf(this.namespace, topic), topic);
    const name = (role: string) => `${this.namespace}:${role}:${this.instanceId}`;
    // the publisher does not queue while disconnected: a publish then fails at once and is counted as
    // lost (the database path delivers it); a queue would only grow while Redis is away
    this.pub = createRedis(url, {
      connectionName: name('pub'),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy,
    });
    // the subscription waits for Redis however long it takes (it is queued until the first connect)
    this.sub = createRedis(url, {
      connectionName: name('sub'),
      autoResubscribe: true,
      maxRetriesPerRequest: null,
      retryStrategy,
    });
    for (const conn of [this.pub, this.sub]) conn.on('error', (err: Error) => this.onError(err));
    this.pub.on('ready', () => this.onReady());
    this.sub.on('ready', () => {
      this.onReady();
      // messages sent while this subscriber was away are lost: the consumers catch up from the database
      if (this.subReadyOnce) for (const fn of this.reconnectListeners) fn();
      this.subReadyOnce = true;
    });
    this.sub.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    this.sub.subscribe(...this.channels.keys()).catch((err: Error) => this.onError(err));
    this.logger.log(`scale-out on: Redis channels ${this.namespace}:*, instance ${this.instanceId}`);
  }

  /** Handles messages of `topic` from the other instances (never this instance's own). */
  on(topic: Topic, fn: Handler): void {
    const list = this.handlers.get(topic) ?? [];
    list.push(fn);
    this.handlers.set(topic, list);
  }

  /** Called after the subscription was lost and is back: messages may have been missed meanwhile. */
  onReconnect(fn: () => void): void {
    this.reconnectListeners.push(fn);
  }

  /**
   * A lease on a named duty, so that one instance does it (e.g. the slow-step sweep): true while this
   * instance holds it (taken or renewed for `ttlMs`). Without REDIS_URL, always true. When Redis does not
   * answer, also true: duties that use it must stay correct when several instances do them at once
   * (Redis only saves the duplicate work).
   */
  async holdLease(name: string, ttlMs: number): Promise<boolean> {
    if (!this.pub) return true;
    try {
      const held = await this.pub.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) " +
          "elseif redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 else return 0 end",
        1,
        `${this.namespace}:lease:${name}`,
        this.instanceId,
        String(ttlMs),
      );
      return Number(held) === 1;
    } catch {
      return true;
    }
  }

  publish(topic: Topic, payload: string): void {
    if (!this.pub) return;
    this.pub.publish(channelOf(this.namespace, topic), encodeMessage(this.instanceId, payload)).then(
      () => this.metrics.clusterMessages.inc({ direction: 'sent', topic }),
      () => this.metrics.clusterMessages.inc({ direction: 'lost', topic }),
    );
  }

  private dispatch(channel: string, message: string): void {
    const topic = this.channels.get(channel);
    if (!topic) return;
    const payload = decodeForeign(this.instanceId, message);
    if (payload === undefined) return;
    this.metrics.clusterMessages.inc({ direction: 'received', topic });
    for (const fn of this.handlers.get(topic) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        this.logger.warn(`bad ${topic} message: ${(err as Error).message}`);
      }
    }
  }

  private onError(err: Error): void {
    // ioredis retries on its own; say it once per outage, not once per attempt
    if (!this.down) {
      this.down = true;
      this.logger.warn(
        `Redis unreachable (${err.message}): retrying; other instances' events arrive through the database meanwhile`,
      );
    }
  }

  private onReady(): void {
    if (this.down) this.logger.log('Redis reachable again');
    this.down = false;
  }

  onApplicationShutdown(): void {
    // nothing is pending that matters (publishes are fire-and-forget): close at once, even if Redis is away
    this.pub?.disconnect();
    this.sub?.disconnect();
  }
}
