import type { StepState } from './workflow.types';

/** floor(Σ weightᵢ·progressᵢ / Σ weightᵢ), completed and skipped steps counting as 100. */
export function workflowProgress(
  steps: readonly Pick<StepState, 'weight' | 'status' | 'progress'>[],
): number {
  let weighted = 0;
  let total = 0;
  for (const s of steps) {
    const p = s.status === 'completed' || s.status === 'skipped' ? 100 : s.progress;
    weighted += s.weight * p;
    total += s.weight;
  }
  if (total === 0) return 0;
  const value = Math.floor((weighted / total) * 1e9) / 1e9; // absorb float noise such as 99.99999999
  const done = steps.every((s) => s.status === 'completed' || s.status === 'skipped');
  return done ? 100 : Math.min(99, Math.floor(value));
}

/** A step's percentage from files examined and the like. */
export function progressFromCount(current: number, total: number): number {
  return Math.floor((100 * current) / total);
}
