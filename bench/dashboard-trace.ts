import { readFileSync } from 'node:fs';

/**
 * Second opinions on the dashboard's main-thread figure, so that it is not taken on the word of one counter:
 *
 *  - a Chromium trace of the same window, read here: the renderer main thread's top-level tasks summed (wall
 *    `dur` and thread time `tdur`), and their self time by event name (script, style, layout, paint, GC, …);
 *  - the operating system's view: CPU time of each renderer process and of its main thread (on Linux the
 *    thread whose id is the process id) from /proc, over the same window.
 */

interface TraceEvent {
  ph: string;
  name: string;
  cat?: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

export interface TraceSummary {
  /** µs of the traced window, first to last event on the main thread */
  windowS: number;
  /** top-level task wall time on the renderer main thread, ms per s of the window */
  taskMsPerS: number;
  /** the same tasks' thread (CPU) time, ms per s */
  cpuMsPerS: number;
  /** self wall time by bucket, ms per s */
  buckets: Record<string, number>;
  /** the names with the most self time, ms per s */
  top: { name: string; msPerS: number }[];
}

const BUCKETS: [string, RegExp][] = [
  ['gc', /GC|Gc|garbage/],
  [
    'script',
    /^(FunctionCall|EvaluateScript|v8\.|V8\.|TimerFire|FireAnimationFrame|EventDispatch|RunMicrotasks|XHRReadyStateChange|FireIdleCallback|v8::|CompileScript|CompileCode|ParseOnBackground)/,
  ],
  [
    'style',
    /^(UpdateLayoutTree|RecalculateStyles|ScheduleStyleRecalculation|ParseAuthorStyleSheet|InvalidateLayout)/,
  ],
  ['layout', /Layout|UpdateLayerTree/],
  ['ipc', /mojo|SimpleWatcher|IPC|Mojo/],
  ['task overhead', /RunTask$/],
  [
    'paint',
    /^(Paint|PrePaint|Layerize|CompositeLayers|Commit|PaintSetup|Rasterize|UpdateLayer|DecodeImage|ImageDecode)/,
  ],
];

function bucketOf(name: string): string {
  for (const [b, re] of BUCKETS) if (re.test(name)) return b;
  return 'other';
}

export function summarizeTrace(buf: Buffer | string): TraceSummary | null {
  const json = JSON.parse(typeof buf === 'string' ? buf : buf.toString('utf8')) as
    { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(json) ? json : json.traceEvents;
  const mains = new Set<string>();
  for (const e of events)
    if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      mains.add(`${e.pid}:${e.tid}`);
  // the busiest renderer main thread is the page's (an idle about:blank renderer may be traced too)
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const k = `${e.pid}:${e.tid}`;
    if (e.ph !== 'X' || !mains.has(k) || typeof e.dur !== 'number') continue;
    let xs = byThread.get(k);
    if (!xs) byThread.set(k, (xs = []));
    xs.push(e);
  }
  let best: TraceEvent[] | null = null;
  let bestDur = -1;
  for (const xs of byThread.values()) {
    const d = xs.reduce((n, e) => n + (e.dur ?? 0), 0);
    if (d > bestDur) [best, bestDur] = [xs, d];
  }
  if (!best || best.length === 0) return null;
  best.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, number>();
  let top = 0;
  let topCpu = 0;
  const stack: { end: number; name: string; childDur: number; dur: number }[] = [];
  const close = (upTo: number) => {
    while (stack.length && stack[stack.length - 1].end <= upTo) {
      const s = stack.pop()!;
      self.set(s.name, (self.get(s.name) ?? 0) + Math.max(0, s.dur - s.childDur));
    }
  };
  for (const e of best) {
    close(e.ts);
    const dur = e.dur ?? 0;
    if (stack.length === 0) {
      top += dur;
      topCpu += e.tdur ?? 0;
    } else stack[stack.length - 1].childDur += dur;
    stack.push({ end: e.ts + dur, name: e.name, childDur: 0, dur });
  }
  close(Infinity);
  const first = best[0].ts;
  const last = Math.max(...best.map((e) => e.ts + (e.dur ?? 0)));
  const windowS = (last - first) / 1e6;
  const per = (us: number) => us / 1000 / windowS;
  const buckets: Record<string, number> = {};
  for (const [name, us] of self) buckets[bucketOf(name)] = (buckets[bucketOf(name)] ?? 0) + per(us);
  const topNames = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([name, us]) => ({ name, msPerS: per(us) }));
  return { windowS, taskMsPerS: per(top), cpuMsPerS: per(topCpu), buckets, top: topNames };
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** utime + stime (ms) of a process or one of its threads; null when it is gone or this is not Linux. */
export function procCpuMs(pid: number, tid?: number): number | null {
  try {
    const stat = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat(5); f[0] is field 3
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** The renderer processes' CPU: whole process, and main thread (tid = pid). */
export function rendererCpu(pids: number[]): { process: number; main: number } {
  let process = 0;
  let main = 0;
  for (const pid of pids) {
    process += procCpuMs(pid) ?? 0;
    main += procCpuMs(pid, pid) ?? 0;
  }
  return { process, main };
}
