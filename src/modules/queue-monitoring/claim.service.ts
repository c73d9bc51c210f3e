import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../common/auth/principal';
import { RateLimitedError } from '../../common/errors/domain-error';
import { DbService, Statement } from '../../database/db.service';
import { placeholders } from '../../database/sql';
import { WorkflowCreatedEvent, WorkflowRequeuedEvent } from '../event-log/committed-events';
import { EventBridge } from '../cluster/event-bridge';
import { EVENT_TYPES } from '../workflows/domain/workflow.events';
import { WorkflowRepository } from '../workflows/database/workflow.repository';
import { WorkflowMapper } from '../workflows/database/workflow.mapper';
import { EtaHistory } from '../progress-tracker/eta/eta-history';
import type { WorkflowView } from '../workflows/http/workflow.view';

export interface Claimed {
  workflow: WorkflowView;
  leaseToken: string;
  leaseExpiresAt: string;
  attempt: number;
}

const POLL_MS = 250;
const SEEN_EVERY_MS = 1000;

/**
 * The claim path, shared by external workers (HTTP) and the in-process pool: one short transaction that
 * picks the oldest ready workflow of the queue in the caller's projects (`FOR UPDATE SKIP LOCKED` on MySQL,
 * the single writer on SQLite) and leases it. Waiting claims wake when work is created or requeued, on
 * any instance (with REDIS_URL, from the events other instances commit); they also retry every POLL_MS,
 * so a lost wake-up only delays a claim.
 */
@Injectable()
export class ClaimService {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly lastSeenWritten = new Map<string, number>();
  /** Long-poll claims waiting now, per key id. */
  private readonly waitingByKey = new Map<string, number>();

  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
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
  ): Promise<Claimed | null> {
    if (waitMs <= 0 || maxWaiting === Infinity)
      return this.claimUntil(principal, queue, workerId, leaseMs, waitMs);
    // a long-poll claim re-runs a transaction every POLL_MS: how many wait at once is capped per key
    const waiting = this.waitingByKey.get(principal.keyId) ?? 0;
    if (waiting >= maxWaiting)
      throw new RateLimitedError(
        `this key already has ${waiting} claims waiting (at most ${maxWaiting}); retry later or claim with a shorter waitMs`,
        Math.max(1, Math.ceil(waitMs / 1000)),
      );
    this.waitingByKey.set(principal.keyId, waiting + 1);
    try {
      return await this.claimUntil(principal, queue, workerId, leaseMs, waitMs);
    } finally {
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
  ): Promise<Claimed | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const claimed = await this.tryClaim(principal, queue, workerId, leaseMs);
      if (claimed) return claimed;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.waitForWork(queue, Math.min(left, POLL_MS));
    }
  }

  private async tryClaim(
    principal: Principal,
    queue: string,
    workerId: string,
    leaseMs: number,
  ): Promise<Claimed | null> {
    const token = randomBytes(18).toString('base64url');
    const picked = await this.db.transaction(async (tx) => {
      const now = Date.now();
      const scope = principal.allProjects
        ? ''
        : ` AND project_id IN (${placeholders(principal.projects.length)})`;
      const rows = await tx.query(
        `SELECT id, stale_after_ms FROM workflows WHERE queue = ? AND status = 'queued' AND lease_token IS NULL AND available_at <= ?${scope} ` +
          `ORDER BY available_at, created_at, created_seq LIMIT 1${tx.dialect.skipLocked}`,
        [queue, now, ...(principal.allProjects ? [] : principal.projects)],
      );
      const seen: Statement[] = this.dueSeen(queue, workerId, now)
        ? [
            {
              sql: `INSERT INTO queue_workers (queue, worker_id, last_seen_at) VALUES (?, ?, ?)${tx.dialect.upsert(['queue', 'worker_id'], ['last_seen_at'])}`,
              params: [queue, workerId, now],
            },
          ]
        : [];
      if (rows.length === 0) {
        await tx.batch(seen, { commit: true });
        return null;
      }
      const id = rows[0].id as string;
      // one round trip: the lease, the worker's last-seen time and the commit
      const [res] = await tx.batch(
        [
          {
            sql: 'UPDATE workflows SET lease_token = ?, lease_expires_at = ?, worker_id = ?, updated_at = ?, stale_at = ? WHERE id = ? AND lease_token IS NULL',
            params: [token, now + leaseMs, workerId, now, now + Number(rows[0].stale_after_ms), id],
          },
          ...seen,
        ],
        { commit: true },
      );
      return res.affectedRows === 1 ? id : null;
    });
    if (!picked) return null;
    const wf = (await this.workflows.findById(picked))!;
    wf.setEtaHistory((await this.etaHistory.forProject(wf.projectId)).get(wf.type));
    const s = wf.state;
    return {
      workflow: WorkflowMapper.toView(wf, Date.now()),
      leaseToken: token,
      leaseExpiresAt: new Date(s.leaseExpiresAt!).toISOString(),
      attempt: s.attempt,
    };
  }

  /**
   * A worker's last-seen time is written at most once a second per instance: every claim (and every long-poll
   * re-check) writing it made the queue_workers upserts of busy claimers and the built-in pool deadlock with
   * each other now and then, and a claim rolled back that way hands its row to a later claim out of order.
   */
  private dueSeen(queue: string, workerId: string, now: number): boolean {
    const key = `${queue}\u0000${workerId}`;
    const last = this.lastSeenWritten.get(key);
    if (last !== undefined && now - last < SEEN_EVERY_MS) return false;
    if (this.lastSeenWritten.size > 10_000) this.lastSeenWritten.clear();
    this.lastSeenWritten.set(key, now);
    return true;
  }

  private waitForWork(queue: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(queue);
      if (!set) this.waiters.set(queue, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(queue);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  private wake(queue: string): void {
    for (const fn of [...(this.waiters.get(queue) ?? [])]) fn();
  }
}
