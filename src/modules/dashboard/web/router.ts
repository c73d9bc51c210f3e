import { enc } from './dom';
import { NO_FILTERS, type Filters } from './state';

/** `#/p/<project>[/w/<workflow>][?status=&typePrefix=&search=&queue=&createdFrom=&createdTo=]`: what is open, and the list's filters (#18.5). */
export interface Route {
  project: string | null;
  workflow: string | null;
  filters: Filters;
}

const FILTER_KEYS = Object.keys(NO_FILTERS) as (keyof Filters)[];

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

export function parseHash(hash: string = window.location.hash): Route {
  const filters: Filters = { ...NO_FILTERS };
  const m = /^#\/p\/([^/?]+)(?:\/w\/([^/?]+))?(?:\?(.*))?$/.exec(hash);
  if (!m) return { project: null, workflow: null, filters };
  const q = new URLSearchParams(m[3] ?? '');
  for (const k of FILTER_KEYS) filters[k] = q.get(k) ?? '';
  return { project: decode(m[1]), workflow: m[2] ? decode(m[2]) : null, filters };
}

export function hashOf(project: string | null, workflow: string | null, filters: Filters): string {
  if (!project) return '';
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) if (filters[k]) q.set(k, filters[k]);
  const qs = q.toString();
  return `#/p/${enc(project)}${workflow ? `/w/${enc(workflow)}` : ''}${qs ? `?${qs}` : ''}`;
}

/** Rewrites the address without a history entry (and without a hashchange). */
export function setHash(project: string | null, workflow: string | null, filters: Filters): void {
  const h = hashOf(project, workflow, filters);
  if (window.location.hash !== h) history.replaceState(null, '', h || window.location.pathname);
}

export function sameFilters(a: Filters, b: Filters): boolean {
  return FILTER_KEYS.every((k) => a[k] === b[k]);
}
