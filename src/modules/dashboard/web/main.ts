/*
 * Stepline dashboard, bundled by esbuild (scripts/build-dashboard.js) into dist as /dashboard/dashboard.js.
 * It talks only to the server that served it, through @stepline/client: REST with the key entered once
 * (kept in localStorage) and the client's watcher over Socket.IO (bundled: no /socket.io/socket.io.js).
 * Each tab keeps its own position; a BroadcastChannel tells the other tabs when the key changes.
 */
import { setConn } from './connection';
import { renderEta } from './detail';
import { initFilters } from './filters';
import { $ } from './dom';
import { initListNav } from './list-nav';
import {
  confirmCancel,
  filtersChanged,
  loadMore,
  onRoute,
  persistSince,
  refreshQueues,
  renderAll,
  requestCancel,
  showKeyPanel,
  signIn,
  stopSession,
} from './live';
import { state } from './state';
import { KEYS, channel, store } from './store';

/** A polite live region for status changes, made here so that it exists whatever index.html holds. */
function ensureAnnouncer(): void {
  let r = document.getElementById('announcer');
  if (!r) {
    r = document.createElement('div');
    r.id = 'announcer';
    r.className = 'sr-only';
    r.setAttribute('role', 'status');
    r.setAttribute('aria-live', 'polite');
    r.setAttribute('data-testid', 'announcer');
    document.body.appendChild(r);
  }
  // visually hidden (CSSOM, allowed by the page's CSP) until the stylesheet has an .sr-only rule
  Object.assign(r.style, {
    position: 'absolute',
    width: '1px',
    height: '1px',
    overflow: 'hidden',
    clip: 'rect(0 0 0 0)',
    whiteSpace: 'nowrap',
  });
}

function init(): void {
  ensureAnnouncer();
  $('detail-title').tabIndex = -1;
  // the log list changes every second: not a live region (#18.14)
  $('log-list').removeAttribute('aria-live');
  setConn('signed-out');
  initListNav();

  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $<HTMLInputElement>('key-input').value.trim();
    if (!key) {
      $('key-error').textContent = 'Enter a key.';
      return;
    }
    $('key-error').textContent = '';
    void signIn(key, true);
  });
  $('change-key').addEventListener('click', () => {
    stopSession();
    store.del(KEYS.key);
    channel?.postMessage({ type: 'forget' });
    showKeyPanel('');
  });
  $<HTMLSelectElement>('project-select').addEventListener('change', (e) => {
    const v = (e.target as HTMLSelectElement).value;
    if (v) window.location.hash = `#/p/${encodeURIComponent(v)}`;
  });
  $<HTMLSelectElement>('filter-status').addEventListener('change', (e) => {
    state.filters.status = (e.target as HTMLSelectElement).value;
    filtersChanged();
  });
  const debounced = (input: HTMLInputElement, set: (v: string) => void) => {
    let t: ReturnType<typeof setTimeout> | undefined;
    input.addEventListener('input', () => {
      clearTimeout(t);
      t = setTimeout(() => {
        set(input.value.trim());
        filtersChanged();
      }, 300);
    });
  };
  debounced($<HTMLInputElement>('filter-type'), (v) => (state.filters.typePrefix = v));
  debounced($<HTMLInputElement>('filter-search'), (v) => (state.filters.search = v));
  initFilters();
  $('load-more').addEventListener('click', loadMore);
  $('cancel-button').addEventListener('click', () => {
    if (state.selected) requestCancel(state.selected);
  });
  $('cancel-confirm').addEventListener('click', confirmCancel);
  $('cancel-keep').addEventListener('click', () => $<HTMLDialogElement>('cancel-dialog').close());
  $('cancel-reason').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      confirmCancel();
    }
  });
  window.addEventListener('hashchange', onRoute);
  window.addEventListener('pagehide', persistSince);
  window.addEventListener('offline', () => setConn('offline'));
  window.addEventListener('online', () => {
    if (!state.watch) return;
    setConn(state.watch.status === 'live' ? 'live' : 'reconnecting');
  });
  if (channel)
    channel.onmessage = (e: MessageEvent<{ type?: string }>) => {
      const msg = e.data ?? {};
      if (msg.type === 'key') {
        const key = store.get(KEYS.key);
        if (key && key !== state.key) void signIn(key, false);
      } else if (msg.type === 'forget') {
        stopSession();
        showKeyPanel('The key was removed in another tab.');
      }
    };
  // the ETA counts down between events; the queue panel and project counts are read every 5 s
  setInterval(() => {
    if (!state.ready || document.hidden) return;
    renderEta();
  }, 1000);
  setInterval(() => {
    if (!state.ready || document.hidden) return;
    refreshQueues();
  }, 5000);

  const key = store.get(KEYS.key);
  if (key) void signIn(key, false);
  else {
    showKeyPanel('');
    renderAll();
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
