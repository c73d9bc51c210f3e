import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, expectStatus } from './support/http';
import { useServer } from './support/fixture';
import { sleep } from './support/live-clients';

/**
 * CONTRACT §10 "No input stalls the service", against the real server: an analysis over files crafted to make
 * the old regular expressions take seconds (60,000 dots after `from`, a 480 KB pom.xml of unclosed
 * <dependency>, …) and over a file that takes the architecture analyzer longer than its per-file budget even in
 * linear time (1 MiB of Python imports), or a .gitignore rule that is slow on a deep path, keeps `/health` answering within 250 ms the whole time; the file over
 * budget is cut short, left out and named in the step's first log line; every other file is analysed as usual.
 * The budget is ANALYSIS_FILE_BUDGET_MS=250 here (1 s by default) so that the slow file overruns it by far.
 */

const MiB = 1024 * 1024;
const BUDGET_MS = 250;
/** The budget of the analysis of the slow file alone: a fifth of what that file takes on a quiet machine. */
const SLOW_BUDGET_MS = 20;
const HEALTH_LIMIT_MS = 250;

const base = mkdtempSync(join(tmpdir(), 'stepline-hardening-'));
const ROOT = join(base, 'root');

function write(rel: string, content: string): void {
  const file = join(ROOT, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

const fill = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length));

