import type { QueueSummary, QueueWorker } from '@stepline/client';
import { $, el, fmtDuration } from './dom';
import { filterByQueue, renderCounts, renderQueueOptions } from './filters';
import { hashOf } from './router';
import { state } from './state';
import { failureRates, sparkline } from './sparkline';

/**
 * The queue panel, scoped to the open project (#18.11): its queues (`GET /api/queues?projectId=`), their
 * workers with health as the server judges it, the jobs they hold (links), and the project's waiting line.
 * Its counts come from the same refresh as the picker's, and say how the project's "queued" splits between
 * queues and workflows on no queue, so the two never disagree. Rebuilt only when what it shows changed.
 */
let signature = '';

export function renderQueues(): void {
  renderCounts();
  const project = state.projects.find((p) => p.id === state.project);
  const sig = JSON.stringify([
    state.project,
    state.accessDenied,
    project?.counts,
    state.queues,
    state.projectQueue.map((w) => [w.id, w.name, w.queue, w.status, w.position]),
    state.filters,
  ]);
  if (sig === signature) return;
  signature = sig;
  renderQueueOptions();
  renderScope();
  renderQueueRows();
  renderWorkers();
  renderWaiting();
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The project's queued/running as the picker says them, and how many of those are on queues. */
function renderScope(): void {
  const box = $('queue-scope');
  const c = state.projects.find((p) => p.id === state.project)?.counts;
  box.textContent = '';
  if (!c || !state.project) return;
  const onQueues = state.projectQueue.filter((w) => w.status === 'queued').length;
  const runningOnQueues = state.projectQueue.filter((w) => w.status === 'running').length;
  box.dataset.queued = String(c.queued);
  box.dataset.onQueues = String(onQueues);
  const off = Math.max(0, c.queued - onQueues);
  box.textContent =
    `${state.project}: ${c.queued} queued, ${c.running} running. On queues: ${onQueues} queued, ` +
    `${runningOnQueues} running` +
    (off ? `; ${plural(off, 'queued workflow')} on no queue (created, first step not started yet).` : '.');
}

function historyText(q: QueueSummary): { done: string; rate: string; rates: number[] } {
  const completed = q.history?.completed ?? [];
  const failed = q.history?.failed ?? [];
  const nDone = completed.reduce((a, b) => a + b, 0);
  const nFailed = failed.reduce((a, b) => a + b, 0);
  const minutes = completed.length;
  const rate = nDone + nFailed ? Math.round((100 * nFailed) / (nDone + nFailed)) : 0;
  return {
    done: `Throughput, last ${minutes} min: ${nDone} completed, ${nFailed} failed (per minute, oldest first)`,
    rate: `Failure rate, last ${minutes} min: ${rate} % (${nFailed} of ${nDone + nFailed} finished)`,
    rates: failureRates(completed, failed),
  };
}

function renderQueueRows(): void {
  const list = $('queue-list');
  list.textContent = '';
  for (const q of state.queues) {
    const li = el('li', { testid: 'queue' });
    li.dataset.queue = q.name;
    const b = el('button', { className: 'queue-row', testid: 'queue-filter' });
    b.type = 'button';
    const active = state.filters.queue === q.name;
    b.setAttribute('aria-pressed', String(active));
    b.title = active ? 'Show every queue in the list' : `Show only workflows on ${q.name} in the list`;
    b.appendChild(el('span', { className: 'queue-name', text: q.name }));
    b.appendChild(
      el('span', {
        className: 'queue-counts',
        testid: 'queue-counts',
        text:
          `${q.queued} queued · ${q.running} running · oldest waiting ` +
          (q.oldestQueuedAgeMs == null ? '—' : fmtDuration(q.oldestQueuedAgeMs)),
      }),
    );
    b.addEventListener('click', () => filterByQueue(q.name));
    li.appendChild(b);
    li.appendChild(
      el('div', {
        className: 'muted small',
        text: `last minute: ${q.completedLastMinute} completed, ${q.failedLastMinute} failed`,
      }),
    );
    if (q.history) {
      const h = historyText(q);
      const all = q.history.completed.map((c, i) => c + (q.history.failed[i] ?? 0));
      const sparks = el('div', { className: 'sparks small muted' });
      sparks.appendChild(sparkline(all, Math.max(1, ...all), h.done, 'throughput'));
      sparks.appendChild(el('span', { text: h.done.replace(' (per minute, oldest first)', '') }));
      sparks.appendChild(sparkline(h.rates, 1, h.rate, 'failure'));
      sparks.appendChild(el('span', { text: h.rate }));
      li.appendChild(sparks);
    }
    list.appendChild(li);
  }
  $('queue-empty').hidden = state.queues.length > 0;
}

const HEALTH_ORDER = { online: 0, stale: 1, offline: 2 } as const;

function workflowLink(id: string): HTMLAnchorElement {
  const a = el('a', { testid: 'worker-job', text: state.workflows.get(id)?.name || id });
  a.href = hashOf(state.project, id, state.filters);
  a.dataset.workflowId = id;
  return a;
}

function renderWorkers(): void {
  const workers: (QueueWorker & { queue: string })[] = [];
  for (const q of state.queues) for (const w of q.workers ?? []) workers.push({ queue: q.name, ...w });
  workers.sort(
    (a, b) =>
      HEALTH_ORDER[a.health ?? 'online'] - HEALTH_ORDER[b.health ?? 'online'] ||
      a.workerId.localeCompare(b.workerId),
  );
  const wl = $('worker-list');
  wl.textContent = '';
  for (const w of workers) {
    const health = w.health ?? 'online';
    const li = el('li', { testid: 'worker' });
    li.dataset.workerId = w.workerId;
    li.dataset.queue = w.queue;
    li.dataset.health = health;
    const badge = el('span', { className: 'badge health', testid: 'worker-health', text: health });
    badge.dataset.health = health;
    li.appendChild(badge);
    const seen = fmtDuration(w.seenAgoMs ?? Date.now() - Date.parse(w.lastSeenAt));
    li.appendChild(
      el('span', {
        text:
          ` ${w.workerId} on ${w.queue} — ` +
          (health === 'offline' ? `not seen for ${seen}` : `seen ${seen} ago`) +
          (w.workflowIds?.length ? '; holds ' : w.running ? `; ${w.running} running` : '; idle'),
      }),
    );
    (w.workflowIds ?? []).forEach((id, i) => {
      if (i) li.appendChild(document.createTextNode(', '));
      li.appendChild(workflowLink(id));
    });
    if (health === 'offline' && w.workflowIds?.length)
      li.appendChild(el('span', { className: 'muted', text: ' (back to the queue when its lease expires)' }));
    wl.appendChild(li);
  }
  $('worker-empty').hidden = workers.length > 0;
}

function renderWaiting(): void {
  const pq = $('project-queue');
  pq.textContent = '';
  for (const w of state.projectQueue) {
    const li = el('li', { testid: 'waiting' });
    li.appendChild(document.createTextNode(w.position ? `#${w.position} ` : 'claimed '));
    const a = workflowLink(w.id);
    a.setAttribute('data-testid', 'waiting-link');
    li.appendChild(a);
    li.appendChild(document.createTextNode(` on ${w.queue} (${w.status})`));
    pq.appendChild(li);
  }
  const empty = $('project-queue-empty');
  empty.hidden = state.projectQueue.length > 0;
  const c = state.projects.find((p) => p.id === state.project)?.counts;
  // never "Nothing queued" beside a picker that says "60 queued" (#18.11)
  empty.textContent =
    c && c.queued > 0
      ? `None of the ${plural(c.queued, 'queued workflow')} waits on a queue.`
      : 'Nothing queued.';
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
