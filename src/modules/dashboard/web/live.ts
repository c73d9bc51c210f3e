/*
 * The page's data: everything goes through @stepline/client. REST reads (projects, list, one workflow, logs,
 * queues, webhooks, the key's role) use `Stepline`; live events come from its watcher (`sl.watch`), which
 * owns the resume logic: it subscribes with `since` = the last seq it delivered on every (re)connect, drops
 * repeats, resubscribes on a gap, and says `onReset` when the position has left the event log.
 *
 * How the page stays right across reloads, tabs and lost connections:
 *  - State is loaded over REST (project lastSeq first, then the workflow list, the selected workflow and its
 *    logs), then the watch starts with `since` = the last seq this browser applied for the project (kept in
 *    localStorage, clamped to the project's lastSeq).
 *  - A workflow ignores events at or below its own `lastSeq` (already in what REST returned, see the
 *    client's `applyEvent`); log lines are keyed by id.
 *  - A reset reloads the state over REST and watches again from the log's lastSeq.
 */
import {
  Stepline,
  applyEvent,
  isSteplineError,
  type ProjectSummary,
  type SteplineEvent,
  type Workflow,
  type WorkflowStatus,
} from '@stepline/client';
import { renderConnDetails, renderProjectsSelect, setConn } from './connection';
import { addLogs, clearLogs, renderDetail } from './detail';
import { $, showBanner } from './dom';
import { renderList } from './list';
import { syncFilterInputs } from './filters';
import { renderQueues, renderWebhooks } from './queue-panel';
import { registerView, renderNow, scheduleRender } from './render';
import { parseHash, sameFilters, setHash } from './router';
import { hideSince, showSince } from './since';
import { TERMINAL, actions, state, type Filters, type Row } from './state';
import { KEYS, channel, store } from './store';

const LIST_LIMIT = 50;
const LOG_PAGE = 1000;
const RETRY_MS = 2000;

// ---- rendering -----------------------------------------------------------------------------------------

// The views, drawn by the render loop (render.ts says how batching works and how a new view hooks in).
registerView('list', renderList);
registerView('detail', renderDetail);
registerView('panel', renderQueues);
registerView('panel', renderWebhooks);
registerView('conn', renderConnDetails);

/** Every view, now: after a user action or a change of what the page shows (project, key, selection). */
export function renderAll(): void {
  renderNow();
}

// ---- calls ---------------------------------------------------------------------------------------------

function statusOf(err: unknown): number {
  return isSteplineError(err) ? err.status : -1;
}

/** A call with the current key; a 401 (the key was revoked) signs out, whatever asked. */
async function call<T>(fn: (sl: Stepline) => Promise<T>): Promise<T> {
  const sl = state.sl;
  if (!sl) throw new Error('signed out');
  try {
    return await fn(sl);
  } catch (err) {
    if (statusOf(err) === 401 && state.sl === sl) onUnauthorized();
    throw err;
  }
}

function messageOf(err: unknown): string {
  if (isSteplineError(err)) return err.status === 0 ? 'the server cannot be reached' : err.message;
  return err instanceof Error ? err.message : String(err);
}

// ---- key, sign-in, tabs ----------------------------------------------------------------------------------

export function showKeyPanel(message: string): void {
  $('key-panel').hidden = false;
  $('board').hidden = true;
  $('project-field').hidden = true;
  $('change-key').hidden = true;
  $('key-error').textContent = message;
  const input = $<HTMLInputElement>('key-input');
  input.value = '';
  input.focus();
}

function onUnauthorized(): void {
  stopSession();
  store.del(KEYS.key);
  showKeyPanel('This key was refused (unknown or revoked). Enter another key.');
}

function closeWatch(): void {
  const w = state.watch;
  state.watch = null;
  state.watchToken = null;
  w?.close();
}

export function stopSession(): void {
  state.gen++;
  closeWatch();
  state.key = null;
  state.sl = null;
  state.me = null;
  state.ready = false;
  state.project = null;
  clearTimeout(state.retryTimer);
  setConn('signed-out');
}

