import { $, el, fmtDuration } from './dom';
import { state } from './state';

/** The queue panel: queues over the key's projects, their workers, the project's waiting line, webhooks. */
export function renderQueues(): void {
  const list = $('queue-list');
  list.textContent = '';
  const workers: { queue: string; workerId: string; running: number; lastSeenAt: string }[] = [];
  for (const q of state.queues) {
    const li = el('li', { testid: 'queue' });
    li.dataset.queue = q.name;
    li.appendChild(el('div', { className: 'queue-name', text: q.name }));
    li.appendChild(
      el('div', {
        className: 'queue-counts',
        text:
          `${q.queued} queued \u00b7 ${q.running} running \u00b7 oldest waiting ` +
          (q.oldestQueuedAgeMs == null ? '\u2014' : fmtDuration(q.oldestQueuedAgeMs)),
      }),
    );
    li.appendChild(
      el('div', {
        className: 'muted small',
        text: `last minute: ${q.completedLastMinute} completed, ${q.failedLastMinute} failed`,
      }),
    );
    list.appendChild(li);
    for (const w of q.workers ?? []) workers.push({ queue: q.name, ...w });
  }
  $('queue-empty').hidden = state.queues.length > 0;
  const wl = $('worker-list');
  wl.textContent = '';
  for (const w of workers)
    wl.appendChild(
      el('li', {
        text: `${w.workerId} on ${w.queue} \u2014 ${w.running} running, seen ${fmtDuration(
          Date.now() - Date.parse(w.lastSeenAt),
        )} ago`,
      }),
    );
  $('worker-empty').hidden = workers.length > 0;
  const pq = $('project-queue');
  pq.textContent = '';
  for (const w of state.projectQueue)
    pq.appendChild(
      el('li', {
        text: `${w.position ? `#${w.position} ` : 'claimed '}${w.name || w.id} on ${w.queue} (${w.status})`,
      }),
    );
  $('project-queue-empty').hidden = state.projectQueue.length > 0;
}

/** §15: the project's webhooks and their delivery state. */
export function renderWebhooks(): void {
  const list = $('webhook-list');
  list.textContent = '';
  const project = state.projects.find((p) => p.id === state.project);
  const headSeq = project && typeof project.lastSeq === 'number' ? project.lastSeq : null;
  for (const h of state.webhooks) {
    const li = el('li', { testid: 'webhook' });
    li.dataset.webhookId = h.id;
    const failing = !!h.failingSince;
    li.dataset.state = failing ? 'failing' : 'ok';
    li.appendChild(el('div', { className: 'queue-name', text: h.url }));
    li.appendChild(
      el('div', {
        className: failing ? 'error small' : 'muted small',
        testid: 'webhook-state',
        text: failing
          ? `failing since ${new Date(h.failingSince!).toLocaleTimeString()}${h.lastError ? `: ${h.lastError}` : ''}`
          : `delivering${h.lastDeliveredAt ? `, last ${new Date(h.lastDeliveredAt).toLocaleTimeString()}` : ''}`,
      }),
    );
    li.appendChild(
      el('div', {
        className: 'muted small',
        text:
          `cursor ${h.cursor}` +
          (headSeq !== null ? ` of ${headSeq} (${Math.max(0, headSeq - h.cursor)} behind)` : '') +
          (h.types && h.types.length ? ` \u00b7 ${h.types.length} event types` : ' \u00b7 all event types'),
      }),
    );
    list.appendChild(li);
  }
  $('webhook-empty').hidden = state.webhooks.length > 0;
}
