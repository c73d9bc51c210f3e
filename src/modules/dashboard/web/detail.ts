import type { Log, Step } from '@stepline/client';
import { $, announce, el, enc, fmtDuration, setBar, setText } from './dom';
import { etaText } from './eta';
import { setJson } from './json-view';
import { positionOf } from './list';
import { scheduleRender } from './render';
import { TERMINAL, actions, state, type Row } from './state';
import { fmtMs, renderTimeline } from './timeline';

/** At most this many log lines are kept for the open workflow (the oldest go first). */
export const MAX_LOG_LINES = 2000;

export function selectedRow(): Row | null {
  return state.selected && !state.accessDenied ? (state.workflows.get(state.selected) ?? null) : null;
}

/** "1 of 3": the same from REST and from live events (#18.9); "1 of …" until the limit is read. */
export function attemptText(wf: Row): string {
  return `${wf.attempt || 1} of ${wf.partial ? '\u2026' : wf.maxAttempts}`;
}

export function renderDetail(): void {
  if (logsPending) {
    const full = logsPending === 'full';
    logsPending = null;
    renderLogs(full);
  }
  const wf = selectedRow();
  const empty = $('detail-empty');
  empty.hidden = !!wf;
  $('detail-body').hidden = !wf;
  setText(
    empty,
    state.selected && !state.accessDenied
      ? `Loading workflow ${state.selected}\u2026`
      : 'Pick a workflow on the left to see its steps and logs.',
  );
  // #18.14: the heading names what is open
  setText($('detail-title'), wf ? wf.name || wf.id : 'Workflow');
  if (!wf) return;
  setText($('detail-name'), wf.name || wf.id);
  setText(
    $('detail-meta'),
    `id ${wf.id} \u00b7 type ${wf.type}${wf.queue ? ` \u00b7 queue ${wf.queue}` : ''}`,
  );
  const parentLink = $<HTMLAnchorElement>('detail-parent');
  parentLink.hidden = !wf.parent;
  if (wf.parent) {
    parentLink.setAttribute('href', `#/p/${enc(state.project ?? '')}/w/${enc(wf.parent.workflowId)}`);
    setText(parentLink, `Part of ${wf.parent.workflowId} (step ${wf.parent.stepId})`);
  }
  const st = $('detail-status');
  setText(st, wf.status);
  st.dataset.status = wf.status;
  const prog = $('detail-progress');
  setBar(prog, wf.progress, 0, 100, `${wf.progress} %`, wf.status);
  prog.dataset.status = wf.status;
  renderEta();
  setText($('detail-attempt'), attemptText(wf));
  renderTimes(wf);
  const meta = $('detail-metadata');
  const hasMeta = !!wf.metadata && Object.keys(wf.metadata).length > 0;
  meta.hidden = !hasMeta;
  if (hasMeta) setJson(meta, wf.metadata, 'Metadata');
  const err = $('detail-error');
  err.hidden = !wf.error;
  setText(err, wf.error ? `Error${wf.error.code ? ` (${wf.error.code})` : ''}: ${wf.error.message}` : '');
  const cancel = $<HTMLButtonElement>('cancel-button');
  cancel.hidden = !state.canWrite || TERMINAL.has(wf.status);
  cancel.disabled = state.cancelling.has(wf.id);
  setText(cancel, state.cancelling.has(wf.id) ? 'Cancelling\u2026' : 'Cancel workflow');
  renderSteps(wf);
  renderTimeline(wf);
  rereadMetrics(wf);
  $('log-empty').hidden = state.logs.size > 0;
  // the polite live region: a change of the open workflow's status, once
  const a = state.announced;
  if (!a || a.id !== wf.id) state.announced = { id: wf.id, status: wf.status };
  else if (a.status !== wf.status) {
    state.announced = { id: wf.id, status: wf.status };
    announce(`${wf.name || wf.id}: ${wf.status}`);
  }
}

export function renderEta(): void {
  const wf = selectedRow();
  if (!wf) return;
  setText($('detail-eta'), etaText(wf, false, Date.now(), positionOf(wf.id)));
  // running bars grow to now between events
  if (wf.status === 'running') {
    renderTimeline(wf);
    renderTimes(wf);
  }
  rereadMetrics(wf);
}

/**
 * Step metrics are not in progress events: the open workflow is read again, at most every 5 s, when events
 * came for it since the last read (so a finished workflow is read once more, then left alone).
 */
export const METRICS_REREAD_MS = 5000;
let metricsRead = { id: '', seq: 0, at: 0 };

function rereadMetrics(wf: Row): void {
  const now = Date.now();
  if (metricsRead.id !== wf.id) {
    metricsRead = { id: wf.id, seq: wf.lastSeq, at: now };
    return;
  }
  if (wf.lastSeq <= metricsRead.seq || now - metricsRead.at < METRICS_REREAD_MS) return;
  metricsRead = { id: wf.id, seq: wf.lastSeq, at: now };
  actions.rereadWorkflow(wf.id);
}

