import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  ANALYSIS_TYPES,
  analyzerFor,
  walkFiles,
  type AnalysisType,
  type PriorResults,
} from '../src/modules/analysis-steps/analyzers';
import { ADMIN_TOKEN, startServer } from './server';

/**
 * The analysis engine on a large real tree: the repository's own node_modules (tens of thousands of files),
 * walked once, then each analyzer in the default order (recommendations gets the three results before it, as
 * the worker passes them). In-process, no server: it measures the analyzers, not HTTP.
 *
 *   ANALYSIS_BENCH_ROOT=<dir> (default <repo>/node_modules)
 * Run alone: `node <outDir>/bench/analysis.js`.
 */
export interface AnalyzerRun {
  type: AnalysisType;
  ms: number;
  /** Files examined per second by the analyzer alone. */
  filesPerSec: number;
  /** The same with the walk's time added (what one step costs when it walks for itself). */
  filesPerSecWithWalk: number;
  progressCalls: number;
  /** Event-loop delay while it ran (what an in-process server's other requests would wait at worst). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Size of the result as JSON. */
  resultBytes: number;
}

export interface AnalysisBenchReport {
  root: string;
  files: number;
  bytes: number;
  walkMs: number;
  truncated: string | null;
  skipped: Record<string, number>;
  runs: AnalyzerRun[];
  /** Highest RSS seen while sampling every 20 ms, and the process's lifetime peak (getrusage). */
  peakRssMb: number;
  maxRssMb: number;
}

export async function runAnalysisBench(
  root = process.env.ANALYSIS_BENCH_ROOT ?? join(__dirname, '..', '..', 'node_modules'),
): Promise<AnalysisBenchReport> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const t0 = performance.now();
    const walk = await walkFiles(root, { maxFiles: 500_000, maxMs: 600_000 });
    const walkMs = performance.now() - t0;
    const runs: AnalyzerRun[] = [];
    const prior: PriorResults = {};
    for (const type of ANALYSIS_TYPES) {
      let progressCalls = 0;
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const t = performance.now();
      const result = await analyzerFor(type).analyze({
        dir: root,
        files: walk.files,
        prior: { ...prior },
        onProgress: () => progressCalls++,
      });
      const ms = performance.now() - t;
      loop.disable();
      if (type !== 'recommendations') (prior as Record<string, unknown>)[type] = result;
      runs.push({
        type,
        ms: Math.round(ms),
        filesPerSec: Math.round(walk.files.length / (ms / 1000)),
        filesPerSecWithWalk: Math.round(walk.files.length / ((ms + walkMs) / 1000)),
        progressCalls,
        loopDelayP99Ms: Math.round(loop.percentile(99) / 1e6),
        loopDelayMaxMs: Math.round(loop.max / 1e6),
        resultBytes: Buffer.byteLength(JSON.stringify(result)),
      });
    }
    return {
      root,
      files: walk.files.length,
      bytes: walk.files.reduce((a, f) => a + f.size, 0),
      walkMs: Math.round(walkMs),
      truncated: walk.truncated,
      skipped: walk.skipped,
      runs,
      peakRssMb: Math.round(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20),
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    clearInterval(sampler);
  }
}

export function analysisReport(r: AnalysisBenchReport): string {
  const lines = [
    `analysis of ${r.root}: ${r.files} files, ${(r.bytes / 2 ** 20).toFixed(0)} MiB, walk ${r.walkMs} ms` +
      `${r.truncated ? ` (truncated: ${r.truncated})` : ''}; skipped ${JSON.stringify(r.skipped)}`,
    '| analyzer | ms | files/s | files/s incl. walk | progress calls | loop delay p99 / max | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.runs.map(
      (x) =>
        `| ${x.type} | ${x.ms} | ${x.filesPerSec} | ${x.filesPerSecWithWalk} | ${x.progressCalls} | ${x.loopDelayP99Ms} / ${x.loopDelayMaxMs} ms | ${(x.resultBytes / 1024).toFixed(0)} KiB |`,
    ),
    `peak RSS ${r.peakRssMb} MB (sampled), ${r.maxRssMb} MB (getrusage maxrss)`,
  ];
  return lines.join('\n');
}

