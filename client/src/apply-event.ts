import type { Eta, Step, SteplineEvent, Workflow } from './types.js';

const TERMINAL_STEP = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/**
 * An event's ETA for the workflow after it. Events carry `queueWaitMs: null` (the server computes the wait
 * when it is read, §13), so while the workflow stays queued the wait from the last read is kept.
 */
function etaOf(before: Workflow, after: Workflow, eta: Eta): Eta {
  if (after.status !== 'queued' || eta.queueWaitMs !== null) return eta;
  return { ...eta, queueWaitMs: before.eta.queueWaitMs };
}

/**
 * Folds one event into a Workflow as last read, for live views. Returns the same object when the event is
 * not newer than the workflow (`event.seq <= workflow.lastSeq`), so a read and a replay can overlap freely;
 * `undefined` when the event changes what it cannot show (a requeue): read the workflow again.
 */
export function applyEvent(wf: Workflow, e: SteplineEvent): Workflow | undefined {
  if (e.workflowId !== wf.id || e.seq <= wf.lastSeq) return wf;
  const next: Workflow = { ...wf, lastSeq: e.seq, updatedAt: e.at };
  if (e.attempt !== undefined) next.attempt = e.attempt;
  switch (e.type) {
    case 'workflow:step:started':
    case 'workflow:step:progress':
    case 'workflow:step:completed':
    case 'workflow:step:failed':
    case 'workflow:step:skipped': {
      const d = e.data;
      next.progress = d.workflowProgress;
      // a step that starts, moves or completes starts its workflow; a skip or a fail of a pending step does not
      if (next.status === 'queued' && (d.status === 'running' || d.status === 'completed')) {
        next.status = 'running';
        next.startedAt ??= e.at;
      }
      next.eta = etaOf(wf, next, d.eta);
      next.steps = wf.steps.map((s): Step => {
        if (s.id !== e.stepId) return s;
        const st: Step = {
          ...s,
          status: d.status,
          progress: d.progress,
          current: d.current,
          total: d.total,
          message: d.message,
        };
        if (d.status !== 'pending') st.startedAt ??= e.at;
        if (TERMINAL_STEP.has(d.status)) {
          st.finishedAt = e.at;
          if (st.startedAt) st.durationMs = Date.parse(e.at) - Date.parse(st.startedAt);
        }
        if (e.type === 'workflow:step:completed') st.result = e.data.result;
        if (e.type === 'workflow:step:failed') st.error = e.data.error;
        return st;
      });
      return next;
    }
    case 'workflow:started':
    case 'workflow:completed':
    case 'workflow:failed':
    case 'workflow:cancelled': {
      next.status = e.data.status;
      next.progress = e.data.progress;
      next.eta = etaOf(wf, next, e.data.eta);
      if (e.type === 'workflow:started') next.startedAt ??= e.at;
      else next.finishedAt = e.at;
      if (e.type === 'workflow:failed') next.error = e.data.error;
      // the server ends the pending and running steps with the workflow, whatever the outcome (no event per step)
      if (e.type !== 'workflow:started')
        next.steps = wf.steps.map((s) =>
          s.status === 'pending' || s.status === 'running'
            ? { ...s, status: 'cancelled', finishedAt: e.at }
            : s,
        );
      return next;
    }
    case 'workflow:log':
    case 'workflow:step:slow':
    case 'workflow:created':
      return next;
    case 'workflow:requeued':
      return undefined;
    default:
      return next;
  }
}