/** "6 Dec 2026, 01:23:56" in a <time> (machine-readable, the ISO string as its title). */
function setTime(dd: HTMLElement, iso: string | null, suffix = ''): void {
  const key = `${iso ?? ''}|${suffix}`;
  if (dd.dataset.key === key) return;
  dd.dataset.key = key;
  dd.textContent = '';
  if (!iso) {
    dd.textContent = `\u2014${suffix}`;
    return;
  }
  const t = el('time', {
    text: new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }),
  });
  t.dateTime = iso;
  t.title = iso;
  dd.appendChild(t);
  if (suffix) dd.appendChild(document.createTextNode(suffix));
}

/** Created, started, finished (with how long it ran) and last updated, each with its date (#18.10). */
function renderTimes(wf: Row): void {
  setTime($('detail-created'), wf.createdAt);
  const ran = wf.startedAt
    ? (wf.finishedAt ? Date.parse(wf.finishedAt) : Date.now()) - Date.parse(wf.startedAt)
    : null;
  setTime($('detail-started'), wf.startedAt);
  const suffix =
    ran == null
      ? ''
      : wf.finishedAt
        ? ` (ran ${fmtMs(ran)})`
        : ` (running for ${fmtMs(Math.floor(ran / 1000) * 1000)})`;
  setTime($('detail-finished'), wf.finishedAt, suffix);
  setTime($('detail-updated'), wf.updatedAt);
}

function renderSteps(wf: Row): void {
  const list = $('step-list');
  if (list.dataset.workflowId !== wf.id) {
    list.textContent = '';
    list.dataset.workflowId = wf.id;
  }
  wf.steps.forEach((s, i) => {
    let li = list.children[i] as HTMLElement | undefined;
    if (!li || li.dataset.stepId !== s.id) {
      li = createStepItem(s.id);
      list.insertBefore(li, list.children[i] ?? null);
    }
    updateStepItem(li, s, wf);
  });
  while (list.children.length > wf.steps.length) list.lastElementChild!.remove();
}

function createStepItem(id: string): HTMLElement {
  const li = document.createElement('li');
  li.className = 'step';
  li.dataset.stepId = id;
  li.setAttribute('data-testid', 'step');
  li.innerHTML =
    '<div class="step-head"><span class="step-name"></span>' +
    '<span class="step-count" data-testid="step-count"></span>' +
    '<span class="badge" data-testid="step-status"></span></div>' +
    '<div class="bar" role="progressbar" data-testid="step-bar"><div class="fill"></div></div>' +
    '<div class="step-message" data-testid="step-message"></div>' +
    '<div class="step-times muted small" data-testid="step-times"></div>' +
    '<div class="step-error error" data-testid="step-error" hidden></div>' +
    '<div class="step-result" data-testid="step-result" hidden></div>' +
    '<div class="step-metrics" data-testid="step-metrics" hidden></div>' +
    '<ul class="plain step-children" data-testid="step-children" hidden></ul>';
  return li;
}

function updateStepItem(li: HTMLElement, s: Step, wf: Row): void {
  const name = s.name || s.id;
  setText(li.querySelector('.step-name'), name);
  const counted = typeof s.current === 'number' && typeof s.total === 'number';
  setText(li.querySelector('.step-count'), counted ? `${s.current} / ${s.total}` : `${s.progress} %`);
  const badge = li.querySelector<HTMLElement>('.badge')!;
  const slowMark = wf.slow?.[s.id];
  const slow = s.status === 'running' && slowMark && slowMark.attempt === wf.attempt ? slowMark : null;
  setText(badge, slow ? `running \u00b7 slow (usually ${fmtDuration(slow.expectedMs)})` : s.status);
  badge.dataset.status = s.status;
  badge.dataset.slow = slow ? '1' : '';
  const bar = li.querySelector<HTMLElement>('.bar')!;
  bar.setAttribute('aria-label', `Step ${name}`);
  const valueText = counted ? `${s.current} of ${s.total} (${s.progress} %)` : `${s.progress} %`;
  if (counted) setBar(bar, s.current!, 0, s.total!, valueText, s.status, s.progress);
  else setBar(bar, s.progress, 0, 100, valueText, s.status);
  setText(li.querySelector('.step-message'), s.message || '');
  const e = li.querySelector<HTMLElement>('.step-error')!;
  e.hidden = !s.error;
  setText(e, s.error ? `Error${s.error.code ? ` (${s.error.code})` : ''}: ${s.error.message}` : '');
  setText(li.querySelector('.step-times'), stepTimes(s));
  const result = li.querySelector<HTMLElement>('.step-result')!;
  result.hidden = s.result === null || s.result === undefined;
  if (!result.hidden) setJson(result, s.result, 'Result');
  const metrics = li.querySelector<HTMLElement>('.step-metrics')!;
  metrics.hidden = !s.metrics;
  if (s.metrics) setJson(metrics, s.metrics, 'Metrics');
  renderChildren(li.querySelector<HTMLElement>('.step-children')!, s.children || []);
}