/** Checks the key against the server (401 = refused), then picks a project. */
export async function signIn(key: string, fromForm: boolean): Promise<void> {
  stopSession();
  state.key = key;
  state.sl = new Stepline({
    baseUrl: window.location.origin,
    token: key,
    // the page shows a failure at once and retries on its own terms (a banner, the indicator)
    retry: false,
    socket: { reconnectionDelay: 500, reconnectionDelayMax: 3000 },
  });
  const g = state.gen;
  setConn('reconnecting');
  const remember = () => {
    if (!fromForm) return;
    store.set(KEYS.key, key);
    channel?.postMessage({ type: 'key' });
  };
  try {
    const projects = await call((sl) => sl.projects());
    if (g !== state.gen) return;
    remember();
    startBoard(projects);
  } catch (err) {
    if (g !== state.gen) return;
    const status = statusOf(err);
    if (status === 401) return; // onUnauthorized showed the key panel
    if (fromForm && status !== 0) {
      $('key-error').textContent = `The server answered ${status}: ${messageOf(err)}`;
      setConn('signed-out');
      return;
    }
    // the server is away: keep the key; loading the project retries until it is back
    remember();
    setConn('offline');
    startBoard(null);
  }
}

function startBoard(projects: ProjectSummary[] | null): void {
  $('key-panel').hidden = true;
  $('board').hidden = false;
  $('project-field').hidden = false;
  $('change-key').hidden = false;
  if (projects) state.projects = projects;
  renderProjectsSelect();
  onRoute();
}

// ---- routing ---------------------------------------------------------------------------------------------

export function onRoute(): void {
  if (!state.key) return;
  const r = parseHash();
  const project = r.project || store.get(KEYS.project) || state.projects[0]?.id || null;
  if (r.project && !sameFilters(r.filters, state.filters)) applyFilters(r.filters);
  if (!project) {
    setConn('idle');
    renderAll();
    return;
  }
  if (project !== state.project) selectProject(project, r.workflow);
  else if (r.workflow !== state.selected) selectWorkflow(r.workflow, false);
}

/** Filters from the address: into the inputs and the list. */
function applyFilters(f: Filters): void {
  state.filters = { ...f };
  $<HTMLSelectElement>('filter-status').value = f.status;
  $<HTMLInputElement>('filter-type').value = f.typePrefix;
  $<HTMLInputElement>('filter-search').value = f.search;
  syncFilterInputs();
  if (state.ready) filtersChanged();
}

export function filtersChanged(): void {
  setHash(state.project, state.selected, state.filters);
  renderList();
  if (!state.ready) return;
  state.nextCursor = null;
  fetchList(state.gen, false).catch(() => {
    /* the list keeps what it has */
  });
}

// ---- project state ---------------------------------------------------------------------------------------

function selectProject(project: string, workflow: string | null): void {
  persistSince();
  closeWatch();
  state.gen++;
  state.project = project;
  state.ready = false;
  state.accessDenied = false;
  state.workflows = new Map();
  state.fetching = new Map();
  state.nextCursor = null;
  state.selected = workflow;
  state.logsFor = null;
  state.logsLoaded = false;
  state.canWrite = false;
  state.queues = [];
  state.projectQueue = [];
  state.webhooks = [];
  state.lastApplied = 0;
  clearTimeout(state.retryTimer);
  setHash(project, state.selected, state.filters);
  showBanner('');
  hideSince();
  clearLogs();
  $('step-list').textContent = '';
  $('workflow-list').textContent = '';
  renderProjectsSelect();
  setConn('reconnecting');
  renderAll();
  void loadSnapshot(null);
}

/** The key may not read this project: say so, drop it from the picker, watch nothing (#18.2). */
function denyProject(p: string): void {
  closeWatch();
  state.gen++;
  state.ready = false;
  state.accessDenied = true;
  state.workflows = new Map();
  state.selected = null;
  state.queues = [];
  state.projectQueue = [];
  state.webhooks = [];
  clearTimeout(state.retryTimer);
  if (store.get(KEYS.project) === p) store.del(KEYS.project);
  showBanner(`This key cannot read project "${p}". Pick one of its projects.`);
  setConn('idle');
  renderProjectsSelect();
  renderAll();
}

