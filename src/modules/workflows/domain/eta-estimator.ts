import type { Eta, StepState, WorkflowState } from './workflow.types';

/**
 * Median duration (ms) of each step id over the last completed runs of one (project, type); `runs` keeps
 * those runs' step durations (newest first) for the range (§13). A map without `runs` gives no range.
 */
export type StepMedians = ReadonlyMap<string, number> & {
  readonly runs?: readonly Readonly<Record<string, number>>[];
};

/** The part of a workflow's state an estimate reads. */
export type EtaInput = Pick<WorkflowState, 'status' | 'progress' | 'startedAt'> & {
  steps: readonly Pick<StepState, 'id' | 'weight' | 'status' | 'progress' | 'startedAt'>[];
};

/** How many completed runs of a type the medians are taken over. */
export const HISTORY_RUNS = 20;
/** What a running step that has overrun its median still contributes, as a share of that median. */
export const OVERRUN_FLOOR = 0.05;

/** Quantile of the remaining time that `remainingP90Ms` reports. */
export const RANGE_QUANTILE = 0.9;

const NONE: Eta = {
  remainingMs: null,
  finishAt: null,
  basis: 'none',
  remainingP90Ms: null,
  queueWaitMs: null,
};

/**
 * The ETA of a workflow, pure. "history" when step medians of its type are known (and name at least one of
 * its steps), "rate" when the workflow's own progress rate is, "none" otherwise; terminal workflows: none.
 */
export function estimateEta(wf: EtaInput, history: StepMedians | undefined, now: number): Eta {
  if (wf.status !== 'queued' && wf.status !== 'running') return { ...NONE };
  const fromHistory = history ? historyRemainingMs(wf, history, now) : null;
  if (fromHistory !== null) {
    const p90 = history!.runs ? rangeRemainingMs(wf, history!, now) : null;
    // §13: null only without history; a history too thin for a spread still bounds the estimate from above
    return eta(now, fromHistory, 'history', p90 === null ? fromHistory : Math.max(p90, fromHistory));
  }
  const fromRate = rateRemainingMs(wf, now);
  if (fromRate !== null) return eta(now, fromRate, 'rate', null);
  return { ...NONE };
}

/**
 * The remaining time's 90th percentile, from whole recorded runs rather than per-step percentiles: for each
 * recorded run r, what the work still to do took in r (pending steps at r's duration, a running step at r's
 * duration scaled like the median estimate), then the 90th percentile (linear interpolation) over the runs.
 * Steps of one run vary together (a slow machine is slow for every step), which a sum of per-step p90s
 * would either ignore (too wide) or a per-step product would get wrong; resampling whole runs keeps that.
 * A step a run lacks is priced at the median. Null without recorded runs (one run is its own p90).
 */
export function rangeRemainingMs(wf: EtaInput, history: StepMedians, now: number): number | null {
  const runs = history.runs ?? [];
  if (runs.length < 1) return null;
  const totals: number[] = [];
  // the gaps before the steps not started yet: a sequential run of n steps has n − 1 of them
  const pending = wf.steps.filter((st) => st.status === 'pending').length;
  const gapShare = wf.steps.length > 1 ? pending / (wf.steps.length - 1) : 0;
  for (const run of runs.slice(0, HISTORY_RUNS)) {
    const fromRun = new Map<string, number>();
    for (const st of wf.steps) {
      const d = run[st.id];
      if (typeof d === 'number' && Number.isFinite(d) && d >= 0) fromRun.set(st.id, d);
      else {
        const m = history.get(st.id);
        if (m !== undefined) fromRun.set(st.id, m);
      }
    }
    const r = historyRemainingMs(wf, fromRun, now);
    const gaps = run[GAPS_KEY];
    if (r !== null)
      totals.push(r + (typeof gaps === 'number' && gaps > 0 ? gaps * Math.min(1, gapShare) : 0));
  }
  const q = quantile(totals, RANGE_QUANTILE);
  return q === undefined ? null : Math.round(q);
}

/** Linear-interpolation quantile (type 7, as numpy and R by default). */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
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
export function stepMedians(runs: readonly Readonly<Record<string, number>>[]): Map<string, number> & {
  runs: readonly Readonly<Record<string, number>>[];
} {
  const byStep = new Map<string, number[]>();
  for (const run of runs.slice(0, HISTORY_RUNS)) {
    for (const [stepId, ms] of Object.entries(run)) {
      if (stepId === GAPS_KEY || !Number.isFinite(ms) || ms < 0) continue;
      const list = byStep.get(stepId);
      if (list) list.push(ms);
      else byStep.set(stepId, [ms]);
    }
  }
  const out = new Map<string, number>() as Map<string, number> & {
    runs: readonly Readonly<Record<string, number>>[];
  };
  for (const [stepId, list] of byStep) out.set(stepId, median(list)!);
  out.runs = runs.slice(0, HISTORY_RUNS);
  return out;
}

/** A step this slow is slow (§13): max(p95, 1.5 × median) of its recorded durations; none below MIN_SLOW_RUNS runs. */
export const MIN_SLOW_RUNS = 5;
export function slowThresholdMs(durations: readonly number[]): number | null {
  if (durations.length < MIN_SLOW_RUNS) return null;
  return Math.round(Math.max(quantile(durations, 0.95)!, 1.5 * median(durations)!));
}

/**
 * The key under which a run records its time between steps (its run time minus its steps' durations); no
 * step id can take it (ids start with a letter or digit). Only the range uses it.
 */
export const GAPS_KEY = '$gaps';

/**
 * A run's time outside its steps (between one step's end and the next one's start): part of the real
 * remaining time, which the step durations alone leave out.
 */
export function runGapsMs(
  run: { startedAt: number | null; finishedAt: number | null },
  durations: Readonly<Record<string, number>>,
): number | undefined {
  if (run.startedAt === null || run.finishedAt === null) return undefined;
  let steps = 0;
  for (const ms of Object.values(durations)) steps += ms;
  return Math.max(0, run.finishedAt - run.startedAt - steps);
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

/**
 * The longest remaining time an ETA states: 100 years. Weights the contract allows (any number > 0, up to
 * 1e9) can price an unknown step at ~1e17 ms and more, past the last date a `finishAt` can name (~275,000
 * years); an estimate that far out says only "not in any useful time", so it is capped, never a 500.
 */
export const MAX_ETA_MS = 100 * 365 * 24 * 3600 * 1000;

/** At most MAX_ETA_MS; an estimate that is not a number at all (∞ − ∞ on such weights) too. */
const capped = (ms: number): number => (ms < MAX_ETA_MS ? ms : MAX_ETA_MS);

function eta(now: number, remainingMs: number, basis: Eta['basis'], remainingP90Ms: number | null): Eta {
  const remaining = capped(remainingMs);
  return {
    remainingMs: remaining,
    finishAt: new Date(now + remaining).toISOString(),
    basis,
    // capped alike, so still ≥ remainingMs
    remainingP90Ms: remainingP90Ms === null ? null : capped(remainingP90Ms),
    queueWaitMs: null,
  };
}