/** "Started 01:02:03 · finished 01:02:15 · took 12 s" (#18.10); empty for a step that never started. */
function stepTimes(s: Step): string {
  if (!s.startedAt) return '';
  const t = (iso: string) => new Date(iso).toLocaleTimeString();
  const took = s.durationMs ?? (s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : null);
  return s.finishedAt
    ? `Started ${t(s.startedAt)} \u00b7 ended ${t(s.finishedAt)} \u00b7 took ${fmtMs(took ?? 0)}`
    : `Started ${t(s.startedAt)}`;
}

/** §14: a step's child workflows, each a link that opens it (progress and status when it is on the page). */
function renderChildren(ul: HTMLElement, ids: string[]): void {
  ul.hidden = ids.length === 0;
  while (ul.children.length > ids.length) ul.lastElementChild!.remove();
  ids.forEach((id, i) => {
    let li = ul.children[i];
    if (!li) {
      li = document.createElement('li');
      li.appendChild(el('a', { testid: 'child-link' }));
      ul.appendChild(li);
    }
    const a = li.firstChild as HTMLAnchorElement;
    const child = state.workflows.get(id);
    const href = `#/p/${enc(state.project ?? '')}/w/${enc(id)}`;
    if (a.getAttribute('href') !== href) a.setAttribute('href', href);
    a.dataset.childId = id;
    setText(a, `Child ${child?.name || id}${child ? ` \u2014 ${child.status}, ${child.progress} %` : ''}`);
  });
}

// ---- logs ----------------------------------------------------------------------------------------------

/**
 * Log lines land in `state.logs` at once and reach the DOM with the next render of the detail (render.ts):
 * a burst of lines is one append and one scroll, not one layout per line.
 */
let logsPending: 'append' | 'full' | null = null;
/** the highest log id in `state.logs`: a line below it arrived out of order, and the list is redrawn */
let logMax = 0;

export function clearLogs(): void {
  state.logs = new Map();
  logsPending = null;
  logMax = 0;
  $('log-list').textContent = '';
}

export function addLogs(items: Log[]): void {
  let inOrder = true;
  let added = false;
  for (const log of items) {
    if (!log || state.logs.has(log.id)) continue;
    state.logs.set(log.id, log);
    added = true;
    if (log.id < logMax) inOrder = false;
    logMax = Math.max(logMax, log.id);
  }
  if (!added) return;
  if (state.logs.size > MAX_LOG_LINES) {
    // the oldest go first; their lines leave the top of the list (renderLogs), the rest stay
    const ids = Array.from(state.logs.keys()).sort((a, b) => a - b);
    for (const k of ids.slice(0, ids.length - MAX_LOG_LINES)) state.logs.delete(k);
  }
  logsPending = !inOrder || logsPending === 'full' ? 'full' : 'append';
  scheduleRender('detail');
}

function renderLogs(full: boolean): void {
  const list = $('log-list');
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  if (full) list.textContent = '';
  let first = list.firstElementChild as HTMLElement | null;
  while (first && !state.logs.has(Number(first.dataset.logId))) {
    first.remove();
    first = list.firstElementChild as HTMLElement | null;
  }
  const last = list.lastElementChild ? Number((list.lastElementChild as HTMLElement).dataset.logId) : 0;
  const ids = Array.from(state.logs.keys())
    .filter((id) => id > last)
    .sort((a, b) => a - b);
  const frag = document.createDocumentFragment();
  for (const id of ids) frag.appendChild(logItem(state.logs.get(id)!));
  list.appendChild(frag);
  $('log-empty').hidden = state.logs.size > 0;
  if (stick) list.scrollTop = list.scrollHeight;
}

function logItem(log: Log): HTMLElement {
  const li = document.createElement('li');
  li.dataset.logId = String(log.id);
  li.setAttribute('data-testid', 'log-line');
  li.appendChild(el('span', { className: 'log-time', text: new Date(log.at).toLocaleTimeString() }));
  const level = el('span', { className: 'log-level', text: log.level });
  level.dataset.level = log.level;
  li.appendChild(level);
  li.appendChild(
    el('span', { className: 'log-message', text: (log.stepId ? `[${log.stepId}] ` : '') + log.message }),
  );
  if (log.details !== null && log.details !== undefined) {
    const d = el('div', { className: 'log-details', testid: 'log-details' });
    setJson(d, log.details, 'Details');
    li.appendChild(d);
  }
  return li;
}