/**
 * REST snapshot, then watch. `since` is the stored position (or `resetSeq` after a reset) but never above the
 * project's lastSeq (a wiped database would otherwise leave us waiting for seqs that never come).
 */
async function loadSnapshot(resetSeq: number | null): Promise<void> {
  const g = state.gen;
  const p = state.project;
  if (!p || state.loadingGen === g) return;
  state.loadingGen = g;
  state.ready = false;
  clearTimeout(state.retryTimer);
  try {
    const projects = await call((sl) => sl.projects());
    if (g !== state.gen) return;
    state.projects = projects;
    renderProjectsSelect();
    const serverSeq = projects.find((x) => x.id === p)?.lastSeq ?? 0;
    const stored = store.get(KEYS.since(p));
    const storedAt = Number(store.get(KEYS.sinceAt(p))) || null;
    let since = resetSeq ?? (stored == null ? serverSeq : Number(stored));
    if (!(since >= 0) || since > serverSeq) since = serverSeq;
    state.snapshotSeq = serverSeq;
    state.lastApplied = since;
    const [, canWrite] = await Promise.all([fetchList(g, false), probeWrite(p)]);
    if (g !== state.gen) return;
    state.canWrite = canWrite;
    const sel = state.selected;
    if (sel) {
      const loads: Promise<unknown>[] = [];
      if (!state.workflows.has(sel)) loads.push(fetchWorkflow(sel, g, true));
      loads.push(
        loadLogs(sel, g).catch((err) => {
          if (statusOf(err) !== 404) throw err;
        }),
      );
      await Promise.all(loads);
    }
    if (g !== state.gen) return;
    state.ready = true;
    store.set(KEYS.project, p);
    showBanner('');
    persistSince();
    renderAll();
    refreshQueues();
    startWatch();
    if (resetSeq === null)
      void showSince(
        p,
        stored == null ? null : Number(stored),
        storedAt,
        serverSeq,
        (after, limit) => call((sl) => sl.events(p, after, limit)),
        () => g === state.gen,
      );
  } catch (err) {
    if (g !== state.gen) return;
    const status = statusOf(err);
    if (status === 401) return;
    if (status === 403) {
      denyProject(p);
      return;
    }
    setConn(status === 0 ? 'offline' : 'reconnecting');
    showBanner(`Could not load project "${p}": ${messageOf(err)}. Retrying\u2026`);
    state.retryTimer = setTimeout(() => {
      if (g === state.gen) void loadSnapshot(resetSeq);
    }, RETRY_MS);
  } finally {
    if (state.loadingGen === g) state.loadingGen = null;
  }
}

/** One page of the list (filters applied by the server), merged into what the page knows. */
async function fetchList(g: number, more: boolean): Promise<void> {
  const p = state.project!;
  const f = state.filters;
  const page = await call((sl) =>
    sl.listWorkflows(p, {
      limit: LIST_LIMIT,
      status: f.status ? (f.status.split(',') as WorkflowStatus[]) : undefined,
      typePrefix: f.typePrefix || undefined,
      search: f.search ? f.search.slice(0, 100) : undefined,
      queue: f.queue || undefined,
      createdFrom: f.createdFrom || undefined,
      createdTo: f.createdTo || undefined,
      cursor: more ? (state.nextCursor ?? undefined) : undefined,
    }),
  );
  if (g !== state.gen) return;
  page.items.forEach(mergeWorkflow);
  state.nextCursor = page.nextCursor;
  scheduleRender('list', 'detail');
}

export function loadMore(): void {
  if (state.ready && state.nextCursor) fetchList(state.gen, true).catch(() => undefined);
}

/** A fetched workflow replaces the known one unless the known one has seen a later event. */
function mergeWorkflow(wf: Workflow): void {
  if (state.fetching.has(wf.id)) return;
  const known = state.workflows.get(wf.id);
  if (known && known.lastSeq > wf.lastSeq) return;
  state.workflows.set(wf.id, { ...wf, etaAt: Date.now(), slow: known?.slow });
}

