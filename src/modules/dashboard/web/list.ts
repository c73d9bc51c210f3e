import { $, option, setBar, setText } from './dom';
import { etaText } from './eta';
import { matchesExtraFilters } from './filters';
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

export function renderList(): void {
  const list = $('workflow-list');
  const wfs = state.accessDenied ? [] : visibleWorkflows();
  const existing = new Map<string, HTMLElement>();
  for (const li of Array.from(list.children) as HTMLElement[]) existing.set(li.dataset.workflowId ?? '', li);
  wfs.forEach((wf, i) => {
    let li = existing.get(wf.id);
    if (li) existing.delete(wf.id);
    else li = createListItem(wf.id);
    updateListItem(li, wf);
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  existing.forEach((li) => li.remove());
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
  return li;
}

function updateListItem(li: HTMLElement, wf: Row): void {
  const b = li.firstChild as HTMLButtonElement;
  const label = wf.name || wf.id;
  b.setAttribute('aria-current', wf.id === state.selected ? 'true' : 'false');
  // #18.14: the row's accessible name is its visible text (name, badge, status line, %), whose parts are
  // separate elements; an aria-label would hide part of what is seen (axe: label-content-name-mismatch)
  const name = b.querySelector<HTMLElement>('.wf-name')!;
  setText(name, label);
  // #18.6: a truncated name can be read in full (and rows told apart by id)
  const title = wf.name ? `${wf.name} (${wf.id})` : wf.id;
  if (name.title !== title) name.title = title;
  const badge = b.querySelector<HTMLElement>('.badge')!;
  setText(badge, wf.status);
  badge.dataset.status = wf.status;
  setText(
    b.querySelector('.wf-sub'),
    `${wf.type} \u00b7 ${wf.progress} % \u00b7 ${etaText(wf, true, Date.now(), positionOf(wf.id))}`,
  );
  // #18: a failed row says why
  const error = b.querySelector<HTMLElement>('.wf-error')!;
  const why = wf.status === 'failed' ? (wf.error?.message ?? '') : '';
  setText(error, why);
  error.hidden = !why;
  if (error.title !== why) error.title = why;
  const bar = b.querySelector<HTMLElement>('.bar')!;
  setBar(bar, wf.progress, 0, 100, `${wf.progress} %`, wf.status);
  bar.setAttribute('aria-hidden', 'true');
}
