import { $, option } from './dom';
import { state, type ConnState } from './state';

const CONN_TEXT: Record<ConnState, string> = {
  'signed-out': 'signed out',
  idle: 'not watching',
  live: 'live',
  reconnecting: 'reconnecting\u2026',
  offline: 'offline',
};

/** The connection indicator. "offline" only when the server (or the network) cannot be reached (#18.7). */
export function setConn(s: ConnState): void {
  if (navigator.onLine === false && s !== 'signed-out') s = 'offline';
  state.conn = s;
  const c = $('connection');
  if (c.dataset.state !== s) {
    c.dataset.state = s;
    c.textContent = CONN_TEXT[s];
  }
  renderConnDetails();
}

export function renderConnDetails(): void {
  const c = $('connection');
  c.dataset.lastSeq = String(state.lastApplied);
  c.dataset.replayed = String(state.lastReplayed);
  c.dataset.resets = String(state.resets);
  c.title =
    state.conn === 'live'
      ? `Receiving live events (last event #${state.lastApplied})`
      : state.conn === 'offline'
        ? `The server cannot be reached; retrying. Last event #${state.lastApplied}`
        : state.conn === 'reconnecting'
          ? 'Connecting; missed events will be replayed'
          : state.conn === 'idle'
            ? 'Signed in; no project is being watched'
            : 'Enter a key to sign in';
}

/**
 * The project picker: the key's projects only. A project the key cannot read is never added to it (#18.2);
 * a project that is loading but not (yet) in the list is shown while it is the current one.
 */
export function renderProjectsSelect(): void {
  const sel = $<HTMLSelectElement>('project-select');
  const items: { id: string; label: string }[] = state.projects.map((p) => ({
    id: p.id,
    label: p.counts ? `${p.id} \u2014 ${p.counts.running} running, ${p.counts.queued} queued` : p.id,
  }));
  const current = state.project && !state.accessDenied ? state.project : null;
  if (current && !items.some((p) => p.id === current)) items.push({ id: current, label: current });
  if (!current) items.unshift({ id: '', label: 'choose a project\u2026' });
  const signature = JSON.stringify(items);
  if (sel.dataset.signature !== signature) {
    // rebuilt only when something changed, so an open picker is not closed by the periodic refresh
    sel.dataset.signature = signature;
    sel.textContent = '';
    for (const o of items) sel.appendChild(option(o.id, o.label));
  }
  sel.value = current ?? '';
}
