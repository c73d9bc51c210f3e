/**
 * Tiny inline bar charts for the queue panel, drawn with DOM APIs (the page's CSP allows no inline markup or
 * styles): one bar per minute, oldest first. Each chart is an image with a text alternative (`aria-label` and
 * `<title>`); the panel prints the same figures as text beside it.
 */
const SVG_NS = 'http://www.w3.org/2000/svg';
const BAR_W = 3;
const GAP = 1;
const HEIGHT = 18;

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** `values` in [0, max]; a value above 0 is at least one pixel high, so "a little" never reads as "none". */
export function sparkline(values: number[], max: number, label: string, kind: string): SVGSVGElement {
  const width = values.length * (BAR_W + GAP) - GAP;
  const svg = svgEl('svg', {
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img',
    'aria-label': label,
    class: `spark spark-${kind}`,
    'data-testid': `spark-${kind}`,
    'data-values': values.map((v) => (Number.isInteger(v) ? v : v.toFixed(3))).join(','),
  });
  const title = svgEl('title', {});
  title.textContent = label;
  svg.appendChild(title);
  svg.appendChild(svgEl('rect', { class: 'spark-base', x: 0, y: HEIGHT - 1, width, height: 1 }));
  values.forEach((v, i) => {
    if (!(v > 0)) return;
    const h = Math.max(1, Math.round((Math.min(v, max) / (max || 1)) * (HEIGHT - 1)));
    svg.appendChild(
      svgEl('rect', { class: 'spark-bar', x: i * (BAR_W + GAP), y: HEIGHT - 1 - h, width: BAR_W, height: h }),
    );
  });
  return svg;
}

/** Per minute: failed / (completed + failed), 0 for a minute in which nothing finished. */
export function failureRates(completed: number[], failed: number[]): number[] {
  return completed.map((c, i) => {
    const n = c + (failed[i] ?? 0);
    return n ? (failed[i] ?? 0) / n : 0;
  });
}
