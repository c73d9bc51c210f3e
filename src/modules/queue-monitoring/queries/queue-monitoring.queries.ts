import { Injectable } from '@nestjs/common';
import type { Principal } from '../../../common/auth/principal';
import { AppConfig } from '../../../config/app.config';
import { DbService } from '../../../database/db.service';
import { HISTORY_MINUTES, WorkflowsPort } from '../../workflows';

export interface QueueSummary {
  name: string;
  queued: number;
  running: number;
  oldestQueuedAgeMs: number | null;
  completedLastMinute: number;
  failedLastMinute: number;
  /** Completed and failed per minute, the last 30 minutes, oldest first (beyond the contract). */
  history: { completed: number[]; failed: number[] };
  /** `workflowIds`: what the worker holds in the caller's scope (beyond the contract). */
  workers: {
    workerId: string;
    lastSeenAt: string;
    running: number;
    workflowIds: string[];
    seenAgoMs: number;
    health: WorkerHealth;
  }[];
}

export type WorkerHealth = 'online' | 'stale' | 'offline';

/** Workers seen in this window are listed; older rows are deleted (QueueWorkersSweeper). */
export const WORKER_WINDOW_MS = 10 * 60 * 1000;

/**
 * Queue monitoring over the caller's projects: the counts come from the workflows port; workers are those seen
 * by a claim or heartbeat in the last 10 minutes (this module's queue_workers). A key scoped to some projects
 * sees only the workers that currently hold work in them.
 */
@Injectable()
export class QueueMonitoringQueries {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowsPort,
    private readonly config: AppConfig,
  ) {}

  /** From the server's clock, so that a browser's clock never makes a worker look dead or alive. */
  private healthOf(seenAgoMs: number): WorkerHealth {
    if (seenAgoMs < this.config.workerStaleMs) return 'online';
    return seenAgoMs < this.config.workerOfflineMs ? 'stale' : 'offline';
  }

  /** Over the caller's projects, or over `projectId` alone (which the caller may read). */
  async listQueues(principal: Principal, projectId?: string): Promise<{ items: QueueSummary[] }> {
    const now = Date.now();
    const counts = await this.workflows.queueCounts(principal, now, projectId);
    // an all-projects key also sees idle workers (a worker belongs to no project); a scoped key only those
    // holding work in its projects. With `projectId`, only the queues that project has work on.
    const everyWorker = principal.allProjects;
    const seen = await this.db.query(
      'SELECT queue, worker_id, last_seen_at FROM queue_workers WHERE last_seen_at >= ?',
      [now - WORKER_WINDOW_MS],
    );
    const byName = new Map<string, QueueSummary>();
    for (const [name, c] of counts) {
      const { holding: _holding, ...rest } = c;
      byName.set(name, { ...rest, workers: [] });
    }
    for (const r of seen) {
      const held = counts.get(r.queue)?.holding.get(r.worker_id) ?? [];
      if (!everyWorker && held.length === 0) continue;
      let s = byName.get(r.queue);
      if (!s && projectId !== undefined) continue;
      if (!s)
        byName.set(
          r.queue,
          (s = {
            name: r.queue,
            queued: 0,
            running: 0,
            oldestQueuedAgeMs: null,
            completedLastMinute: 0,
            failedLastMinute: 0,
            history: {
              completed: new Array<number>(HISTORY_MINUTES).fill(0),
              failed: new Array<number>(HISTORY_MINUTES).fill(0),
            },
            workers: [],
          }),
        );
      const seenAgoMs = Math.max(0, now - Number(r.last_seen_at));
      s.workers.push({
        workerId: r.worker_id,
        lastSeenAt: new Date(Number(r.last_seen_at)).toISOString(),
        running: held.length,
        workflowIds: held,
        seenAgoMs,
        health: this.healthOf(seenAgoMs),
      });
    }
    return { items: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  }

  projectQueue(principal: Principal, projectId: string) {
    return this.workflows.projectQueue(principal, projectId);
  }
}