/** GET one workflow; events for it that arrive meanwhile wait, and are applied once it is here. */
async function fetchWorkflow(id: string, g: number, quiet: boolean): Promise<void> {
  if (state.fetching.has(id)) return;
  state.fetching.set(id, []);
  try {
    const wf = await call((sl) => sl.getWorkflow(id));
    if (g !== state.gen) return;
    const waiting = state.fetching.get(id) ?? [];
    state.fetching.delete(id);
    mergeWorkflow(wf);
    for (const env of waiting) applyToWorkflow(id, env);
    scheduleRender('list', 'detail');
  } catch (err) {
    if (g !== state.gen) return;
    state.fetching.delete(id);
    const status = statusOf(err);
    if (status === 404) {
      if (state.selected === id) selectWorkflow(null, false);
      return;
    }
    if (quiet) throw err;
    // the server is away: try again shortly (the events that arrived meanwhile are in what it reads)
    setTimeout(() => {
      if (g === state.gen) void fetchWorkflow(id, g, false).catch(() => undefined);
    }, RETRY_MS);
  }
}

/** Whether the key may write in project p (shows Cancel): its role and projects, read once per sign-in. */
async function probeWrite(p: string): Promise<boolean> {
  try {
    const me = state.me ?? (state.me = await call((sl) => sl.me()));
    return me.role !== 'viewer' && (me.projects.includes('*') || me.projects.includes(p));
  } catch {
    return false;
  }
}

// ---- live ------------------------------------------------------------------------------------------------

function startWatch(): void {
  const sl = state.sl;
  const p = state.project;
  if (!sl || !p) return;
  closeWatch();
  const token = {};
  state.watchToken = token;
  const mine = () => state.watchToken === token;
  state.watch = sl.watch(p, {
    since: state.lastApplied,
    onEvent: (e) => mine() && onEvent(e),
    onReset: (_snapshot, lastSeq) => {
      if (!mine()) return;
      // our position is older than the event log keeps: reload the state, then go on from lastSeq
      state.resets++;
      closeWatch();
      state.gen++;
      state.workflows = new Map();
      state.fetching = new Map();
      state.logsFor = null;
      state.logsLoaded = false;
      clearLogs();
      void loadSnapshot(lastSeq);
    },
    onStatus: (s, err) => {
      if (!mine()) return;
      if (s === 'live') {
        state.lastReplayed = state.watch?.replayed ?? 0;
        setConn('live');
        catchUp();
      } else if (s === 'offline') {
        if (err?.status === 401) onUnauthorized();
        else if (err?.status === 403) denyProject(p);
        else setConn('offline');
      } else if (s === 'connecting' || s === 'reconnecting') setConn('reconnecting');
    },
  });
}

/** Back live: read again what could not be read while the server was away (#18.3: the open workflow's logs). */
function catchUp(): void {
  const g = state.gen;
  const sel = state.selected;
  if (sel && !state.workflows.has(sel)) void fetchWorkflow(sel, g, false);
  if (sel && (state.logsFor !== sel || !state.logsLoaded)) loadLogs(sel, g).catch(() => undefined);
  refreshQueues();
}

function onEvent(env: SteplineEvent): void {
  if (!state.ready || env.projectId !== state.project) return;
  state.lastApplied = env.seq;
  persistSinceSoon();
  applyEnvelope(env);
  scheduleRender('conn');
}

const QUEUE_CHANGES = new Set([
  'workflow:started',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'workflow:requeued',
  'workflow:created',
]);

function applyEnvelope(env: SteplineEvent): void {
  const id = env.workflowId;
  if (!id) return;
  if (env.type === 'workflow:log') {
    if (id === state.logsFor) addLogs([env.data]);
    return;
  }
  const waiting = state.fetching.get(id);
  if (waiting) {
    waiting.push(env);
    return;
  }
  if (env.type === 'workflow:created' && env.data.parent) addChild(env.data.parent, id);
  if (!state.workflows.has(id)) {
    if (env.type === 'workflow:created') {
      state.workflows.set(id, fromCreated(env));
      // the event does not carry what an open workflow shows (the attempt limit): read it
      if (id === state.selected) void fetchWorkflow(id, state.gen, false);
      scheduleRender('list', 'detail');
    } else if (env.seq > state.snapshotSeq || id === state.selected) {
      // a workflow we did not list (older than the page, or outside the filter) is moving: show it
      void fetchWorkflow(id, state.gen, false);
    }
    return;
  }
  applyToWorkflow(id, env);
  if (QUEUE_CHANGES.has(env.type)) refreshQueuesSoon();
}

