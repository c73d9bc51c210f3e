import type { Eta, StepState, WorkflowState } from './workflow.types';

/** Median duration (ms) of each step id over the last completed runs of one (project, type). */
export type StepMedians = ReadonlyMap<string, number>;

/** The part of a workflow's state an estimate reads. */
export type EtaInput = Pick<WorkflowState, 'status' | 'progress' | 'startedAt'> & {
  steps: readonly Pick<StepState, 'id' | 'weight' | 'status' | 'progress' | 'startedAt'>[];
};

/** How many completed runs of a type the medians are taken over. */
export const HISTORY_RUNS = 20;
/** What a running step that has overrun its median still contributes, as a share of that median. */
export const OVERRUN_FLOOR = 0.05;

const NONE: Eta = { remainingMs: null, finishAt: null, basis: 'none' };

/**
 * The ETA of a workflow, pure. "history" when step medians of its type are known (and name at least one of
 * its steps), "rate" when the workflow's own progress rate is, "none" otherwise; terminal workflows: none.
 */
export function estimateEta(wf: EtaInput, history: StepMedians | undefined, now: number): Eta {
  if (wf.status !== 'queued' && wf.status !== 'running') return NONE;
  const fromHistory = history ? historyRemainingMs(wf, history, now) : null;
  if (fromHistory !== null) return eta(now, fromHistory, 'history');
  const fromRate = rateRemainingMs(wf, now);
  if (fromRate !== null) return eta(now, fromRate, 'rate');
  return NONE;
}

/**
 * Σ over the steps not done: pending → the step's median; running → the median scaled by the progress still
 * to make (or, when it reports none, the median minus the time it has run), never below a small floor.
 * A step id the history lacks is priced at the history's time per unit of weight. Null when no step is known.
 */
export function historyRemainingMs(wf: EtaInput, history: StepMedians, now: number): number | null {
  let knownMs = 0;
  let knownWeight = 0;
  for (const st of wf.steps) {
    const m = history.get(st.id);
    if (m === undefined) continue;
    knownMs += m;
    knownWeight += st.weight;
  }
  if (knownWeight === 0) return null;
  const msPerWeight = knownMs / knownWeight;
  let remaining = 0;
  for (const st of wf.steps) {
    const median = history.get(st.id) ?? msPerWeight * st.weight;
    if (st.status === 'pending') remaining += median;
    else if (st.status === 'running') {
      const left =
        st.progress > 0
          ? median * (1 - Math.min(100, st.progress) / 100)
          : median - Math.max(0, now - (st.startedAt ?? now));
      remaining += Math.max(left, median * OVERRUN_FLOOR);
    }
    // completed, skipped (and failed or cancelled, which only a terminal workflow has): nothing left
  }
  return Math.round(remaining);
}

/** The workflow's own rate: time since it started, scaled by the progress still to make. */
export function rateRemainingMs(wf: EtaInput, now: number): number | null {
  if (wf.status !== 'running' || wf.startedAt === null || wf.progress <= 0 || wf.progress >= 100) return null;
  const elapsed = Math.max(0, now - wf.startedAt);
  return Math.round((elapsed * (100 - wf.progress)) / wf.progress);
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Per step id, the median of its durations over the given runs (newest first; only the first HISTORY_RUNS count). */
export function stepMedians(runs: readonly Readonly<Record<string, number>>[]): Map<string, number> {
  const byStep = new Map<string, number[]>();
  for (const run of runs.slice(0, HISTORY_RUNS)) {
    for (const [stepId, ms] of Object.entries(run)) {
      if (!Number.isFinite(ms) || ms < 0) continue;
      const list = byStep.get(stepId);
      if (list) list.push(ms);
      else byStep.set(stepId, [ms]);
    }
  }
  const out = new Map<string, number>();
  for (const [stepId, list] of byStep) out.set(stepId, median(list)!);
  return out;
}

/** The durations a completed run contributes: finishedAt − startedAt of each completed step. */
export function runDurations(
  steps: readonly Pick<StepState, 'id' | 'status' | 'startedAt' | 'finishedAt'>[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const st of steps)
    if (st.status === 'completed' && st.startedAt !== null && st.finishedAt !== null)
      out[st.id] = Math.max(0, st.finishedAt - st.startedAt);
  return out;
}

function eta(now: number, remainingMs: number, basis: Eta['basis']): Eta {
  return { remainingMs, finishAt: new Date(now + remainingMs).toISOString(), basis };
}
