import type { EventPage } from '@stepline/client';
import { $, el } from './dom';
import { hashOf } from './router';
import { NO_FILTERS, state } from './state';

/**
 * "Since you last looked" (#18): on opening a project, the events after the position this browser last applied
 * for it (kept per project), read once over REST and at most MAX_EVENTS of them, summed up per workflow by how
 * it ended: "3 failed, 12 completed since 14:02", each count a link to the list filtered by that status, and
 * the failed ones linked one by one when there are few. Dismissible; gone when another project is opened.
 */
export const MAX_EVENTS = 1000;
const LINK_FAILED_UP_TO = 5;

type Read = (after: number, limit: number) => Promise<EventPage>;

const ENDS = ['failed', 'completed', 'cancelled'] as const;
type End = (typeof ENDS)[number];

export function hideSince(): void {
  $('since-banner').hidden = true;
}

function timeText(at: number): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

/**
 * `after`: the stored position (null: this browser never watched the project, nothing to say); `at`: when it
 * was stored. `current()` says whether the page still shows what asked (a project switch drops the answer).
 */
export async function showSince(
  project: string,
  after: number | null,
  at: number | null,
  headSeq: number,
  read: Read,
  current: () => boolean,
): Promise<void> {
  hideSince();
  if (after == null || !(after >= 0) || after >= headSeq) return;
  let page: EventPage;
  try {
    page = await read(after, MAX_EVENTS);
  } catch {
    return; // a summary, not the page's state: nothing to retry
  }
  if (!current()) return;
  const last = new Map<string, End>();
  let created = 0;
  for (const e of page.items) {
    if (e.type === 'workflow:created') created++;
    const end = e.type.startsWith('workflow:') ? (e.type.slice(9) as End) : null;
    if (e.workflowId && end && (ENDS as readonly string[]).includes(end)) last.set(e.workflowId, end);
  }
  const counts: Record<End, string[]> = { failed: [], completed: [], cancelled: [] };
  last.forEach((end, id) => counts[end].push(id));
  const more =
    !page.reset && page.items.length >= MAX_EVENTS && page.items[page.items.length - 1].seq < page.lastSeq;
  const box = $('since-banner');
  box.textContent = '';
  box.dataset.project = project;
  box.dataset.after = String(after);
  box.dataset.more = String(more);
  const since = at ? `since ${timeText(at)}` : 'since you last looked';
  if (page.reset) {
    box.appendChild(
      document.createTextNode(
        `Since you last looked (${since.replace('since ', '')}), more happened than the event log keeps.`,
      ),
    );
  } else {
    const parts: Node[] = [];
    for (const end of ENDS) {
      const n = counts[end].length;
      if (!n) continue;
      const a = el('a', { testid: `since-${end}`, text: `${n} ${end}` });
      a.dataset.count = String(n);
      a.href = hashOf(project, null, { ...NO_FILTERS, status: end });
      parts.push(a);
    }
    if (created) parts.push(el('span', { testid: 'since-created', text: `${created} new` }));
    if (!parts.length) parts.push(document.createTextNode(`${page.items.length} updates, nothing finished`));
    if (more)
      box.appendChild(
        document.createTextNode(`More than ${MAX_EVENTS} events ${since}; in the first ${MAX_EVENTS}: `),
      );
    parts.forEach((n, i) => {
      if (i) box.appendChild(document.createTextNode(', '));
      box.appendChild(n);
    });
    if (!more) box.appendChild(document.createTextNode(` ${since}.`));
    else box.appendChild(document.createTextNode('.'));
    if (counts.failed.length && counts.failed.length <= LINK_FAILED_UP_TO) {
      box.appendChild(document.createTextNode(' Failed: '));
      counts.failed.forEach((id, i) => {
        if (i) box.appendChild(document.createTextNode(', '));
        const a = el('a', { testid: 'since-failed-workflow', text: state.workflows.get(id)?.name || id });
        a.href = hashOf(project, id, state.filters);
        box.appendChild(a);
      });
      box.appendChild(document.createTextNode('.'));
    }
  }
  const dismiss = el('button', { className: 'secondary small', testid: 'since-dismiss', text: 'Dismiss' });
  dismiss.type = 'button';
  dismiss.addEventListener('click', hideSince);
  box.appendChild(document.createTextNode(' '));
  box.appendChild(dismiss);
  box.hidden = false;
}
