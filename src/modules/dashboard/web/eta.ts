import { fmtDuration } from './dom';
import { TERMINAL, type Row } from './state';

/** A running workflow with no update for this long says so instead of counting down (#18.4). */
export const STALE_MS = 2 * 60_000;

/** "2–5 min left", "10–40 s left", "40 s–2 min left": one unit when both ends share it. */
export function fmtRange(lowMs: number, highMs: number): string {
  const lo = fmtDuration(lowMs);
  const hi = fmtDuration(highMs);
  if (lo === hi) return `~${lo}`;
  const l = Math.round(lowMs / 1000);
  const h = Math.round(highMs / 1000);
  if (h < 60) return `${l}\u2013${h} s`;
  if (l >= 60 && l % 60 === 0 && h % 60 === 0 && h < 3600) return `${l / 60}\u2013${h / 60} min`;
  if (l >= 60 && h < 3600) {
    const lm = Math.floor(l / 60);
    const hm = Math.ceil(h / 60);
    return lm === hm ? `~${lm} min` : `${lm}\u2013${hm} min`;
  }
  return `${lo}\u2013${hi}`;
}

/** "6 min", "1 h 5 min": how long without an update (whole minutes past two). */
function fmtAge(ms: number): string {
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * The ETA as a person reads it (#18.4): a range from `remainingMs` to `remainingP90Ms`, counting down from
 * when it was read; the queue place and wait of queued work; "overdue" past the range and "no update for N
 * min" when a running workflow has gone quiet — never "~0 s left".
 */
export function etaText(wf: Row, short: boolean, now: number, position: number | null): string {
  if (TERMINAL.has(wf.status)) return wf.status;
  const eta = wf.eta;
  // a workflow that has not started does not get closer to its end: its estimate stands until it starts
  const since = wf.status === 'queued' ? 0 : Math.max(0, now - wf.etaAt);
  if (wf.status === 'queued' && wf.queue) {
    const head = position != null ? `queued #${position}` : 'queued';
    const wait = eta.queueWaitMs != null ? eta.queueWaitMs - Math.max(0, now - wf.etaAt) : null;
    const waitText = wait != null && wait >= 1000 ? `~${fmtDuration(wait)} wait` : 'waiting for a worker';
    if (short || eta.remainingMs == null) return `${head}, ${waitText}`;
    const run =
      eta.remainingP90Ms != null && eta.remainingP90Ms > eta.remainingMs
        ? fmtRange(eta.remainingMs, eta.remainingP90Ms)
        : `~${fmtDuration(eta.remainingMs)}`;
    return `${head}, ${waitText}, then ${run} to run`;
  }
  const quiet = now - Date.parse(wf.updatedAt);
  if (wf.status === 'running' && quiet >= STALE_MS) return `no update for ${fmtAge(quiet)}`;
  if (eta.remainingMs == null) return short ? 'ETA unknown' : 'unknown (no history or rate yet)';
  const left = eta.remainingMs - since;
  const high = eta.remainingP90Ms != null ? Math.max(left, eta.remainingP90Ms - since) : null;
  const basis = short ? '' : ` (from ${eta.basis})`;
  if (left >= 1000) {
    const span = high != null ? fmtRange(left, high) : `~${fmtDuration(left)}`;
    if (short) return `${span} left`;
    const at = new Date(now + (high ?? left)).toLocaleTimeString();
    return `${span} left (${high != null ? 'by' : 'around'} ${at}, from ${eta.basis})`;
  }
  if (high != null && high >= 1000) return `up to ${fmtDuration(high)} left${basis}`;
  const over = -(high ?? left);
  return over >= 1000 ? `overdue by ${fmtDuration(over)}${basis}` : `overdue${basis}`;
}
