/*
 * A JSON viewer for metadata, step results, step metrics and log details (#18): a disclosure button per
 * object or array (aria-expanded), children built only when opened, at most PAGE entries at a time with a
 * "Show N more" button, long strings cut with a "Show all" button, and Copy (the whole value as indented
 * JSON). Text only: every value goes in through textContent, never as markup (the page's CSP is strict and
 * the data is whatever producers sent).
 */
import { el } from './dom';

/** Entries shown per object or array before a "Show N more" button. */
export const PAGE = 50;
/** Characters of a string shown before a "Show all" button. */
export const STRING_CUT = 300;

interface ViewState {
  value: unknown;
  /** paths ("/" joined keys) of the nodes that are open, kept across rebuilds */
  open: Set<string>;
  /** path → entries shown, for nodes opened past the first page */
  shown: Map<string, number>;
}

const views = new WeakMap<HTMLElement, ViewState>();

type Kind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'object' ? 'object' : t === 'string' ? 'string' : t === 'number' ? 'number' : 'boolean';
}

function entriesOf(v: unknown): [string, unknown][] {
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  return Object.entries(v as Record<string, unknown>);
}

/** "{…} 3 keys", "[…] 120 items": what a closed node holds. */
function summary(v: unknown): string {
  const k = kindOf(v);
  const n = entriesOf(v).length;
  if (k === 'array') return `[\u2026] ${n} ${n === 1 ? 'item' : 'items'}`;
  return `{\u2026} ${n} ${n === 1 ? 'key' : 'keys'}`;
}

/**
 * Shows `value` in `host` (a viewer made once per place and updated with new values): the open nodes and the
 * pages shown stay open when the value changes (a live workflow's metrics), and focus stays on the same
 * control. `label` names the value for assistive technology and on the root toggle ("Result", "Metrics").
 */
export function setJson(host: HTMLElement, value: unknown, label: string): void {
  let vs = views.get(host);
  if (vs && vs.value === value) return;
  if (!vs) {
    vs = { value, open: new Set(), shown: new Map() };
    views.set(host, vs);
    host.classList.add('json');
  }
  vs.value = value;
  host.dataset.jsonLabel = label;
  const active = document.activeElement;
  const focusKey =
    active instanceof HTMLElement && host.contains(active) ? (active.dataset.jsonKey ?? null) : null;
  host.textContent = '';
  const bar = el('div', { className: 'json-bar' });
  const isTree = kindOf(value) === 'object' || kindOf(value) === 'array';
  if (isTree) bar.appendChild(toggle(host, vs, '', value, label));
  else {
    bar.appendChild(el('span', { className: 'json-label', text: `${label}: ` }));
    bar.appendChild(leaf(host, vs, '', value));
  }
  bar.appendChild(copyButton(value, label));
  host.appendChild(bar);
  if (isTree && vs.open.has('')) host.appendChild(children(host, vs, '', value));
  if (focusKey != null) refocus(host, focusKey);
}

/** Focus back on the control with this key, or on its node's toggle when the control is gone. */
function refocus(host: HTMLElement, key: string): void {
  const find = (k: string) => host.querySelector<HTMLElement>(`[data-json-key="${CSS.escape(k)}"]`);
  (find(key) ?? find(`t:${key.slice(2)}`) ?? find('t:'))?.focus();
}

function rebuild(host: HTMLElement, vs: ViewState, focusKey: string): void {
  const v = vs.value;
  vs.value = Symbol('rebuild'); // force setJson past its same-value check
  setJson(host, v, host.dataset.jsonLabel ?? '');
  refocus(host, focusKey);
}

function toggle(host: HTMLElement, vs: ViewState, path: string, value: unknown, name: string): HTMLElement {
  const b = el('button', { className: 'json-toggle', testid: 'json-toggle' });
  b.type = 'button';
  const open = vs.open.has(path);
  b.setAttribute('aria-expanded', open ? 'true' : 'false');
  b.dataset.jsonKey = `t:${path}`;
  b.dataset.path = path;
  b.appendChild(el('span', { className: 'json-key', text: name }));
  b.appendChild(el('span', { className: 'json-summary muted', text: ` ${summary(value)}` }));
  b.addEventListener('click', () => {
    if (vs.open.has(path)) vs.open.delete(path);
    else vs.open.add(path);
    rebuild(host, vs, `t:${path}`);
  });
  return b;
}

