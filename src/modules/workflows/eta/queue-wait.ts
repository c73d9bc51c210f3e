import { Injectable, Logger } from '@nestjs/common';
import { DbService } from '../../../database/db.service';
import type { Eta } from '../domain/workflow.types';
import type { WorkflowState } from '../domain/workflow.types';
import { median } from '../domain/eta-estimator';

/** The window the queue's claim rate is measured over. */
export const CLAIM_WINDOW_MS = 5 * 60_000;
/** Finished runs of the queue whose durations give its run time. */
const RUN_SAMPLES = 20;
/** A queue's numbers are read at most this often (a dashboard polling many workflows reads them once). */
const STATS_TTL_MS = 1000;
/** …and a queue's numbers that estimate nothing yet (no claims, no run times), at most this often. */
const EMPTY_STATS_TTL_MS = 200;
/** Positions past this count as this (a queue that long is read no further). */
const MAX_POSITION = 10_000;

interface QueueStats {
  at: number;
  /** Claims per ms over the window: workflows of the queue finished in it plus those leased now. */
  claimRate: number;
  /** Median run time (started → finished) of the queue's last finished workflows, if any. */
  runMs: number | undefined;
  /** Workflows of the queue running (leased) now. */
  busy: number;
}

/**
 * §13 `eta.queueWaitMs` for a queued workflow on a queue, at read time:
 *   position / claimRate                      when the queue had claims in the last 5 minutes,
 *   ceil(position / max(1, busy)) × runMs     else, when it has run times,
 *   null                                      else;
 * never less than what is left of a requeue's backoff. `position` counts the claimable workflows ahead of
 * it in claim order (oldest first), itself included. Events carry `queueWaitMs: null` (a wait is a read
 * of the queue, not part of the workflow's change); GET, lists, snapshots and the answers of writes fill it.
 */
@Injectable()
export class QueueWaitEstimator {
  private readonly logger = new Logger('QueueWait');
  private readonly stats = new Map<string, QueueStats>();

  constructor(private readonly db: DbService) {}

  /**
   * A write's answer (create, a requeueing fail, …): its `eta.queueWaitMs` filled as a GET would, when the
   * view it answers with (the op's own, not the group's final state) is queued on a queue. Cheap where it
   * can be: a claimed one waits 0 without a read (heartbeats and logs of a claimed workflow not started
   * yet); otherwise it is `fill`, as for a GET. The write is committed already: a
   * failed read leaves `null`, never an error for the write.
   */
  async fillAnswer(
    state: Readonly<WorkflowState> | undefined,
    view: { status: string; queue: string | null; eta: Eta } | undefined,
  ): Promise<void> {
    if (!state || !view || view.status !== 'queued' || view.queue === null) return;
    // claimed (or no longer queued: a later command of the same commit took it)
    if (state.leaseToken !== null || state.status !== 'queued') {
      view.eta.queueWaitMs = 0;
      return;
    }
    try {
      await this.fill([{ state, eta: view.eta }]);
    } catch (err) {
      this.logger.warn(`no queue wait for a committed write's answer: ${(err as Error).message}`);
    }
  }

  /** Sets `eta.queueWaitMs` of the queued ones among `items` (one position read per queue, not per item). */
  async fill(items: { state: Readonly<WorkflowState>; eta: Eta }[], now = Date.now()): Promise<void> {
    const byQueue = new Map<string, { state: Readonly<WorkflowState>; eta: Eta }[]>();
    for (const it of items) {
      if (it.state.status !== 'queued' || it.state.queue === null) continue;
      const list = byQueue.get(it.state.queue) ?? [];
      list.push(it);
      byQueue.set(it.state.queue, list);
    }
    for (const [queue, list] of byQueue) {
      const stats = await this.queueStats(queue, now);
      // nothing to estimate from (no claims, no run times): null whatever the position, so none is counted
      if (stats.claimRate === 0 && stats.runMs === undefined) continue;
      if (list.length <= 3) {
        // a few (a GET): count what is ahead of each
        for (const { state, eta } of list)
          eta.queueWaitMs = this.wait(stats, await this.position(state), state, now);
        continue;
      }
      // many (a list, a snapshot): the queue's claimable workflows in claim order, once
      const order = await this.db.query<{ id: string }>(
        "SELECT id FROM workflows WHERE queue = ? AND status = 'queued' AND lease_token IS NULL " +
          'ORDER BY available_at, created_at, created_seq LIMIT ?',
        [queue, MAX_POSITION],
      );
      const rank = new Map(order.map((r, i) => [r.id, i + 1]));
      for (const { state, eta } of list) {
        const position = state.leaseToken !== null ? 0 : (rank.get(state.id) ?? MAX_POSITION);
        eta.queueWaitMs = this.wait(stats, position, state, now);
      }
    }
  }

