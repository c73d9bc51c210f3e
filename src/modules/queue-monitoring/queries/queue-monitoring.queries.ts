import { Injectable } from '@nestjs/common';
import type { Principal } from '../../../common/auth/principal';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';
import { EtaHistory } from '../../progress-tracker/eta/eta-history';
import { QueueWaitEstimator } from '../../progress-tracker/eta/queue-wait';
import { WorkflowMapper } from '../../workflows/database/workflow.mapper';
import { WorkflowRepository } from '../../workflows/database/workflow.repository';
import type { WorkflowView } from '../../workflows/http/workflow.view';

export interface QueueSummary {
  name: string;
  queued: number;
  running: number;
  oldestQueuedAgeMs: number | null;
  completedLastMinute: number;
  failedLastMinute: number;
  workers: { workerId: string; lastSeenAt: string; running: number }[];
}

const WORKER_WINDOW_MS = 10 * 60 * 1000;

/**
 * Queue monitoring, counted over the caller's projects. `queued` = waiting for a claim; `running` = claimed
 * (leased) or started. Workers are those seen by a claim or heartbeat in the last 10 minutes; a key scoped to
 * some projects sees only the workers that currently hold work in them.
 */
@Injectable()
export class QueueMonitoringQueries {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  async listQueues(principal: Principal): Promise<{ items: QueueSummary[] }> {
    const now = Date.now();
    const scope = principal.allProjects
      ? ''
      : ` AND project_id IN (${placeholders(principal.projects.length)})`;
    const sp = principal.allProjects ? [] : [...principal.projects];
    const active = await this.db.query(
      `SELECT queue, CASE WHEN status = 'queued' AND lease_token IS NULL THEN 'q' ELSE 'r' END AS k, COUNT(*) AS n, MIN(created_at) AS oldest ` +
        `FROM workflows WHERE queue IS NOT NULL AND status IN ('queued', 'running')${scope} GROUP BY queue, k`,
      sp,
    );
    const finished = await this.db.query(
      `SELECT queue, status, COUNT(*) AS n FROM workflows WHERE queue IS NOT NULL AND finished_at >= ? AND status IN ('completed', 'failed')${scope} GROUP BY queue, status`,
      [now - 60_000, ...sp],
    );
    const holding = await this.db.query(
      `SELECT queue, worker_id, COUNT(*) AS n FROM workflows WHERE queue IS NOT NULL AND lease_token IS NOT NULL AND status IN ('queued', 'running')${scope} GROUP BY queue, worker_id`,
      sp,
    );
    const seen = await this.db.query(
      'SELECT queue, worker_id, last_seen_at FROM queue_workers WHERE last_seen_at >= ?',
      [now - WORKER_WINDOW_MS],
    );

    const byName = new Map<string, QueueSummary>();
    const q = (name: string) => {
      let s = byName.get(name);
      if (!s)
        byName.set(
          name,
          (s = {
            name,
            queued: 0,
            running: 0,
            oldestQueuedAgeMs: null,
            completedLastMinute: 0,
            failedLastMinute: 0,
            workers: [],
          }),
        );
      return s;
    };
    for (const r of active) {
      const s = q(r.queue);
      if (r.k === 'q') {
        s.queued = Number(r.n);
        s.oldestQueuedAgeMs = Math.max(0, now - Number(r.oldest));
      } else s.running = Number(r.n);
    }
    for (const r of finished) {
      if (r.status === 'completed') q(r.queue).completedLastMinute = Number(r.n);
      else q(r.queue).failedLastMinute = Number(r.n);
    }
    const running = new Map(holding.map((r) => [`${r.queue}\u0000${r.worker_id}`, Number(r.n)]));
    for (const r of seen) {
      const n = running.get(`${r.queue}\u0000${r.worker_id}`) ?? 0;
      if (!principal.allProjects && n === 0) continue;
      q(r.queue).workers.push({
        workerId: r.worker_id,
        lastSeenAt: new Date(Number(r.last_seen_at)).toISOString(),
        running: n,
      });
    }
    return { items: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  }

  /** The project's queued and running workflows on queues; `position` is 1-based among the queue's waiting ones. */
  async projectQueue(projectId: string): Promise<{ items: (WorkflowView & { position: number | null })[] }> {
    const rows = await this.db.query(
      `${this.workflows.selectSql()} WHERE project_id = ? AND queue IS NOT NULL AND status IN ('queued', 'running') ORDER BY created_seq`,
      [projectId],
    );
    if (rows.length === 0) return { items: [] };
    const queues = [...new Set(rows.map((r) => r.queue as string))];
    const waiting = await this.db.query(
      `SELECT id, queue FROM workflows WHERE queue IN (${placeholders(queues.length)}) AND status = 'queued' AND lease_token IS NULL ` +
        'ORDER BY available_at, created_at, created_seq',
      queues,
    );
    const position = new Map<string, number>();
    const counters = new Map<string, number>();
    for (const w of waiting) {
      const n = (counters.get(w.queue) ?? 0) + 1;
      counters.set(w.queue, n);
      position.set(w.id, n);
    }
    const history = await this.etaHistory.forProject(projectId);
    const now = Date.now();
    const wfs = await this.workflows.findManyOrdered(rows);
    const items = wfs.map((wf) => {
      wf.setEtaHistory(history.get(wf.type));
      return { ...WorkflowMapper.toView(wf, now), position: position.get(wf.id) ?? null };
    });
    // §13: the queue panel shows each waiting workflow's estimated wait
    await this.queueWait.fill(
      wfs.map((wf, i) => ({ state: wf.state, eta: items[i].eta })),
      now,
    );
    items.sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
    return { items };
  }
}
