/** Small DOM helpers shared by the views. */

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: #${id} is missing from index.html`);
  return el as T;
}

export function setText(el: Element | null, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}

export function setAttr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
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

const fillScale = new WeakMap<HTMLElement, string>();

/**
 * A progress bar: ARIA value in its own unit (items or %), the fill's length from the percentage. The fill is
 * full width and scaled (`transform: scaleX`), so a new value repaints the bar without a layout of the page,
 * and nothing is written when the value is the same.
 */
export function setBar(
  bar: HTMLElement,
  now: number,
  min: number,
  max: number,
  valueText: string,
  status: string,
  percent?: number,
): void {
  setAttr(bar, 'aria-valuemin', String(min));
  setAttr(bar, 'aria-valuemax', String(max));
  setAttr(bar, 'aria-valuenow', String(now));
  setAttr(bar, 'aria-valuetext', valueText);
  if (bar.dataset.status !== status) bar.dataset.status = status;
  const pct = typeof percent === 'number' ? percent : max > min ? (100 * (now - min)) / (max - min) : 0;
  const fill = bar.firstElementChild as HTMLElement | null;
  const scale = `scaleX(${Math.max(0, Math.min(100, pct)) / 100})`;
  if (fill && fill.classList.contains('fill') && fillScale.get(fill) !== scale) {
    fillScale.set(fill, scale);
    fill.style.transform = scale;
  }
  const label = bar.lastElementChild;
  if (label && label.classList.contains('bar-text')) setText(label, valueText);
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