  /** 1-based place in the claim order (available_at, created_at, created_seq); 0 when already claimed. */
  private async position(s: Readonly<WorkflowState>): Promise<number> {
    if (s.leaseToken !== null) return 0;
    const avail = s.availableAt ?? 0;
    // counted no further than MAX_POSITION: a create answers with its wait too, and one enqueued behind a
    // long queue must not cost a count of the whole queue
    const rows = await this.db.query(
      "SELECT COUNT(*) AS n FROM (SELECT 1 FROM workflows WHERE queue = ? AND status = 'queued' AND lease_token IS NULL AND " +
        '(available_at < ? OR (available_at = ? AND (created_at < ? OR (created_at = ? AND created_seq <= ?)))) LIMIT ?) ahead',
      [s.queue, avail, avail, s.createdAt, s.createdAt, s.createdSeq, MAX_POSITION],
    );
    return Math.max(1, Number(rows[0]?.n ?? 1));
  }

  private wait(stats: QueueStats, position: number, s: Readonly<WorkflowState>, now: number): number | null {
    if (position === 0) return 0; // claimed already, its first step not yet started
    const backoff = Math.max(0, (s.availableAt ?? now) - now);
    let wait: number | null = null;
    if (stats.claimRate > 0) wait = position / stats.claimRate;
    else if (stats.runMs !== undefined) wait = Math.ceil(position / Math.max(1, stats.busy)) * stats.runMs;
    return wait === null ? null : Math.round(Math.max(wait, backoff));
  }

  private async queueStats(queue: string, now: number): Promise<QueueStats> {
    const hit = this.stats.get(queue);
    if (hit && now - hit.at < STATS_TTL_MS) return hit;
    const [finished, leased, runs] = await Promise.all([
      this.db.query('SELECT COUNT(*) AS n FROM workflows WHERE queue = ? AND finished_at >= ?', [
        queue,
        now - CLAIM_WINDOW_MS,
      ]),
      this.db.query(
        "SELECT COUNT(*) AS n FROM workflows WHERE queue = ? AND status IN ('queued', 'running') AND lease_token IS NOT NULL",
        [queue],
      ),
      this.db.query(
        'SELECT started_at, finished_at FROM workflows WHERE queue = ? AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?',
        [queue, RUN_SAMPLES],
      ),
    ]);
    const busy = Number(leased[0]?.n ?? 0);
    const durations = runs
      .filter((r) => r.started_at !== null)
      .map((r) => Number(r.finished_at) - Number(r.started_at));
    const stats: QueueStats = {
      at: now,
      claimRate: (Number(finished[0]?.n ?? 0) + busy) / CLAIM_WINDOW_MS,
      runMs: median(durations),
      busy,
    };
    // a queue with nothing to estimate from yet is kept a shorter time: its first claim or run shows soon
    // after (creates on a new queue read it right after their commits), and a burst of them reads it once
    if (stats.claimRate === 0 && stats.runMs === undefined)
      stats.at = now - STATS_TTL_MS + EMPTY_STATS_TTL_MS;
    if (this.stats.size > 10_000) this.stats.clear();
    this.stats.set(queue, stats);
    return stats;
  }
}
