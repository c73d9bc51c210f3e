import { Injectable } from '@nestjs/common';
import { DbService } from '../../../database/db.service';
import { insertStatements } from '../../../database/sql';
import { GAPS_KEY, HISTORY_RUNS, slowThresholdMs, StepMedians, stepMedians } from './eta-estimator';

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
    await this.updateThresholds(run.projectId, run.type);
  }

  /**
   * §13: each step's slow threshold — max(p95, 1.5 × median) over the newest HISTORY_RUNS runs, with at
   * least 5 — where the slow-step sweep joins running steps against it (a step below 5 runs has none).
   */
  async updateThresholds(projectId: string, type: string): Promise<void> {
    const rows = await this.db.query(
      'SELECT durations FROM run_history WHERE project_id = ? AND type = ? ORDER BY finished_at DESC, workflow_id DESC LIMIT ?',
      [projectId, type, HISTORY_RUNS],
    );
    const byStep = new Map<string, number[]>();
    for (const r of rows)
      for (const [stepId, ms] of Object.entries(JSON.parse(String(r.durations)) as Record<string, number>)) {
        if (stepId === GAPS_KEY || !Number.isFinite(ms) || ms < 0) continue;
        const list = byStep.get(stepId) ?? [];
        list.push(ms);
        byStep.set(stepId, list);
      }
    const now = Date.now();
    const values: unknown[][] = [];
    for (const [stepId, list] of byStep) {
      const threshold = slowThresholdMs(list);
      if (threshold !== null) values.push([projectId, type, stepId, threshold, list.length, now]);
    }
    for (const st of insertStatements(
      'step_thresholds',
      ['project_id', 'type', 'step_id', 'threshold_ms', 'runs', 'updated_at'],
      values,
      this.db.dialect.upsert(['project_id', 'type', 'step_id'], ['threshold_ms', 'runs', 'updated_at']),
    ))
      await this.db.query(st.sql, st.params);
  }

  /**
   * Running steps (of running workflows, in their current attempt, not yet reported) that have run longer
   * than their type's slow threshold. The database does the comparison, so a sweep over many running
   * workflows moves only the few rows that are newly slow.
   */
  async overdueSteps(
    now: number,
    limit: number,
  ): Promise<
    { projectId: string; workflowId: string; stepId: string; attempt: number; thresholdMs: number }[]
  > {
    const min = await this.db.query('SELECT MIN(threshold_ms) AS m FROM step_thresholds');
    if (min[0]?.m === null || min[0]?.m === undefined) return [];
    // a requeue resets its steps' markers to NULL, so "not reported in this attempt" is "slow_attempt IS NULL";
    // with the smallest threshold as a bound the index range holds only unreported steps that could be slow
    const rows = await this.db.query(
      'SELECT w.project_id, s.workflow_id, s.id AS step_id, w.attempt, t.threshold_ms ' +
        'FROM workflow_steps s ' +
        'JOIN workflows w ON w.id = s.workflow_id ' +
        // `+w.…`: never drive the join from the (small) thresholds table through all of a type's workflows;
        // the plan is running steps (index range) → their workflow (primary key) → its threshold (primary key)
        'JOIN step_thresholds t ON t.project_id = +w.project_id AND t.type = +w.type AND t.step_id = s.id ' +
        "WHERE s.status = 'running' AND s.slow_attempt IS NULL AND s.started_at < ? " +
        "AND s.started_at < ? - t.threshold_ms AND w.status = 'running' LIMIT ?",
      [now - Number(min[0].m), now, limit],
    );
    return rows.map((r) => ({
      projectId: r.project_id,
      workflowId: r.workflow_id,
      stepId: r.step_id,
      attempt: Number(r.attempt),
      thresholdMs: Number(r.threshold_ms),
    }));
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
