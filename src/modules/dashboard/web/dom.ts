/** Small DOM helpers shared by the views. */

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: #${id} is missing from index.html`);
  return el as T;
}

export function setText(el: Element | null, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; testid?: string } = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.testid) e.setAttribute('data-testid', props.testid);
  return e;
}

export function option(value: string, label: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

export const enc = encodeURIComponent;

/** A progress bar: ARIA value in its own unit (items or %), width from the percentage. */
export function setBar(
  bar: HTMLElement,
  now: number,
  min: number,
  max: number,
  valueText: string,
  status: string,
  percent?: number,
): void {
  bar.setAttribute('aria-valuemin', String(min));
  bar.setAttribute('aria-valuemax', String(max));
  bar.setAttribute('aria-valuenow', String(now));
  bar.setAttribute('aria-valuetext', valueText);
  bar.dataset.status = status;
  const pct = typeof percent === 'number' ? percent : max > min ? (100 * (now - min)) / (max - min) : 0;
  const fill = bar.querySelector<HTMLElement>('.fill');
  const w = `${Math.max(0, Math.min(100, pct))}%`;
  if (fill && fill.style.width !== w) fill.style.width = w;
  setText(bar.querySelector('.bar-text'), valueText);
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** A banner over the board (errors, access), empty to hide it. */
export function showBanner(text: string): void {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

/** The polite live region: status changes of the open workflow, never every log line. */
export function announce(text: string): void {
  const r = document.getElementById('announcer');
  if (r) r.textContent = text;
}
