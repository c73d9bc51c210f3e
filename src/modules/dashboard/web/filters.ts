import { $, option, setText } from './dom';
import { actions, state, type Row } from './state';

/**
 * The list filters beyond status/type/search (#18): the queue (also set by clicking a queue in the panel) and a
 * creation window. The address keeps ISO times, so a shared link means the same moment in every time zone;
 * the inputs show them in local time.
 */

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v: string): string {
  const d = new Date(v);
  return v && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
}

/** Client-side twin of the server's queue and creation-window filters (rows that arrive live). */
export function matchesExtraFilters(wf: Row): boolean {
  const f = state.filters;
  if (f.queue && wf.queue !== f.queue) return false;
  const t = Date.parse(wf.createdAt);
  if (f.createdFrom && t < Date.parse(f.createdFrom)) return false;
  if (f.createdTo && t >= Date.parse(f.createdTo)) return false;
  return true;
}

/** The filter inputs from `state.filters` (after the address changed). */
export function syncFilterInputs(): void {
  const f = state.filters;
  const from = $<HTMLInputElement>('filter-from');
  const to = $<HTMLInputElement>('filter-to');
  // a value typed to the second stays as typed when it is what the address says already
  if (fromLocalInput(from.value) !== f.createdFrom) from.value = toLocalInput(f.createdFrom);
  if (fromLocalInput(to.value) !== f.createdTo) to.value = toLocalInput(f.createdTo);
  renderQueueOptions();
}

/** The queue select: the project's queues, and the filtered one even when the panel does not list it now. */
export function renderQueueOptions(): void {
  const sel = $<HTMLSelectElement>('filter-queue');
  const names = state.queues.map((q) => q.name);
  if (state.filters.queue && !names.includes(state.filters.queue)) names.push(state.filters.queue);
  const signature = names.join('\n');
  if (sel.dataset.signature !== signature) {
    sel.dataset.signature = signature;
    sel.textContent = '';
    sel.appendChild(option('', 'any'));
    for (const n of names) sel.appendChild(option(n, n));
  }
  sel.value = state.filters.queue;
}

/** Sets the queue filter (the panel's rows toggle it). */
export function filterByQueue(name: string): void {
  state.filters.queue = state.filters.queue === name ? '' : name;
  renderQueueOptions();
  actions.filtersChanged();
}

/** The project's counts over the list, the failed one a button that filters to them (#18: failed counts). */
export function renderCounts(): void {
  const box = $('project-counts');
  const c = state.projects.find((p) => p.id === state.project)?.counts;
  const signature = c ? JSON.stringify(c) : '';
  if (box.dataset.signature === signature) return;
  box.dataset.signature = signature;
  box.textContent = '';
  if (!c) return;
  box.appendChild(
    document.createTextNode(
      `${c.queued} queued \u00b7 ${c.running} running \u00b7 ${c.completed} completed \u00b7 `,
    ),
  );
  const failed = document.createElement('button');
  failed.type = 'button';
  failed.className = 'link-button';
  failed.setAttribute('data-testid', 'failed-count');
  failed.dataset.count = String(c.failed);
  setText(failed, `${c.failed} failed`);
  failed.title = 'Show the failed workflows';
  failed.addEventListener('click', () => {
    state.filters.status = 'failed';
    $<HTMLSelectElement>('filter-status').value = 'failed';
    actions.filtersChanged();
  });
  box.appendChild(failed);
  box.appendChild(document.createTextNode(` \u00b7 ${c.cancelled} cancelled`));
}

export function initFilters(): void {
  const onTime = (id: string, key: 'createdFrom' | 'createdTo') =>
    $<HTMLInputElement>(id).addEventListener('change', (e) => {
      state.filters[key] = fromLocalInput((e.target as HTMLInputElement).value);
      actions.filtersChanged();
    });
  onTime('filter-from', 'createdFrom');
  onTime('filter-to', 'createdTo');
  $<HTMLSelectElement>('filter-queue').addEventListener('change', (e) => {
    state.filters.queue = (e.target as HTMLSelectElement).value;
    actions.filtersChanged();
  });
}
