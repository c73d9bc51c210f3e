import { Injectable } from '@nestjs/common';
import type { Principal } from '../../../common/auth/principal';
import { DbService } from '../../../database/db.service';
import { placeholders } from '../../../database/sql';
import { EtaHistory } from '../eta/eta-history';
import { QueueWaitEstimator } from '../eta/queue-wait';
import { WorkflowMapper } from '../database/workflow.mapper';
import { WORKFLOW_SELECT, WorkflowRepository } from '../database/workflow.repository';
import type { WorkflowView } from '../views/workflow.view';

export interface QueueCounts {
  name: string;
  queued: number;
  running: number;
  oldestQueuedAgeMs: number | null;
  completedLastMinute: number;
  failedLastMinute: number;
  /** Leased workflows per worker id on this queue: their ids, in claim order as far as the table tells. */
  holding: Map<string, string[]>;
  /** Completed and failed per minute over the last HISTORY_MINUTES minutes, oldest first (now's minute last). */
  history: { completed: number[]; failed: number[] };
}

/** Minutes of per-queue throughput history (the dashboard's sparklines). */
export const HISTORY_MINUTES = 30;

/**
 * The queues as the workflows table holds them, counted over the caller's projects. `queued` = waiting for a
 * claim; `running` = claimed (leased) or started.
 */
@Injectable()
export class WorkflowQueueQueries {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly etaHistory: EtaHistory,
    private readonly queueWait: QueueWaitEstimator,
  ) {}

  /** Over the caller's projects, or over `projectId` alone (the caller may read it: the controller checks). */
  async queueCounts(
    principal: Principal,
    now: number,
    projectId?: string,
  ): Promise<Map<string, QueueCounts>> {
    const projects =
      projectId !== undefined ? [projectId] : principal.allProjects ? null : principal.projects;
    const scope = projects ? ` AND project_id IN (${placeholders(projects.length)})` : '';
    const sp = projects ? [...projects] : [];
    const minute = Math.floor(now / 60_000);
    const since = (minute - HISTORY_MINUTES + 1) * 60_000;
    const active = await this.db.query(
      `SELECT queue, CASE WHEN status = 'queued' AND lease_token IS NULL THEN 'q' ELSE 'r' END AS k, COUNT(*) AS n, MIN(created_at) AS oldest ` +
        `FROM workflows WHERE queue IS NOT NULL AND status IN ('queued', 'running')${scope} GROUP BY queue, k`,
      sp,
    );
    const finished = await this.db.query(
      `SELECT queue, status, COUNT(*) AS n FROM workflows WHERE queue IS NOT NULL AND finished_at >= ? AND status IN ('completed', 'failed')${scope} GROUP BY queue, status`,
      [now - 60_000, ...sp],
    );
    const perMinute = await this.db.query(
      `SELECT queue, status, FLOOR(finished_at / 60000) AS m, COUNT(*) AS n FROM workflows WHERE queue IS NOT NULL AND finished_at >= ? AND status IN ('completed', 'failed')${scope} GROUP BY queue, status, m`,
      [since, ...sp],
    );
    const holding = await this.db.query(
      `SELECT queue, worker_id, id FROM workflows WHERE queue IS NOT NULL AND lease_token IS NOT NULL AND status IN ('queued', 'running')${scope} ORDER BY created_seq`,
      sp,
    );
    const byName = new Map<string, QueueCounts>();
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
            holding: new Map(),
            history: {
              completed: new Array<number>(HISTORY_MINUTES).fill(0),
              failed: new Array<number>(HISTORY_MINUTES).fill(0),
            },
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
    for (const r of perMinute) {
      const i = Number(r.m) - (minute - HISTORY_MINUTES + 1);
      if (i < 0 || i >= HISTORY_MINUTES) continue;
      q(r.queue).history[r.status === 'completed' ? 'completed' : 'failed'][i] = Number(r.n);
    }
    for (const r of holding) {
      const held = q(r.queue).holding;
      const ids = held.get(r.worker_id);
      if (ids) ids.push(r.id);
      else held.set(r.worker_id, [r.id]);
    }
    return byName;
  }

  /** The project's queued and running workflows on queues; `position` is 1-based among the queue's waiting ones. */
  async projectQueue(
    principal: Principal,
    projectId: string,
  ): Promise<{ items: (WorkflowView & { position: number | null })[] }> {
    const rows = await this.db.query(
      `${WORKFLOW_SELECT} WHERE project_id = ? AND queue IS NOT NULL AND status IN ('queued', 'running') ORDER BY created_seq`,
      [projectId],
    );
    if (rows.length === 0) return { items: [] };
    const queues = [...new Set(rows.map((r) => r.queue as string))];
    // §10: positions count only the workflows this key may read (others' work on a shared queue name is
    // neither shown nor counted, so a position tells nothing about other projects)
    const scope = principal.allProjects
      ? ''
      : ` AND project_id IN (${placeholders(principal.projects.length)})`;
    const waiting = await this.db.query(
      `SELECT id, queue FROM workflows WHERE queue IN (${placeholders(queues.length)}) AND status = 'queued' AND lease_token IS NULL${scope} ` +
        'ORDER BY available_at, created_at, created_seq',
      principal.allProjects ? queues : [...queues, ...principal.projects],
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
