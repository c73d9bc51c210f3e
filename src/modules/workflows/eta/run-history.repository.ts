import { Injectable } from '@nestjs/common';
import { DbService } from '../../../database/db.service';
import { HISTORY_RUNS, StepMedians, stepMedians } from '../domain/eta-estimator';

export interface CompletedRun {
  workflowId: string;
  projectId: string;
  type: string;
  finishedAt: number;
  /** { "<stepId>": durationMs } */
  durations: Record<string, number>;
}

/** The persisted ETA history: completed runs per (project, type), the newest HISTORY_RUNS of each kept. */
@Injectable()
export class RunHistoryRepository {
  private readonly trimming = new Set<string>();

  constructor(private readonly db: DbService) {}

  /** Idempotent (keyed by workflow id); older runs of the type beyond the newest HISTORY_RUNS are dropped. */
  /**
   * One autocommit insert (idempotent per workflow), then a best-effort trim to the newest runs. The trim
   * is coalesced per (project, type) and kept out of any transaction: trimming inside the insert's
   * transaction made concurrent completions delete each other's fresh rows and deadlock. Reads only use
   * the newest HISTORY_RUNS anyway, so a skipped trim costs a few rows, never a wrong estimate.
   */
  async record(run: CompletedRun): Promise<void> {
    await this.db.query(
      `${this.db.dialect.insertIgnore()} run_history (workflow_id, project_id, type, finished_at, durations) VALUES (?, ?, ?, ?, ?)`,
      [run.workflowId, run.projectId, run.type, run.finishedAt, JSON.stringify(run.durations)],
    );
    const key = `${run.projectId}\u0000${run.type}`;
    if (this.trimming.has(key)) return;
    this.trimming.add(key);
    try {
      const cut = await this.db.query(
        'SELECT finished_at FROM run_history WHERE project_id = ? AND type = ? ORDER BY finished_at DESC LIMIT 1 OFFSET ?',
        [run.projectId, run.type, HISTORY_RUNS - 1],
      );
      if (cut.length)
        await this.db.query('DELETE FROM run_history WHERE project_id = ? AND type = ? AND finished_at < ?', [
          run.projectId,
          run.type,
          Number(cut[0].finished_at),
        ]);
    } catch {
      // best effort: the next completion of this type trims again
    } finally {
      this.trimming.delete(key);
    }
  }

  /** Step medians of every type the project has history for. */
  async loadMedians(projectId: string): Promise<Map<string, StepMedians>> {
    const rows = await this.db.query(
      'SELECT type, durations FROM run_history WHERE project_id = ? ORDER BY type, finished_at DESC, workflow_id DESC',
      [projectId],
    );
    const runsByType = new Map<string, Record<string, number>[]>();
    for (const r of rows) {
      const runs = runsByType.get(r.type) ?? [];
      if (runs.length >= HISTORY_RUNS) continue; // newest first: only the last HISTORY_RUNS count
      runs.push(JSON.parse(String(r.durations)));
      runsByType.set(r.type, runs);
    }
    const out = new Map<string, StepMedians>();
    for (const [type, runs] of runsByType) {
      const medians = stepMedians(runs);
      if (medians.size) out.set(type, medians);
    }
    return out;
  }
}
