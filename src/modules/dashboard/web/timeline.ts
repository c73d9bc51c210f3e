/*
 * The step timeline of the open workflow (#18): one bar per step on a shared time axis (its start, its end,
 * or now while it runs), with the workflow type's median and p90 for that step drawn behind it, from the same
 * history the ETA uses (`GET /api/projects/:p/step-durations?type=`, through the client). A bar that runs
 * past its p90 band is "slower than usual" at a glance; a step marked by `workflow:step:slow` (or past the
 * same threshold by the history's numbers) says "Slow" in words too. Each row also says its times and
 * duration in text, so the bars themselves are hidden from assistive technology.
 */
import type { Step, StepDuration, StepDurations } from '@stepline/client';
import { $, el, setText } from './dom';
import { TERMINAL, actions, state, type Row } from './state';

/** Durations are read again after this long (new runs of the type land in the history). */
const DURATIONS_TTL_MS = 30_000;

interface Cached {
  at: number;
  data: StepDurations | null;
  loading: boolean;
}

const cache = new Map<string, Cached>();
let cacheGen = -1;
const lastStatus = new Map<string, string>();

/** The type's step durations, read through the client once per TTL; null until they are in. */
function durationsFor(wf: Row): StepDurations | null {
  const project = state.project;
  const sl = state.sl;
  if (!project || !sl) return null;
  if (cacheGen !== state.gen) {
    cache.clear();
    cacheGen = state.gen;
  }
  const k = `${project}\n${wf.type}`;
  // the open workflow just finished: its own run is history now
  const before = lastStatus.get(wf.id);
  lastStatus.set(wf.id, wf.status);
  if (before && before !== wf.status && TERMINAL.has(wf.status)) cache.delete(k);
  let c = cache.get(k);
  if (!c || (!c.loading && Date.now() - c.at > DURATIONS_TTL_MS)) {
    const entry: Cached = c ?? { at: 0, data: null, loading: false };
    entry.loading = true;
    entry.at = Date.now();
    cache.set(k, entry);
    const g = state.gen;
    sl.stepDurations(project, wf.type).then(
      (d) => {
        if (g !== state.gen) return;
        entry.data = d;
        entry.at = Date.now();
        entry.loading = false;
        actions.scheduleRender();
      },
      () => {
        // kept as it was; tried again after the TTL
        entry.loading = false;
        entry.at = Date.now();
      },
    );
    c = entry;
  }
  return c.data;
}