/** §14: a child created under a step of a workflow on the page shows under that step at once. */
function addChild(parent: { workflowId: string; stepId: string }, childId: string): void {
  const p = state.workflows.get(parent.workflowId);
  if (!p) return;
  const steps = p.steps.map((s) =>
    s.id === parent.stepId && !s.children.includes(childId)
      ? { ...s, children: [...s.children, childId] }
      : s,
  );
  state.workflows.set(p.id, { ...p, steps });
  scheduleRender('list', 'detail');
}

function fromCreated(env: Extract<SteplineEvent, { type: 'workflow:created' }>): Row {
  const d = env.data;
  return {
    id: env.workflowId,
    projectId: env.projectId,
    type: d.type,
    name: d.name,
    status: d.status,
    progress: d.progress,
    queue: d.queue,
    attempt: env.attempt ?? 1,
    maxAttempts: 1,
    partial: true,
    sessionId: null,
    metadata: {},
    error: null,
    eta: d.eta ?? {
      remainingMs: null,
      finishAt: null,
      basis: 'none',
      remainingP90Ms: null,
      queueWaitMs: null,
    },
    etaAt: Date.now(),
    createdAt: env.at,
    startedAt: null,
    finishedAt: null,
    updatedAt: env.at,
    lastSeq: env.seq,
    parent: d.parent ?? null,
    steps: (d.steps ?? []).map((s) => ({
      id: s.id,
      name: s.name,
      weight: s.weight,
      status: 'pending' as const,
      progress: 0,
      current: null,
      total: null,
      message: null,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      error: null,
      metrics: null,
      children: [],
    })),
  };
}

/** Folds one event into a known workflow with the client's `applyEvent` (the same fold every watcher uses). */
function applyToWorkflow(id: string, env: SteplineEvent): void {
  const wf = state.workflows.get(id);
  if (!wf || env.seq <= wf.lastSeq) return; // already in what REST returned
  if (env.type === 'workflow:step:slow') {
    // §13: not a change of the step's progress, a warning about it
    const slow = { ...wf.slow };
    if (env.stepId)
      slow[env.stepId] = {
        attempt: env.attempt,
        elapsedMs: env.data.elapsedMs,
        expectedMs: env.data.expectedMs,
      };
    state.workflows.set(id, { ...wf, lastSeq: env.seq, updatedAt: env.at, slow });
    scheduleRender('list', 'detail');
    return;
  }
  const next = applyEvent(wf, env) as Row | undefined;
  if (!next) {
    // a requeue puts the steps back to pending: show the new attempt now, read the whole workflow
    if (env.type === 'workflow:requeued')
      state.workflows.set(id, {
        ...wf,
        status: env.data.status,
        progress: env.data.progress,
        attempt: env.data.attempt,
        lastSeq: env.seq,
        updatedAt: env.at,
        etaAt: Date.now(),
      });
    void fetchWorkflow(id, state.gen, false);
    scheduleRender('list', 'detail');
    return;
  }
  if ('eta' in env.data) next.etaAt = Date.now();
  if (TERMINAL.has(next.status) && next.status !== wf.status && !next.finishedAt) next.finishedAt = env.at;
  state.workflows.set(id, next);
  scheduleRender('list', 'detail');
}

let sinceTimer: ReturnType<typeof setTimeout> | null = null;
function persistSinceSoon(): void {
  if (sinceTimer) return;
  sinceTimer = setTimeout(() => {
    sinceTimer = null;
    persistSince();
  }, 250);
}

export function persistSince(): void {
  if (!state.project || !state.ready) return;
  store.set(KEYS.since(state.project), state.lastApplied);
  store.set(KEYS.sinceAt(state.project), Date.now());
}

// ---- selection and logs ------------------------------------------------------------------------------------

