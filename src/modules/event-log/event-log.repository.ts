import { Injectable } from '@nestjs/common';
import { DbService } from '../../database/db.service';
import type { Statement, Tx } from '../../database/tx';
import { insertStatements } from '../../database/sql';
import type { EventEnvelope, EventType } from '../../common/events/event-types';

const COLUMNS = ['project_id', 'seq', 'type', 'workflow_id', 'step_id', 'attempt', 'at', 'data'];

export interface EventPage {
  items: EventEnvelope[];
  lastSeq: number;
  reset?: true;
  /** With `reset` over REST (§12): the state at `lastSeq`. */
  snapshot?: unknown;
}

/** The per-project event log: appended inside the writer's transaction, read for replay. */
@Injectable()
export class EventLogRepository {
  constructor(private readonly db: DbService) {}

  /** Inside the transaction, after the counter allocated their seqs. */
  appendStatements(events: EventEnvelope[]): Statement[] {
    return insertStatements(
      'events',
      COLUMNS,
      events.map((e) => [
        e.projectId,
        e.seq,
        e.type,
        e.workflowId,
        e.stepId,
        e.attempt,
        Date.parse(e.at),
        JSON.stringify(e.data),
      ]),
    );
  }

  /** The project's counter, read inside a caller's (consistent) read transaction. */
  async lastSeqIn(tx: Tx, projectId: string): Promise<number> {
    const rows = await tx.query('SELECT last_seq FROM projects WHERE id = ?', [projectId]);
    return rows.length ? Number(rows[0].last_seq) : 0;
  }

  async lastSeq(projectId: string): Promise<number> {
    const rows = await this.db.query('SELECT last_seq FROM projects WHERE id = ?', [projectId]);
    return rows.length ? Number(rows[0].last_seq) : 0;
  }

  /** Events with seq > after, oldest first; `reset` when `after` is older than the oldest event kept. */
  async readAfter(projectId: string, after: number, limit: number): Promise<EventPage> {
    const lastSeq = await this.lastSeq(projectId);
    if (after >= lastSeq) return { items: [], lastSeq };
    const rows = await this.db.query(
      'SELECT seq, type, workflow_id, step_id, attempt, at, data FROM events WHERE project_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      [projectId, after, limit],
    );
    if (rows.length === 0 || Number(rows[0].seq) !== after + 1) return { items: [], reset: true, lastSeq };
    return { items: rows.map((r) => this.toEnvelope(projectId, r)), lastSeq };
  }

  /**
   * Replay read: events with seq > after (optionally of one workflow), oldest first, and whether `after` is
   * older than the log keeps (the caller then resets instead of replaying a log with a hole in it).
   */
  async replayPage(
    projectId: string,
    after: number,
    limit: number,
    workflowId?: string,
  ): Promise<{ items: EventEnvelope[]; reset: boolean }> {
    const filter = workflowId ? ' AND workflow_id = ?' : '';
    const params: unknown[] = workflowId ? [projectId, after, workflowId, limit] : [projectId, after, limit];
    const rows = await this.db.query(
      `SELECT seq, type, workflow_id, step_id, attempt, at, data FROM events WHERE project_id = ? AND seq > ?${filter} ORDER BY seq LIMIT ?`,
      params,
    );
    let reset = false;
    if (workflowId || rows.length === 0 || Number(rows[0].seq) !== after + 1) {
      // is anything at or before `after + 1` still kept? if the oldest kept event is later, the log has a hole
      const oldest = await this.db.query('SELECT MIN(seq) AS s FROM events WHERE project_id = ?', [
        projectId,
      ]);
      const min = oldest[0]?.s === null || oldest[0]?.s === undefined ? null : Number(oldest[0].s);
      const last = await this.lastSeq(projectId);
      reset = after < last && (min === null || min > after + 1);
    }
    return { items: reset ? [] : rows.map((r) => this.toEnvelope(projectId, r)), reset };
  }

  /** Retention: drops events older than the cutoff; the counter row (and so the seq) is kept. */
  async trimBefore(cutoffMs: number, batch = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.db.query(
        'SELECT project_id, seq FROM events WHERE at < ? ORDER BY at LIMIT ?',
        [cutoffMs, batch],
      );
      if (rows.length === 0) return total;
      const byProject = new Map<string, number>();
      for (const r of rows)
        byProject.set(r.project_id, Math.max(byProject.get(r.project_id) ?? 0, Number(r.seq)));
      for (const [projectId, maxSeq] of byProject) {
        await this.db.query('DELETE FROM events WHERE project_id = ? AND seq <= ? AND at < ?', [
          projectId,
          maxSeq,
          cutoffMs,
        ]);
      }
      total += rows.length;
      if (rows.length < batch) return total;
    }
  }

  private toEnvelope(projectId: string, r: any): EventEnvelope {
    return {
      seq: Number(r.seq),
      type: r.type as EventType,
      projectId,
      workflowId: r.workflow_id ?? null,
      stepId: r.step_id ?? null,
      attempt: Number(r.attempt ?? 1),
      at: new Date(Number(r.at)).toISOString(),
      data: JSON.parse(String(r.data)),
    };
  }
}