/** "250 ms", "1.4 s", "12 s", "3 min 5 s": fine enough for short steps, short for long ones. */
export function fmtMs(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v} ms`;
  if (v < 10_000) return `${(v / 1000).toFixed(1)} s`;
  const s = Math.round(v / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function timeEl(iso: string): HTMLTimeElement {
  const t = el('time', { text: new Date(iso).toLocaleTimeString() });
  t.dateTime = iso;
  t.title = new Date(iso).toLocaleString();
  return t;
}

interface Span {
  start: number;
  end: number;
  running: boolean;
}

function spanOf(s: Step, now: number): Span | null {
  if (!s.startedAt) return null;
  const start = Date.parse(s.startedAt);
  const running = s.status === 'running';
  const end = s.finishedAt ? Date.parse(s.finishedAt) : running ? now : start;
  return { start, end: Math.max(start, end), running };
}

export function renderTimeline(wf: Row, now: number = Date.now()): void {
  const list = $('timeline');
  const hist = durationsFor(wf);
  const byStep = new Map<string, StepDuration>((hist?.steps ?? []).map((d) => [d.stepId, d]));
  if (list.dataset.workflowId !== wf.id) {
    list.textContent = '';
    list.dataset.workflowId = wf.id;
  }
  // the axis: from the first start to the last end (or now), wide enough for every started step's p90
  const spans = wf.steps.map((s) => spanOf(s, now));
  let t0 = Infinity;
  let t1 = -Infinity;
  wf.steps.forEach((s, i) => {
    const sp = spans[i];
    if (!sp) return;
    t0 = Math.min(t0, sp.start);
    t1 = Math.max(t1, sp.end, sp.start + (byStep.get(s.id)?.p90Ms ?? 0));
  });
  const started = Number.isFinite(t0);
  const axisMs = started ? Math.max(t1 - t0, 1000) : 0;
  list.dataset.axisStart = started ? String(t0) : '';
  list.dataset.axisMs = String(axisMs);
  setText(
    $('timeline-axis'),
    started
      ? `From ${new Date(t0).toLocaleTimeString()} (0) to ${fmtMs(axisMs)}. ${
          hist
            ? hist.runs > 0
              ? `Behind each bar: the median and p90 of the last ${hist.runs} completed ${wf.type} ${hist.runs === 1 ? 'run' : 'runs'}.`
              : `No completed ${wf.type} runs yet to compare with.`
            : 'Reading the history of this type\u2026'
        }`
      : 'No step has started yet.',
  );

  wf.steps.forEach((s, i) => {
    let li = list.children[i] as HTMLElement | undefined;
    if (!li || li.dataset.stepId !== s.id) {
      li = createRow(s.id);
      list.insertBefore(li, list.children[i] ?? null);
    }
    updateRow(li, s, wf, spans[i], byStep.get(s.id) ?? null, t0, axisMs);
  });
  while (list.children.length > wf.steps.length) list.lastElementChild!.remove();
}

function createRow(id: string): HTMLElement {
  const li = el('li', { className: 'tl-row', testid: 'timeline-step' });
  li.dataset.stepId = id;
  li.appendChild(el('span', { className: 'tl-name' }));
  const track = el('div', { className: 'tl-track' });
  track.setAttribute('aria-hidden', 'true');
  track.appendChild(el('div', { className: 'tl-p90', testid: 'timeline-p90' }));
  track.appendChild(el('div', { className: 'tl-median', testid: 'timeline-median' }));
  track.appendChild(el('div', { className: 'tl-bar', testid: 'timeline-bar' }));
  li.appendChild(track);
  li.appendChild(el('div', { className: 'tl-text small', testid: 'timeline-text' }));
  return li;
}

function place(e: HTMLElement, from: number, width: number, axisMs: number): void {
  const show = axisMs > 0 && width >= 0;
  e.hidden = !show;
  if (!show) return;
  const l = `${(100 * from) / axisMs}%`;
  const w = `${Math.min(100, (100 * width) / axisMs)}%`;
  if (e.style.left !== l) e.style.left = l;
  if (e.style.width !== w) e.style.width = w;
}

function updateRow(
  li: HTMLElement,
  s: Step,
  wf: Row,
  sp: Span | null,
  d: StepDuration | null,
  t0: number,
  axisMs: number,
): void {
  setText(li.querySelector('.tl-name'), s.name || s.id);
  li.dataset.status = s.status;
  li.dataset.medianMs = d ? String(d.medianMs) : '';
  li.dataset.p90Ms = d ? String(d.p90Ms) : '';
  li.dataset.startMs = sp ? String(sp.start) : '';
  li.dataset.endMs = sp ? String(sp.end) : '';
  const bar = li.querySelector<HTMLElement>('.tl-bar')!;
  const median = li.querySelector<HTMLElement>('.tl-median')!;
  const p90 = li.querySelector<HTMLElement>('.tl-p90')!;
  const elapsed = sp ? sp.end - sp.start : 0;
  bar.dataset.status = s.status;
  bar.dataset.over = d && sp && elapsed > d.p90Ms ? 'p90' : '';
  if (sp) place(bar, sp.start - t0, elapsed, axisMs);
  else bar.hidden = true;
  if (sp && d) {
    place(median, sp.start - t0, d.medianMs, axisMs);
    place(p90, sp.start - t0, d.p90Ms, axisMs);
  } else {
    median.hidden = true;
    p90.hidden = true;
  }

  // slow: the server's event for this attempt, or past the same threshold by the history's numbers
  const mark = wf.slow?.[s.id];
  const byEvent = !!mark && mark.attempt === wf.attempt && !!sp;
  const byHistory = !!sp && !!d && d.slowAfterMs != null && elapsed > d.slowAfterMs;
  const text = li.querySelector<HTMLElement>('.tl-text')!;
  const key = [
    s.status,
    sp?.start,
    sp ? Math.floor(elapsed / 100) : '',
    s.finishedAt,
    d?.medianMs,
    d?.p90Ms,
    byEvent,
    byHistory,
  ].join('|');
  if (text.dataset.key === key) return;
  text.dataset.key = key;
  text.textContent = '';
  if (!sp) text.appendChild(document.createTextNode(s.status === 'pending' ? 'pending' : s.status));
  else {
    text.appendChild(timeEl(new Date(sp.start).toISOString()));
    text.appendChild(document.createTextNode(' \u2192 '));
    if (sp.running) text.appendChild(document.createTextNode(`now \u00b7 running ${fmtMs(elapsed)}`));
    else {
      text.appendChild(timeEl(s.finishedAt!));
      text.appendChild(document.createTextNode(` \u00b7 ${s.status} in ${fmtMs(elapsed)}`));
    }
  }
  text.appendChild(
    document.createTextNode(
      d ? ` \u00b7 usually ${fmtMs(d.medianMs)} (p90 ${fmtMs(d.p90Ms)})` : sp ? ' \u00b7 no history' : '',
    ),
  );
  if (byEvent || byHistory) {
    const usual = byEvent ? mark.expectedMs : (d?.slowAfterMs ?? 0);
    const slow = el('strong', {
      className: 'tl-slow',
      testid: 'timeline-slow',
      text: ` \u26a0 Slow: ${s.status === 'running' ? 'past' : 'took'} ${fmtMs(elapsed)}, expected within ${fmtMs(usual)}`,
    });
    slow.dataset.source = byEvent ? 'event' : 'history';
    text.appendChild(slow);
  }
}
