/*
 * Keyboard use of the workflow list (#18): one Tab stop for the whole list (a roving tabindex: the row last
 * focused, else the open one, else the first), ArrowUp/ArrowDown/Home/End move between rows, Enter (or
 * Space) opens the row, as its button does. Rows arriving while a row has focus neither take the focus nor
 * move the focused row on screen: the list scrolls by what was inserted above it.
 */
import { $ } from './dom';
import { state } from './state';

/** The row that holds the list's Tab stop. */
let holderId: string | null = null;
/** The part of a scroll shift the list could not take (a fraction of a pixel), for the same focused row. */
let carry = { id: '', px: 0 };

const rowsOf = (list: HTMLElement) => Array.from(list.children) as HTMLElement[];
const buttonOf = (li: HTMLElement) => li.firstElementChild as HTMLButtonElement | null;

export interface FocusedRow {
  id: string;
  top: number;
}

/** Before the list changes: which row has focus, and where it is on screen. */
export function focusedRow(list: HTMLElement): FocusedRow | null {
  const a = document.activeElement;
  if (!(a instanceof HTMLElement) || a === list || !list.contains(a)) return null;
  const li = a.closest<HTMLElement>('li[data-workflow-id]');
  return li ? { id: li.dataset.workflowId ?? '', top: li.getBoundingClientRect().top } : null;
}

/** After the list changed: the Tab stop on one row, and the focused row kept where it was. */
export function settleList(list: HTMLElement, before: FocusedRow | null): void {
  const rows = rowsOf(list);
  const holder =
    rows.find((li) => li.dataset.workflowId === holderId) ??
    rows.find((li) => li.dataset.workflowId === state.selected) ??
    rows[0];
  for (const li of rows) {
    const t = li === holder ? '0' : '-1';
    const b = buttonOf(li);
    if (b && b.getAttribute('tabindex') !== t) b.setAttribute('tabindex', t);
  }
  if (!before) return;
  const li = rows.find((r) => r.dataset.workflowId === before.id);
  const b = li && buttonOf(li);
  if (!li || !b) return;
  // a row moved in the DOM loses focus: give it back without scrolling
  if (document.activeElement !== b) b.focus({ preventScroll: true });
  const delta = li.getBoundingClientRect().top - before.top;
  if (Math.abs(delta) < 0.5) return;
  // scrollTop takes whole pixels: the fraction left over is carried to the next shift, so that a row of
  // 71.5 px arriving three times does not walk the focused row 1.5 px away
  const wanted = list.scrollTop + delta + (carry.id === before.id ? carry.px : 0);
  list.scrollTop = wanted;
  carry = { id: before.id, px: wanted - list.scrollTop };
  const rest = li.getBoundingClientRect().top - before.top;
  // a one-column layout scrolls the page, not the list (whole pixels: the page rounds half a pixel away)
  if (Math.abs(rest) >= 1) window.scrollBy(0, Math.round(rest));
}

function moveTo(list: HTMLElement, li: HTMLElement | undefined): void {
  const b = li && buttonOf(li);
  if (!li || !b) return;
  holderId = li.dataset.workflowId ?? null;
  for (const r of rowsOf(list)) buttonOf(r)?.setAttribute('tabindex', r === li ? '0' : '-1');
  b.focus();
}

/** Wires the list's keys and the skip link (once, at start). */
export function initListNav(): void {
  const list = $('workflow-list');
  list.addEventListener('focusin', (e) => {
    const li = (e.target as HTMLElement).closest<HTMLElement>('li[data-workflow-id]');
    if (li && list.contains(li)) holderId = li.dataset.workflowId ?? null;
  });
  list.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const rows = rowsOf(list);
    if (rows.length === 0) return;
    const current = (e.target as HTMLElement).closest<HTMLElement>('li[data-workflow-id]');
    const i = current ? rows.indexOf(current) : -1;
    let next: HTMLElement | undefined;
    switch (e.key) {
      case 'ArrowDown':
        // from the list itself (the skip link's target): its Tab-stop row first
        next = i < 0 ? (rows.find((r) => buttonOf(r)?.tabIndex === 0) ?? rows[0]) : rows[i + 1];
        break;
      case 'ArrowUp':
        next = i < 0 ? (rows.find((r) => buttonOf(r)?.tabIndex === 0) ?? rows[0]) : rows[i - 1];
        break;
      case 'Home':
        next = rows[0];
        break;
      case 'End':
        next = rows[rows.length - 1];
        break;
      default:
        return;
    }
    e.preventDefault();
    moveTo(list, next);
  });
  // the skip link focuses the list without touching the address: "#workflow-list" in the hash would read as
  // "no workflow open" to the router and close the open one
  const skip = document.querySelector<HTMLAnchorElement>('.skip-link');
  skip?.addEventListener('click', (e) => {
    e.preventDefault();
    list.focus();
  });
}