beforeAll(() => {
  // ordinary files: what the result must hold
  write('t/package.json', JSON.stringify({ dependencies: { express: '^4.18.2' } }));
  write(
    't/app/main.ts',
    "import { helper } from '../lib/helper';\n// TODO: wire the config\nexport const x = helper;\n",
  );
  write('t/lib/helper.ts', 'export const helper = 2; // FIXME: rounding\n');
  write('t/a/mod.py', 'VALUE = 1\n');
  // crafted against the old patterns (each took the event loop seconds to minutes)
  write('t/py/dots.py', `from ${'.'.repeat(60_000)}\nimport os\n`);
  write('t/java/pom.xml', '<project>' + '<dependency>'.repeat(40_000));
  write('t/gems/Gemfile', 'gem' + ' '.repeat(256 * 1024) + 'x');
  write('t/go/go.mod', '//'.repeat(64 * 1024) + '\rx');
  write('t/deps/requirements.txt', 'a'.repeat(256 * 1024) + '!\rb');
  // a .gitignore rule the ignore package turns into a regular expression that takes seconds on a deep path
  write('t/deep/.gitignore', 'a/**/a/**/a/**/a/**/a/**/a/**/b\n');
  write(`t/deep/${'a/'.repeat(50)}c.txt`, 'x\n');
  // slow in linear time too: 1 MiB of relative imports (of module `a`) takes the architecture analyzer about
  // 100 ms even on a quiet machine, 5× the SLOW_BUDGET_MS its own analysis runs with (below); were it not cut
  // short, the edge slow → a would appear. Its tree holds nothing else that imports, so a tiny file that a
  // loaded machine happened to pause on could not change what the test reads.
  write('s/slow/big.py', fill('from ..a import (b, c)\n', MiB - 64));
  write('s/a/mod.py', 'VALUE = 1\n');
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

let api: Client;
let url: string;
useServer(
  ({ server, admin }) => {
    api = admin;
    url = server.url;
  },
  { ANALYSIS_ROOT: ROOT, ANALYSIS_FILE_BUDGET_MS: String(BUDGET_MS) },
);

/** Polls /health back to back until `done` says so; every answer's time. */
async function healthWhile(done: () => Promise<boolean>): Promise<number[]> {
  const times: number[] = [];
  let lastCheck = 0;
  for (;;) {
    const t0 = performance.now();
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    expect(res.status).toBe(200);
    if (performance.now() - lastCheck > 200) {
      lastCheck = performance.now();
      if (await done()) return times;
    }
    await sleep(10);
  }
}

describe('no input stalls the service (§10)', () => {
  let wf: any;
  let health: number[];

  beforeAll(async () => {
    const created = await api.post('/api/projects/hardening/analyses', { path: 't' });
    expectStatus(created, 202);
    const deadline = Date.now() + 120_000;
    health = await healthWhile(async () => {
      if (Date.now() > deadline) throw new Error('the analysis did not finish in 120 s');
      wf = (await api.get(`/api/workflows/${created.body.id}`)).body;
      return ['completed', 'failed', 'cancelled'].includes(wf.status);
    });
  }, 180_000);

  const result = (type: string) => wf.steps.find((s: any) => s.id === type).result;

  it('/health answered within 250 ms the whole time the analysis ran', () => {
    expect(wf.status).toBe('completed');
    expect(health.length).toBeGreaterThan(5); // the analysis ran long enough to be watched
    expect(health.map((ms, i) => [i, Math.round(ms)]).filter(([, ms]) => ms >= HEALTH_LIMIT_MS)).toEqual([]);
  });

  it('the ordinary files are analysed as usual, the crafted manifests listed without dependencies', () => {
    expect(result('issues')).toEqual({
      items: [
        { file: 'app/main.ts', line: 2, kind: 'TODO', text: 'wire the config' },
        { file: 'lib/helper.ts', line: 1, kind: 'FIXME', text: 'rounding' },
      ],
      total: 2,
    });
    expect(result('techstack').manifests).toEqual([
      { file: 'deps/requirements.txt', ecosystem: 'pypi', dependencies: [] },
      { file: 'gems/Gemfile', ecosystem: 'rubygems', dependencies: [] },
      { file: 'go/go.mod', ecosystem: 'go', dependencies: [] },
      { file: 'java/pom.xml', ecosystem: 'maven', dependencies: [] },
      { file: 'package.json', ecosystem: 'npm', dependencies: [{ name: 'express', version: '^4.18.2' }] },
    ]);
    expect(result('techstack').languages).toEqual(
      expect.arrayContaining([{ name: 'Python', files: 2, bytes: expect.any(Number) }]),
    );
  });

  it('every ordinary file stays within the budget: the architecture is whole, nothing is cut short', async () => {
    const arch = result('architecture');
    expect(arch.modules.map((m: any) => m.name)).toEqual([
      'a',
      'app',
      'deep',
      'deps',
      'gems',
      'go',
      'java',
      'lib',
      'py',
    ]);
    expect(arch.edges).toEqual([{ from: 'app', to: 'lib', imports: 1 }]);
    const logs = (await api.get(`/api/workflows/${wf.id}/logs?limit=1000`)).body.items;
    expect(logs.filter((l: any) => l.level === 'warning')).toEqual([]);
  });
});

describe('a file over the per-file budget (§10: each file costs an analyzer at most its budget)', () => {
  let api2: Client;
  useServer(
    ({ admin }) => {
      api2 = admin;
    },
    { ANALYSIS_ROOT: ROOT, ANALYSIS_FILE_BUDGET_MS: String(SLOW_BUDGET_MS) },
  );
  let wf: any;
  beforeAll(async () => {
    const created = await api2.post('/api/projects/hardening/analyses', {
      path: 's',
      types: ['architecture'],
    });
    expectStatus(created, 202);
    const deadline = Date.now() + 120_000;
    for (;;) {
      wf = (await api2.get(`/api/workflows/${created.body.id}`)).body;
      if (['completed', 'failed', 'cancelled'].includes(wf.status)) break;
      if (Date.now() > deadline) throw new Error('the analysis did not finish in 120 s');
      await sleep(100);
    }
  }, 180_000);

  it('is left out of the result: no edge from it', () => {
    expect(wf.status).toBe('completed');
    const arch = wf.steps.find((s: any) => s.id === 'architecture').result;
    expect(arch.modules.map((m: any) => m.name)).toEqual(['a', 'slow']);
    expect(arch.edges).toEqual([]);
  });

  it("is named in the step's first log line, a warning", async () => {
    const logs = (await api2.get(`/api/workflows/${wf.id}/logs?limit=1000`)).body.items;
    const first = logs.find((l: any) => l.stepId === 'architecture');
    expect(first).toMatchObject({
      level: 'warning',
      message: expect.stringContaining('slow/big.py'),
      details: { cutShort: expect.arrayContaining(['slow/big.py']), budgetMs: SLOW_BUDGET_MS },
    });
    expect(first.details.count).toBe(first.details.cutShort.length);
  });
});
