import { Injectable } from '@nestjs/common';
import { CommandBus, EventBus } from '@nestjs/cqrs';
import type { Principal } from '../../common/auth/principal';
import { RateLimitedError } from '../../common/errors/domain-error';
import { WorkflowCreatedEvent, WorkflowRequeuedEvent } from '../../common/events/committed-events';
import { EVENT_TYPES } from '../../common/events/event-types';
import { DbService } from '../../database/db.service';
import type { Statement } from '../../database/tx';
import { EventBridge } from '../cluster';
import { MetricsService } from '../metrics';
import { ClaimWorkflowCommand, HeartbeatCommand, UnclaimWorkflowCommand, type Claimed } from '../workflows';

const POLL_MS = 250;
const SEEN_EVERY_MS = 1000;

/**
 * Claims as workers see them, shared by external workers (HTTP) and the in-process pool: the claim itself is
 * the workflows module's ClaimWorkflowCommand (one short transaction); this adds long-polling and worker
 * monitoring. Waiting claims wake when work is created or requeued, on any instance (with REDIS_URL, from the
 * events other instances commit); they also retry every POLL_MS, so a lost wake-up only delays a claim.
 */
@Injectable()
export class ClaimService {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly lastSeenWritten = new Map<string, number>();
  /** Long-poll claims waiting now, per key id. */
  private readonly waitingByKey = new Map<string, number>();

  constructor(
    private readonly db: DbService,
    private readonly commands: CommandBus,
    private readonly metrics: MetricsService,
    eventBus: EventBus,
    bridge: EventBridge,
  ) {
    eventBus.subscribe((e) => {
      if (e instanceof WorkflowCreatedEvent || e instanceof WorkflowRequeuedEvent) {
        const queue = (e.envelope.data as { queue?: string | null }).queue;
        if (queue) this.wake(queue);
      }
    });
    bridge.onRemote((events) => {
      for (const env of events) {
        if (env.type !== EVENT_TYPES.WorkflowCreated && env.type !== EVENT_TYPES.WorkflowRequeued) continue;
        const queue = (env.data as { queue?: string | null }).queue;
        if (queue) this.wake(queue);
      }
    });
  }

  async claim(
    principal: Principal,
    queue: string,
    workerId: string,
    leaseMs: number,
    waitMs: number,
    maxWaiting = Infinity,
    /** Aborted when the caller is gone (its HTTP request closed): stop waiting, and claim nothing for it. */
    signal?: AbortSignal,
  ): Promise<Claimed | null> {
    const claimed = await this.claimCapped(principal, queue, workerId, leaseMs, waitMs, maxWaiting, signal);
    if (claimed && signal?.aborted) {
      // claimed in the instant the caller left: its answer goes nowhere, so the workflow must not wait out a
      // lease nobody holds; it is ready again at once, the same attempt
      await this.commands
        .execute(new UnclaimWorkflowCommand(principal, claimed.workflow.id, claimed.leaseToken))
        .catch(() => undefined); // the lease expiry covers it
      return null;
    }
    return claimed;
  }

  private async claimCapped(
    principal: Principal,
    queue: string,
    workerId: string,
    leaseMs: number,
    waitMs: number,
    maxWaiting: number,
    signal: AbortSignal | undefined,
  ): Promise<Claimed | null> {
    if (waitMs <= 0 || maxWaiting === Infinity)
      return this.claimUntil(principal, queue, workerId, leaseMs, waitMs, signal);
    // a long-poll claim re-runs a transaction every POLL_MS: how many wait at once is capped per key
    const waiting = this.waitingByKey.get(principal.keyId) ?? 0;
    if (waiting >= maxWaiting)
      throw new RateLimitedError(
        `this key already has ${waiting} claims waiting (at most ${maxWaiting}); retry later or claim with a shorter waitMs`,
        Math.max(1, Math.ceil(waitMs / 1000)),
      );
    this.waitingByKey.set(principal.keyId, waiting + 1);
    this.metrics.claimsWaiting.inc();
    try {
      return await this.claimUntil(principal, queue, workerId, leaseMs, waitMs, signal);
    } finally {
      this.metrics.claimsWaiting.dec();
      const n = (this.waitingByKey.get(principal.keyId) ?? 1) - 1;
      if (n <= 0) this.waitingByKey.delete(principal.keyId);
      else this.waitingByKey.set(principal.keyId, n);
    }
  }

  private async claimUntil(
    principal: Principal,
    queue: string,
    workerId: string,
    leaseMs: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Claimed | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (signal?.aborted) return null;
      const claimed = await this.commands.execute(
        new ClaimWorkflowCommand(principal, queue, workerId, leaseMs, (now) =>
          this.seenStatements(queue, workerId, now),
        ),
      );
      if (claimed) return claimed;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.waitForWork(queue, Math.min(left, POLL_MS), signal);
    }
  }

  /** Extends a lease, and marks its worker as seen. */
  async heartbeat(
    principal: Principal,
    workflowId: string,
    leaseToken: string,
    leaseMs?: number,
  ): Promise<{ leaseExpiresAt: string }> {
    const beat = await this.commands.execute(
      new HeartbeatCommand(principal, workflowId, leaseToken, leaseMs),
    );
    if (beat.workerId && beat.queue)
      await this.db.query('UPDATE queue_workers SET last_seen_at = ? WHERE queue = ? AND worker_id = ?', [
        Date.now(),
        beat.queue,
        beat.workerId,
      ]);
    return { leaseExpiresAt: beat.leaseExpiresAt };
  }

  /**
   * A worker's last-seen time, written in the claim's own transaction at most once a second per instance:
   * every claim (and every long-poll re-check) writing it made the queue_workers upserts of busy claimers and
   * the built-in pool deadlock with each other now and then, and a claim rolled back that way hands its row
   * to a later claim out of order.
   */
  private seenStatements(queue: string, workerId: string, now: number): Statement[] {
    const key = `${queue}\u0000${workerId}`;
    const last = this.lastSeenWritten.get(key);
    if (last !== undefined && now - last < SEEN_EVERY_MS) return [];
    if (this.lastSeenWritten.size > 10_000) this.lastSeenWritten.clear();
    this.lastSeenWritten.set(key, now);
    return [
      {
        sql: `INSERT INTO queue_workers (queue, worker_id, last_seen_at) VALUES (?, ?, ?)${this.db.dialect.upsert(['queue', 'worker_id'], ['last_seen_at'])}`,
        params: [queue, workerId, now],
      },
    ];
  }

  private waitForWork(queue: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(queue);
      if (!set) this.waiters.set(queue, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(queue);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  private wake(queue: string): void {
    for (const fn of [...(this.waiters.get(queue) ?? [])]) fn();
  }
}