export function selectWorkflow(id: string | null, focus = false): void {
  state.selected = id || null;
  setHash(state.project, state.selected, state.filters);
  state.logsFor = null;
  state.logsLoaded = false;
  clearLogs();
  renderAll();
  // #18.14: focus follows the selection, to the heading that names it
  if (focus && id) $('detail-title').focus();
  if (!id || !state.ready) return;
  const g = state.gen;
  const known = state.workflows.get(id);
  if (!known || known.partial) void fetchWorkflow(id, g, false);
  loadLogs(id, g).catch(() => {
    /* read again when the watch is live again (catchUp) */
  });
}

/** Every log line so far (pages of 1000); lines arriving live meanwhile land in the same map. */
async function loadLogs(id: string, g: number): Promise<void> {
  state.logsFor = id;
  state.logsLoaded = false;
  let after = 0;
  for (;;) {
    const items = await call((sl) => sl.logs(id, after, LOG_PAGE));
    if (g !== state.gen || state.logsFor !== id) return;
    addLogs(items);
    if (items.length < LOG_PAGE) break;
    after = items[items.length - 1].id;
  }
  state.logsLoaded = true;
  renderDetail();
}

// ---- queues, projects, webhooks ----------------------------------------------------------------------------

let queueTimer: ReturnType<typeof setTimeout> | null = null;
function refreshQueuesSoon(): void {
  if (queueTimer) return;
  queueTimer = setTimeout(() => {
    queueTimer = null;
    refreshQueues();
  }, 1000);
}

export function refreshQueues(): void {
  const p = state.project;
  if (!state.key || !p || !state.ready) return;
  const g = state.gen;
  Promise.all([
    call((sl) => sl.queues(p)),
    call((sl) => sl.projectQueue(p)),
    call((sl) => sl.projects()),
    call((sl) => sl.webhooks(p)),
  ]).then(
    ([queues, projectQueue, projects, webhooks]) => {
      if (g !== state.gen) return;
      state.queues = queues;
      state.projectQueue = projectQueue;
      state.projects = projects;
      state.webhooks = webhooks;
      renderProjectsSelect();
      // positions in the project's queue show in list rows and in the open workflow's ETA too
      scheduleRender('panel', 'list', 'detail');
    },
    () => {
      /* kept as it was; the next refresh tries again */
    },
  );
}

// ---- actions -------------------------------------------------------------------------------------------------

/** #18.8: Cancel asks first, with an optional reason (CONTRACT §2: `{ "reason"? }`). */
export function requestCancel(id: string): void {
  const wf = state.workflows.get(id);
  const dialog = $<HTMLDialogElement>('cancel-dialog');
  $('cancel-dialog-text').textContent =
    `${wf?.name || id} stops now; its pending and running steps are cancelled. This cannot be undone.`;
  const reason = $<HTMLInputElement>('cancel-reason');
  reason.value = '';
  dialog.dataset.workflowId = id;
  dialog.showModal();
  reason.focus();
}

export function confirmCancel(): void {
  const dialog = $<HTMLDialogElement>('cancel-dialog');
  const id = dialog.dataset.workflowId;
  const reason = $<HTMLInputElement>('cancel-reason').value.trim();
  dialog.close();
  if (id) void cancelWorkflow(id, reason || undefined);
}

async function cancelWorkflow(id: string, reason: string | undefined): Promise<void> {
  state.cancelling.add(id);
  renderDetail();
  try {
    mergeWorkflow(await call((sl) => sl.cancelWorkflow(id, reason)));
  } catch (err) {
    if (statusOf(err) === 403) state.canWrite = false;
    else showBanner(`Cancel failed: ${messageOf(err)}`);
  } finally {
    state.cancelling.delete(id);
    renderAll();
    if (state.selected === id) $<HTMLButtonElement>('detail-title').focus();
  }
}

// the views call back through `actions` (they never import this module)
actions.selectWorkflow = selectWorkflow;
actions.requestCancel = requestCancel;
actions.scheduleRender = () => scheduleRender();
actions.filtersChanged = filtersChanged;
actions.rereadWorkflow = (id) => void fetchWorkflow(id, state.gen, false);
