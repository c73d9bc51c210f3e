import { $, option, setAttr, setBar, setText } from './dom';
import { etaText } from './eta';
import { matchesExtraFilters } from './filters';
import { focusedRow, settleList } from './list-nav';
import { actions, state, type Row } from './state';

/** The queue place of a queued workflow of the project, when the project's queue was read. */
export function positionOf(id: string): number | null {
  const q = state.projectQueue.find((w) => w.id === id);
  return q ? q.position : null;
}

function matchesFilters(wf: Row): boolean {
  const f = state.filters;
  if (f.status && !f.status.split(',').includes(wf.status)) return false;
  if (f.typePrefix && !wf.type.startsWith(f.typePrefix)) return false;
  if (f.search) {
    const s = f.search.toLowerCase();
    if (!wf.id.toLowerCase().includes(s) && !(wf.name ?? '').toLowerCase().includes(s)) return false;
  }
  return matchesExtraFilters(wf);
}

/** Newest first; the open workflow stays listed whatever the filter says (#18.12: it must not vanish). */
export function visibleWorkflows(): Row[] {
  return Array.from(state.workflows.values())
    .filter((wf) => wf.id === state.selected || matchesFilters(wf))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/** A row's elements, found once, and what they show now (so an unchanged row costs a comparison). */
interface RowView {
  button: HTMLButtonElement;
  name: HTMLElement;
  badge: HTMLElement;
  sub: HTMLElement;
  error: HTMLElement;
  bar: HTMLElement;
  /** the Row object last drawn: rows are replaced, never mutated, when an event changes them */
  drawn: Row | null;
  selected: boolean;
}
const rowViews = new WeakMap<HTMLElement, RowView>();

/**
 * Rows are keyed by workflow id and kept: a row whose values change is updated in place (its elements, focus
 * and hover stay), and the list's children move only when rows join, leave or change places.
 */
export function renderList(): void {
  const list = $('workflow-list');
  const wfs = state.accessDenied ? [] : visibleWorkflows();
  const focused = focusedRow(list);
  const kids = list.children;
  let same = kids.length === wfs.length;
  for (let i = 0; same && i < wfs.length; i++)
    same = (kids[i] as HTMLElement).dataset.workflowId === wfs[i].id;
  const now = Date.now();
  if (same) {
    for (let i = 0; i < wfs.length; i++) updateListItem(kids[i] as HTMLElement, wfs[i], now);
  } else {
    const existing = new Map<string, HTMLElement>();
    for (const li of Array.from(kids) as HTMLElement[]) existing.set(li.dataset.workflowId ?? '', li);
    wfs.forEach((wf, i) => {
      let li = existing.get(wf.id);
      if (li) existing.delete(wf.id);
      else li = createListItem(wf.id);
      updateListItem(li, wf, now);
      if (kids[i] !== li) list.insertBefore(li, kids[i] ?? null);
    });
    existing.forEach((li) => li.remove());
  }
  settleList(list, focused);
  const empty = $('workflow-empty');
  empty.hidden = wfs.length > 0;
  setText(
    empty,
    state.accessDenied
      ? 'No access to this project.'
      : state.ready
        ? 'No workflows match.'
        : state.project
          ? 'Loading\u2026'
          : 'Pick a project.',
  );
  $('load-more').hidden = !state.nextCursor || state.accessDenied;
  const types = new Set<string>();
  state.workflows.forEach((wf) => wf.type && types.add(wf.type));
  const dl = $('known-types');
  if (dl.children.length !== types.size) {
    dl.textContent = '';
    types.forEach((t) => dl.appendChild(option(t, t)));
  }
}

function createListItem(id: string): HTMLElement {
  const li = document.createElement('li');
  li.dataset.workflowId = id;
  li.setAttribute('data-testid', 'workflow-item');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'workflow-item';
  b.innerHTML =
    '<div class="wf-row"><span class="wf-name"></span><span class="badge"></span></div>' +
    '<div class="muted small wf-sub"></div>' +
    '<div class="small error wf-error" data-testid="workflow-error" hidden></div>' +
    '<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div class="fill"></div></div>';
  b.addEventListener('click', () => actions.selectWorkflow(id, true));
  li.appendChild(b);
  const bar = b.querySelector<HTMLElement>('.bar')!;
  bar.setAttribute('aria-hidden', 'true');
  rowViews.set(li, {
    button: b,
    name: b.querySelector<HTMLElement>('.wf-name')!,
    badge: b.querySelector<HTMLElement>('.badge')!,
    sub: b.querySelector<HTMLElement>('.wf-sub')!,
    error: b.querySelector<HTMLElement>('.wf-error')!,
    bar,
    drawn: null,
    selected: false,
  });
  return li;
}

function updateListItem(li: HTMLElement, wf: Row, now: number): void {
  const v = rowViews.get(li)!;
  const selected = wf.id === state.selected;
  // the ETA counts down and the queue place moves without the row changing: that line is always checked
  setText(v.sub, `${wf.type} \u00b7 ${wf.progress} % \u00b7 ${etaText(wf, true, now, positionOf(wf.id))}`);
  if (v.drawn === wf && v.selected === selected) return;
  v.drawn = wf;
  v.selected = selected;
  setAttr(v.button, 'aria-current', selected ? 'true' : 'false');
  // #18.14: the row's accessible name is its visible text (name, badge, status line, %), whose parts are
  // separate elements; an aria-label would hide part of what is seen (axe: label-content-name-mismatch)
  setText(v.name, wf.name || wf.id);
  // #18.6: a truncated name can be read in full (and rows told apart by id)
  const title = wf.name ? `${wf.name} (${wf.id})` : wf.id;
  if (v.name.title !== title) v.name.title = title;
  setText(v.badge, wf.status);
  if (v.badge.dataset.status !== wf.status) v.badge.dataset.status = wf.status;
  setBar(v.bar, wf.progress, 0, 100, `${wf.progress} %`, wf.status);
  // #18: a failed row says why
  const why = wf.status === 'failed' ? (wf.error?.message ?? '') : '';
  setText(v.error, why);
  v.error.hidden = !why;
  if (v.error.title !== why) v.error.title = why;
}
