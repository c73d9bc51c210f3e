import { Injectable } from '@nestjs/common';
import { DbService } from '../../../database/db.service';
import { HISTORY_RUNS, StepMedians, stepMedians } from './eta-estimator';

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
  constructor(private readonly db: DbService) {}

  /** Idempotent (keyed by workflow id); older runs of the type beyond the newest HISTORY_RUNS are dropped. */
  async record(run: CompletedRun): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.exec(
        `${tx.dialect.insertIgnore()} run_history (workflow_id, project_id, type, finished_at, durations) VALUES (?, ?, ?, ?, ?)`,
        [run.workflowId, run.projectId, run.type, run.finishedAt, JSON.stringify(run.durations)],
      );
      const cut = await tx.query(
        'SELECT finished_at FROM run_history WHERE project_id = ? AND type = ? ORDER BY finished_at DESC LIMIT 1 OFFSET ?',
        [run.projectId, run.type, HISTORY_RUNS - 1],
      );
      if (cut.length)
        await tx.exec('DELETE FROM run_history WHERE project_id = ? AND type = ? AND finished_at < ?', [
          run.projectId,
          run.type,
          Number(cut[0].finished_at),
        ]);
    });
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