/** One analysis step as the server ran it, read back from the event log. */
export interface ServerStepRun {
  type: string;
  ms: number;
  files: number;
  filesPerSec: number;
  progressEvents: number;
  /** Most progress events in any one second of the step (the coalescing allows ~10). */
  maxEventsPerSec: number;
}

export interface ServerAnalysisReport {
  root: string;
  totalMs: number;
  steps: ServerStepRun[];
  /** The server process's peak resident set (VmHWM): the whole app, not only the analysis. */
  serverPeakRssMb: number;
  serverRssBeforeMb: number;
}

function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/**
 * The same tree through the real server, as a user runs it: `POST /api/projects/:p/analyses` with all four
 * types, the built-in worker claims it, and the step timings and progress events are read back from the
 * project's event log, on SQLite (what `npm start` runs: the worker's writes are a few per second, so the
 * database is not what this measures).
 */
export async function runAnalysisThroughServer(): Promise<ServerAnalysisReport> {
  const repo = join(__dirname, '..', '..');
  const dbDir = mkdtempSync(join(tmpdir(), 'stepline-bench-analysis-'));
  const server = await startServer(`sqlite:${join(dbDir, 'bench.sqlite')}`, {
    ANALYSIS_ROOT: repo,
    WORKER_CONCURRENCY: '1',
  });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    const pid = server.proc.pid!;
    const rssBefore = procStatusMb(pid, 'VmRSS');
    const t0 = Date.now();
    const created = await api('POST', '/api/projects/bench-analysis/analyses', { path: 'node_modules' });
    if (created.status !== 202) throw new Error(`analysis refused: ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    let wf: any;
    for (;;) {
      wf = (await api('GET', `/api/workflows/${id}`)).body;
      if (['completed', 'failed', 'cancelled'].includes(wf.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const totalMs = Date.now() - t0;
    if (wf.status !== 'completed') throw new Error(`analysis ${wf.status}: ${JSON.stringify(wf.error)}`);
    const events: any[] = [];
    for (let after = 0; ;) {
      const page = (await api('GET', `/api/projects/bench-analysis/events?after=${after}&limit=1000`)).body;
      events.push(...page.items);
      if (page.items.length < 1000) break;
      after = page.items[page.items.length - 1].seq;
    }
    const steps = wf.steps.map((s: any): ServerStepRun => {
      const progress = events.filter((e) => e.stepId === s.id && e.type === 'workflow:step:progress');
      const perSecond = new Map<number, number>();
      for (const e of progress) {
        const sec = Math.floor(Date.parse(e.at) / 1000);
        perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
      }
      const ms = Date.parse(s.finishedAt) - Date.parse(s.startedAt);
      return {
        type: s.id,
        ms,
        files: s.total ?? 0,
        filesPerSec: Math.round((s.total ?? 0) / (ms / 1000)),
        progressEvents: progress.length,
        maxEventsPerSec: Math.max(0, ...perSecond.values()),
      };
    });
    return {
      root: join(repo, 'node_modules'),
      totalMs,
      steps,
      serverPeakRssMb: procStatusMb(pid, 'VmHWM'),
      serverRssBeforeMb: rssBefore,
    };
  } finally {
    await server.stop();
    rmSync(dbDir, { recursive: true, force: true });
  }
}

export function serverAnalysisReport(r: ServerAnalysisReport): string {
  return [
    `through the server (POST /analyses, built-in worker, all four types): ${(r.totalMs / 1000).toFixed(1)} s in all ` +
      `(walk included in the first step); server RSS ${r.serverRssBeforeMb} MB before, peak ${r.serverPeakRssMb} MB (VmHWM)`,
    '',
    '| step | ms | files | files/s | progress events | most in one second |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.steps.map(
      (s) =>
        `| ${s.type} | ${s.ms} | ${s.files} | ${s.filesPerSec} | ${s.progressEvents} | ${s.maxEventsPerSec} |`,
    ),
  ].join('\n');
}

if (require.main === module) {
  (async () => {
    console.log(analysisReport(await runAnalysisBench()));
    console.log(serverAnalysisReport(await runAnalysisThroughServer()));
  })().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