function leaf(host: HTMLElement, vs: ViewState, path: string, v: unknown): HTMLElement {
  const k = kindOf(v);
  const span = el('span', { className: 'json-value' });
  span.dataset.kind = k;
  if (k !== 'string') {
    span.textContent = v === undefined ? 'null' : JSON.stringify(v);
    return span;
  }
  const s = v as string;
  const all = vs.shown.get(path) === -1;
  if (s.length <= STRING_CUT || all) {
    span.textContent = JSON.stringify(s);
    return span;
  }
  span.textContent = `${JSON.stringify(s.slice(0, STRING_CUT))}\u2026 `;
  const more = el('button', {
    className: 'json-more link-button',
    text: `Show all ${s.length} characters`,
    testid: 'json-more',
  });
  more.type = 'button';
  more.dataset.jsonKey = `s:${path}`;
  more.addEventListener('click', () => {
    vs.shown.set(path, -1);
    rebuild(host, vs, `s:${path}`);
  });
  span.appendChild(more);
  return span;
}

function children(host: HTMLElement, vs: ViewState, path: string, value: unknown): HTMLElement {
  const ul = el('ul', { className: 'json-children' });
  const entries = entriesOf(value);
  const limit = Math.min(entries.length, vs.shown.get(path) ?? PAGE);
  for (let i = 0; i < limit; i++) {
    const [k, v] = entries[i];
    const p = `${path}/${k}`;
    const li = el('li', { testid: 'json-entry' });
    li.dataset.key = k;
    const kind = kindOf(v);
    if (kind === 'object' || kind === 'array') {
      li.appendChild(toggle(host, vs, p, v, k));
      if (vs.open.has(p)) li.appendChild(children(host, vs, p, v));
    } else {
      li.appendChild(el('span', { className: 'json-key', text: `${k}: ` }));
      li.appendChild(leaf(host, vs, p, v));
    }
    ul.appendChild(li);
  }
  if (entries.length === 0) ul.appendChild(el('li', { className: 'muted', text: '(empty)' }));
  const left = entries.length - limit;
  if (left > 0) {
    const li = el('li');
    const more = el('button', {
      className: 'json-more link-button',
      text: `Show ${Math.min(PAGE, left)} more (${left} not shown)`,
      testid: 'json-more',
    });
    more.type = 'button';
    more.dataset.jsonKey = `m:${path}`;
    more.addEventListener('click', () => {
      vs.shown.set(path, limit + PAGE);
      rebuild(host, vs, `m:${path}`);
    });
    li.appendChild(more);
    ul.appendChild(li);
  }
  return ul;
}

function copyButton(value: unknown, label: string): HTMLElement {
  const wrap = el('span', { className: 'json-copy' });
  const b = el('button', { className: 'secondary small', text: 'Copy', testid: 'json-copy' });
  b.type = 'button';
  b.dataset.jsonKey = 'copy';
  b.setAttribute('aria-label', `Copy ${label} as JSON`);
  const said = el('span', { className: 'muted small', testid: 'json-copied' });
  said.setAttribute('role', 'status');
  b.addEventListener('click', () => {
    const text = JSON.stringify(value ?? null, null, 2);
    void copyText(text).then((ok) => {
      said.textContent = ok ? 'Copied' : 'Copy failed: select the text and copy it';
    });
  });
  wrap.appendChild(b);
  wrap.appendChild(said);
  return wrap;
}

/** The clipboard API where the page may use it; else the older copy command on a hidden text area. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* denied or not focused: try the fallback */
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'sr-only';
  const before = document.activeElement as HTMLElement | null;
  document.body.appendChild(ta);
  ta.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  before?.focus();
  return ok;
}
