/*
 * The page's one render loop: events change `state` at once, the DOM follows at most every
 * RENDER_INTERVAL_MS, in an animation frame.
 *
 * Why 200 ms and not every frame: a busy project sends hundreds of events a second (the bench: 50 workflows at
 * 10 updates/s each). Rendering on every frame would touch every changed row up to 60 times a second, for
 * numbers nobody can read at that rate; five renders a second keep bars and figures visibly live at about a
 * twelfth of the DOM work. The first change after a quiet spell renders at the next frame (no wait), so a lone
 * event still shows at once. Rendering inside requestAnimationFrame means a hidden tab does no DOM work at all:
 * the state keeps up, and the page draws once when it is shown again.
 *
 * How a view hooks in:
 *  - it renders from `state` only, and writes a DOM value only when it differs (`setText`, `setAttr`, `setBar`
 *    in dom.ts), updating its elements in place: running it when nothing changed must cost next to nothing;
 *  - it is registered once under a part with `registerView(part, fn)` (live.ts registers list, detail, panel
 *    and conn). A view shown inside the open workflow (a timeline, a JSON viewer) is called from
 *    `renderDetail` and needs no registration of its own; a new panel registers under 'panel' or a new part;
 *  - whoever changes `state` calls `scheduleRender(part, …)`: the parts whose data changed, or none for all of
 *    them. Data that only the queue panel shows (queues, workers, webhooks) marks 'panel' only, so progress
 *    events never redraw the panel.
 *  - a user action (a click, a route change) calls `renderNow()`, so its answer is on screen in the same frame.
 */
export type RenderPart = 'list' | 'detail' | 'panel' | 'conn';

export const RENDER_INTERVAL_MS = 200;

const views: { part: RenderPart; fn: () => void }[] = [];
const dirty = new Set<RenderPart>();
let timer: ReturnType<typeof setTimeout> | null = null;
let frame: number | null = null;
let lastAt = -Infinity;

/** Renders `fn` whenever `part` is rendered; views run in the order they were registered. */
export function registerView(part: RenderPart, fn: () => void): void {
  views.push({ part, fn });
}

function mark(parts: RenderPart[]): void {
  if (parts.length === 0) for (const v of views) dirty.add(v.part);
  else for (const p of parts) dirty.add(p);
}

/** Asks for the given parts (none: all) to be drawn at the next render: within RENDER_INTERVAL_MS. */
export function scheduleRender(...parts: RenderPart[]): void {
  mark(parts);
  if (timer !== null || frame !== null) return;
  const wait = lastAt + RENDER_INTERVAL_MS - performance.now();
  if (wait > 0)
    timer = setTimeout(() => {
      timer = null;
      frame = requestAnimationFrame(flush);
    }, wait);
  else frame = requestAnimationFrame(flush);
}

function flush(): void {
  frame = null;
  renderNow(...dirty);
}

/** Draws the given parts (none: all) now, with whatever else was waiting. */
export function renderNow(...parts: RenderPart[]): void {
  mark(parts);
  if (timer !== null) clearTimeout(timer);
  if (frame !== null) cancelAnimationFrame(frame);
  timer = null;
  frame = null;
  lastAt = performance.now();
  const todo = new Set(dirty);
  dirty.clear();
  for (const v of views) if (todo.has(v.part)) v.fn();
}
