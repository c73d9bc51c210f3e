import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fmt, ms } from './common';
import { ADMIN_TOKEN, startServer } from './server';
import { Latencies } from './stats';

/**
 * `/health` while an analysis runs over crafted files (CONTRACT §10: no input stalls the service). A tree of
 * 200 ordinary source files plus inputs crafted against the analyzers' old regular expressions (60,000 dots
 * after `from`, a 480 KB pom.xml of unclosed <dependency>, whitespace runs and lone CRs in Gemfile, go.mod and
 * requirements.txt, a .gitignore rule that takes seconds on a 50-deep path) and a file that costs the architecture analyzer about a second even in linear time (1 MiB
 * of Python relative imports). The server runs with its defaults (1 s budget per file, the default threads);
 * the bench polls `/health` back to back (one request in flight, 5 ms apart) from POST to completion, and for
 * as long again with no analysis, as the reference.
 *
 *   STALL_RUNS=3: analyses run one after the other (the latencies of all go into one histogram)
 * Run alone: `node <outDir>/bench/stall.js`.
 */
export interface StallReport {
  runs: number;
  analysisMs: number[];
  /** Files the server cut short (over budget), per run. */
  cutShort: string[][];
  during: { count: number; p50: number; p99: number; max: number };
  idle: { count: number; p50: number; p99: number; max: number };
}

const MiB = 1024 * 1024;

function craftTree(root: string): void {
  const write = (rel: string, content: string) => {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  for (let m = 0; m < 10; m++)
    for (let f = 0; f < 20; f++)
      write(
        `src${m}/f${f}.ts`,
        `import { x } from '../src${(m + 1) % 10}/f${f}';\n// TODO: item ${f}\n${'export const a = 1;\n'.repeat(50)}`,
      );
  write('py/dots.py', `from ${'.'.repeat(60_000)}\nimport os\n`);
  write('java/pom.xml', '<project>' + '<dependency>'.repeat(40_000));
  write('gems/Gemfile', 'gem' + ' '.repeat(256 * 1024) + 'x');
  write('go/go.mod', '//'.repeat(64 * 1024) + '\rx');
  write('deps/requirements.txt', 'a'.repeat(256 * 1024) + '!\rb');
  write('deep/.gitignore', 'a/**/a/**/a/**/a/**/a/**/a/**/b\n');
  write(`deep/${'a/'.repeat(50)}c.txt`, 'x\n');
  const unit = 'from ..src0 import (b, c)\n';
  write('slow/big.py', unit.repeat(Math.floor((MiB - 64) / unit.length)));
}

async function poll(url: string, lat: Latencies, until: () => boolean | Promise<boolean>): Promise<void> {
  let lastCheck = 0;
  for (;;) {
    const t0 = performance.now();
    const res = await fetch(`${url}/health`);
    await res.arrayBuffer();
    lat.add(performance.now() - t0);
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
    if (performance.now() - lastCheck > 100) {
      lastCheck = performance.now();
      if (await until()) return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const summary = (l: Latencies) => {
  const [p50, p99, max] = l.percentiles(50, 99, 100);
  return { count: l.count, p50, p99, max };
};

export async function runStall(runs = Number(process.env.STALL_RUNS ?? 3)): Promise<StallReport> {
  const dir = mkdtempSync(join(tmpdir(), 'stepline-bench-stall-'));
  const root = join(dir, 'root');
  craftTree(root);
  const server = await startServer(`sqlite:${join(dir, 'bench.sqlite')}`, { ANALYSIS_ROOT: root });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    const during = new Latencies();
    const analysisMs: number[] = [];
    const cutShort: string[][] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const created = await api('POST', '/api/projects/bench-stall/analyses', { path: '.' });
      if (created.status !== 202) throw new Error(`analysis refused: ${JSON.stringify(created.body)}`);
      const id = created.body.id as string;
      let wf: any;
      await poll(server.url, during, async () => {
        wf = (await api('GET', `/api/workflows/${id}`)).body;
        return ['completed', 'failed', 'cancelled'].includes(wf.status);
      });
      analysisMs.push(performance.now() - t0);
      if (wf.status !== 'completed') throw new Error(`analysis ${wf.status}: ${JSON.stringify(wf.error)}`);
      const logs = (await api('GET', `/api/workflows/${id}/logs?limit=1000`)).body.items as any[];
      cutShort.push(logs.flatMap((l) => (l.level === 'warning' ? (l.details?.cutShort ?? []) : [])));
    }
    const idle = new Latencies();
    const idleUntil = performance.now() + analysisMs.reduce((a, b) => a + b, 0);
    await poll(server.url, idle, () => performance.now() > idleUntil);
    return { runs, analysisMs, cutShort, during: summary(during), idle: summary(idle) };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function stallReport(r: StallReport): string {
  const row = (what: string, s: StallReport['during']) =>
    `| ${what} | ${fmt(s.count)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} |`;
  const cut = [...new Set(r.cutShort.flat())];
  return [
    '## No input stalls the service (§10)',
    '',
    `\`GET /health\` polled back to back (one in flight, 5 ms apart) during ${r.runs} analyses (all four types) of ` +
      'a tree of 200 ordinary files plus crafted ones (60,000 dots after `from`, a 480 KB pom.xml of unclosed ' +
      '<dependency>, whitespace runs and lone CRs in Gemfile, go.mod, requirements.txt, a .gitignore rule slow on a ' +
      '50-deep path, and 1 MiB of Python imports), ' +
      `default budget and threads; then as long again with no analysis. Analyses took ${r.analysisMs
        .map((x) => `${fmt(x / 1000, 1)} s`)
        .join(', ')}; cut short: ${cut.length ? cut.join(', ') : 'none'} ` +
      `(${r.cutShort.map((c) => c.length).join(', ')} per run).`,
    '',
    '| /health | answers | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('during the analyses', r.during),
    row('idle server', r.idle),
    '',
  ].join('\n');
}

if (require.main === module) {
  void (async () => {
    console.log(stallReport(await runStall()));
  })().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
