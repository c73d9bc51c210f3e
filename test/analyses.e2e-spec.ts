import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { client, Client, createKey, expectStatus } from './support/http';
import { ServerFixture, useServer } from './support/fixture';
import {
  ack,
  closeAllSockets,
  metric,
  connectSocket,
  Envelope,
  restEvents,
  restEventsBeforeMarker,
  SocketCollector,
  waitFor,
} from './support/live-clients';
import { ADMIN_TOKEN } from './support/server';

/**
 * Project analyses (CONTRACT §7, §6 built-in workers) against the real server on the database of the run,
 * on fixture trees made here: each analyzer's result is exactly what the tree implies, progress arrives
 * live per step with rising `current` ending at `total`, a cancelled analysis stops, paths that escape
 * ANALYSIS_ROOT answer 400 and write nothing, and a symlink to a secret outside leaves no trace.
 */

const base = mkdtempSync(join(tmpdir(), 'stepline-analysis-'));
const ROOT = join(base, 'root');
const SECRET = 'SECRET-PASSWORD-12345';

function write(rel: string, content: string | Buffer): void {
  const file = join(ROOT, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

const files: Record<string, string> = {
  'fx/.gitignore': 'ignored/\n*.log\n',
  'fx/package.json': JSON.stringify({
    name: 'fx',
    dependencies: { express: '^4.18.2' },
    devDependencies: { jest: '29.7.0' },
  }),
  'fx/app/main.ts': [
    "import { helper } from '../lib/helper';",
    "import local from './local';",
    '// TODO: wire the config',
    'export const main = helper + local;',
    '',
  ].join('\n'),
  'fx/app/local.ts': 'export default 1; // FIXME broken on windows\n',
  'fx/lib/helper.ts': "import { main } from '../app/main';\nexport const helper = 2;\n",
  'fx/lib/util.js': "const local = require('../app/local');\nmodule.exports = local; // XXX remove\n",
  'fx/tools/run.py': 'from app import main\nimport lib.helper\n# HACK: temporary runner\n',
  'fx/tools/requirements.txt': 'requests==2.31.0\nflask>=2.0\n# a comment\nnumpy\n',
  // none of these may appear in any result
  'fx/ignored/hidden.ts': '// TODO: gitignored, must not be found\n',
  'fx/debug.log': '// TODO: gitignored by pattern\n',
  'fx/node_modules/dep/index.js': '// TODO: inside node_modules\n',
};

beforeAll(() => {
  for (const [rel, content] of Object.entries(files)) write(rel, content);
  write('fx/app/huge.ts', `// TODO: in a file over 1 MiB\n${'x'.repeat(1024 * 1024 + 10)}\n`);
  write('fx/app/logo.png', Buffer.concat([Buffer.from('// TODO: in a binary\n'), Buffer.alloc(64, 0)]));
  // outside ANALYSIS_ROOT: a secret, reachable only through symlinks inside the tree
  mkdirSync(join(base, 'outside'), { recursive: true });
  writeFileSync(join(base, 'outside', 'password.ts'), `// TODO: ${SECRET}\nimport '../app/main';\n`);
  symlinkSync(join(base, 'outside', 'password.ts'), join(ROOT, 'fx', 'app', 'leak.ts'));
  symlinkSync(join(base, 'outside'), join(ROOT, 'fx', 'linked'));
  symlinkSync(join(base, 'outside'), join(ROOT, 'escape'));
  // a tree big enough that an analysis is still running when it is cancelled
  for (let d = 0; d < 40; d++)
    for (let f = 0; f < 100; f++)
      write(`big/m${d}/f${f}.ts`, `// TODO: item ${f}\n${'const a = 1;\n'.repeat(200)}`);
  write('small/one.ts', '// FIXME: one\n');
});

afterAll(() => {
  closeAllSockets();
  rmSync(base, { recursive: true, force: true });
});

let api: Client;
let baseUrl: string;
useServer(
  ({ server, admin }) => {
    api = admin;
    baseUrl = server.url;
  },
  { ANALYSIS_ROOT: ROOT, WORKER_CONCURRENCY: '1' },
);

async function analyse(projectId: string, path: string, types?: string[]): Promise<any> {
  const res = await api.post(`/api/projects/${projectId}/analyses`, types ? { path, types } : { path });
  expectStatus(res, 202);
  return res.body;
}

async function finished(id: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    async () => {
      const res = await api.get(`/api/workflows/${id}`);
      return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
    },
    `analysis ${id} to finish`,
    { timeoutMs, intervalMs: 100 },
  );
}

const result = (wf: any, type: string) => wf.steps.find((s: any) => s.id === type).result;

describe('analyses (§7)', () => {
  let wf: any;
  let live: SocketCollector;

  beforeAll(async () => {
    const socket = await connectSocket(baseUrl, { token: ADMIN_TOKEN });
    live = new SocketCollector(socket);
    expect(await ack(socket, 'subscribe', { projectId: 'analysed' })).toMatchObject({ ok: true });
    const accepted = await analyse('analysed', 'fx');
    expect(accepted).toMatchObject({
      type: 'analysis',
      queue: 'analysis',
      status: 'queued',
      projectId: 'analysed',
    });
    expect(accepted.steps.map((s: any) => s.id)).toEqual([
      'issues',
      'techstack',
      'architecture',
      'recommendations',
    ]);
    wf = await finished(accepted.id);
  });

  it('completes every step', () => {
    expect(wf.status).toBe('completed');
    expect(wf.steps.map((s: any) => [s.id, s.status, s.progress])).toEqual([
      ['issues', 'completed', 100],
      ['techstack', 'completed', 100],
      ['architecture', 'completed', 100],
      ['recommendations', 'completed', 100],
    ]);
  });

  it('issues: every marker with its file, line and text, and nothing ignored, skipped or outside', () => {
    const r = result(wf, 'issues');
    expect(r.total).toBe(4);
    expect(r.items).toEqual([
      { file: 'app/local.ts', line: 1, kind: 'FIXME', text: 'broken on windows' },
      { file: 'app/main.ts', line: 3, kind: 'TODO', text: 'wire the config' },
      { file: 'lib/util.js', line: 2, kind: 'XXX', text: 'remove' },
      { file: 'tools/run.py', line: 3, kind: 'HACK', text: 'temporary runner' },
    ]);
  });

  it('techstack: languages by files and bytes, and each manifest with its declared dependencies', () => {
    const r = result(wf, 'techstack');
    const lang = (name: string) => r.languages.find((l: any) => l.name === name);
    const bytes = (...rels: string[]) =>
      rels.reduce((n, rel) => n + Buffer.byteLength(files[`fx/${rel}`]), 0);
    // huge.ts is over 1 MiB: never examined; logo.png is binary: no language, never read as text
    expect(lang('TypeScript')).toEqual({
      name: 'TypeScript',
      files: 3,
      bytes: bytes('app/main.ts', 'app/local.ts', 'lib/helper.ts'),
    });
    expect(lang('JavaScript')).toEqual({ name: 'JavaScript', files: 1, bytes: bytes('lib/util.js') });
    expect(lang('Python')).toEqual({ name: 'Python', files: 1, bytes: bytes('tools/run.py') });
    const manifests = [...r.manifests].sort((a: any, b: any) => a.file.localeCompare(b.file));
    expect(manifests).toEqual([
      {
        file: 'package.json',
        ecosystem: 'npm',
        dependencies: expect.arrayContaining([
          { name: 'express', version: '^4.18.2' },
          { name: 'jest', version: '29.7.0' },
        ]),
      },
      {
        file: 'tools/requirements.txt',
        ecosystem: 'pypi',
        dependencies: [
          { name: 'requests', version: '==2.31.0' },
          { name: 'flask', version: '>=2.0' },
          { name: 'numpy', version: null },
        ],
      },
    ]);
    expect(manifests[0].dependencies).toHaveLength(2);
  });

  it('architecture: top-level modules, import edges with counts, and the cycle', () => {
    const r = result(wf, 'architecture');
    const byName = Object.fromEntries(r.modules.map((m: any) => [m.name, m.files]));
    // every examined file counts, the binary logo.png too; the symlink and the huge file are not examined
    expect(byName).toMatchObject({ app: 3, lib: 2, tools: 2 });
    expect(byName).not.toHaveProperty('linked');
    expect(byName).not.toHaveProperty('ignored');
    expect(byName).not.toHaveProperty('node_modules');
    const edges = [...r.edges].sort((a: any, b: any) =>
      `${a.from}>${a.to}`.localeCompare(`${b.from}>${b.to}`),
    );
    expect(edges).toEqual([
      { from: 'app', to: 'lib', imports: 1 },
      { from: 'lib', to: 'app', imports: 2 },
      { from: 'tools', to: 'app', imports: 1 },
      { from: 'tools', to: 'lib', imports: 1 },
    ]);
    expect(r.cycles).toEqual([['app', 'lib']]);
  });

  it('recommendations: derived from the other results, each with a reason', () => {
    const r = result(wf, 'recommendations');
    expect(r.items.length).toBeGreaterThan(0);
    for (const item of r.items) {
      expect(typeof item.title).toBe('string');
      expect(item.reason.length).toBeGreaterThan(0);
      expect(['info', 'warning', 'critical']).toContain(item.severity);
    }
    const text = JSON.stringify(r.items);
    expect(text).toMatch(/cycle/i); // app ↔ lib
    expect(text).toMatch(/\bapp\b/);
  });

  it('a symlink to a secret outside leaves no trace in any result, log or event', async () => {
    const events = await restEvents(api, 'analysed');
    const logs = await api.get(`/api/workflows/${wf.id}/logs`);
    for (const text of [JSON.stringify(wf), JSON.stringify(events), JSON.stringify(logs.body)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('leak.ts');
      expect(text).not.toContain('password');
    }
  });

  it('progress events arrive live for each step, rising, ending with current = total', async () => {
    await waitFor(
      () => live.envelopes.some((e) => e.workflowId === wf.id && e.type === 'workflow:completed'),
      'workflow:completed on the socket',
    );
    const mine = live.envelopes.filter((e: Envelope) => e.workflowId === wf.id);
    for (const step of ['issues', 'techstack', 'architecture', 'recommendations']) {
      const progress = mine
        .filter((e) => e.type === 'workflow:step:progress' && e.stepId === step)
        .map((e) => e.data as { current: number; total: number });
      expect(progress.length).toBeGreaterThan(0);
      for (let i = 1; i < progress.length; i++)
        expect(progress[i].current).toBeGreaterThan(progress[i - 1].current);
      const last = progress[progress.length - 1];
      expect(last.current).toBe(last.total);
      expect(last.total).toBeGreaterThan(0);
      const completed = mine.find((e) => e.type === 'workflow:step:completed' && e.stepId === step)!;
      expect(completed.data).toMatchObject({ status: 'completed', current: last.total, total: last.total });
    }
  });

  it('only the requested types become steps, in canonical order', async () => {
    const accepted = await analyse('analysed', 'fx', ['architecture', 'issues']);
    expect(accepted.steps.map((s: any) => s.id)).toEqual(['issues', 'architecture']);
    const done = await finished(accepted.id);
    expect(done.status).toBe('completed');
    expect(result(done, 'issues').total).toBe(4);
  });
});

describe('a cancelled analysis stops', () => {
  it('stops the running analyzer, writes nothing more, and the worker takes the next analysis', async () => {
    const examined = async () => {
      let sum = 0;
      for (const type of ['issues', 'techstack', 'architecture', 'recommendations'])
        sum += (await metric(baseUrl, 'stepline_analysis_files_examined_total', `{type="${type}"}`)) ?? 0;
      return sum;
    };
    const before = await examined();
    const accepted = await analyse('cancelling', 'big');
    const progressed = await waitFor(
      async () => {
        const steps = await api.get('/api/projects/cancelling/analysis-steps');
        return steps.body.items.find((s: any) => s.status === 'running' && s.current > 0);
      },
      'the first step to report progress',
      { timeoutMs: 30_000 },
    );
    expect(progressed).toMatchObject({ workflowId: accepted.id, type: progressed.stepId, total: 4000 });
    expectStatus(await api.post(`/api/workflows/${accepted.id}/cancel`, { reason: 'enough' }), 200);

    // WORKER_CONCURRENCY is 1: the next analysis completes only once the cancelled one has let go
    const next = await analyse('cancelling', 'small', ['issues']);
    const done = await finished(next.id);
    expect(done.status).toBe('completed');
    expect(result(done, 'issues').items).toEqual([{ file: 'one.ts', line: 1, kind: 'FIXME', text: 'one' }]);
    // the cancelled analysis stopped where it was: run to the end its four steps examine 4 × 4,000 files
    const examinedByBoth = (await examined()) - before;
    expect(examinedByBoth - 1).toBeLessThan(4 * 4000);

    const events = (await restEvents(api, 'cancelling')).filter((e) => e.workflowId === accepted.id);
    expect(events[events.length - 1].type).toBe('workflow:cancelled');
    const cancelled = await api.get(`/api/workflows/${accepted.id}`);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.steps.filter((s: any) => s.status === 'completed').length).toBeLessThan(4);
    expect((await api.get('/api/projects/cancelling/analysis-steps')).body.items).toEqual([]);
  });
});

describe('a restart in the middle of an analysis', () => {
  let fx: ServerFixture;
  useServer((f) => (fx = f), { ANALYSIS_ROOT: ROOT, WORKER_CONCURRENCY: '1' });

  it('gives the lease back on SIGTERM, and the next instance runs the analysis to the end as attempt 2', async () => {
    const first = fx.admin;
    const created = await first.post('/api/projects/restarting/analyses', {
      path: 'big',
      types: ['issues'],
    });
    expectStatus(created, 202);
    await waitFor(
      async () => (await first.get(`/api/workflows/${created.body.id}`)).body.steps[0].current > 0,
      'the issues step to report progress',
      { timeoutMs: 30_000 },
    );
    await fx.restart(); // SIGTERM: the pool aborts the analyzer and releases its lease
    const again = fx.admin;
    const done = await waitFor(
      async () => {
        const wf = (await again.get(`/api/workflows/${created.body.id}`)).body;
        return wf.status === 'completed' ? wf : undefined;
      },
      'the analysis to complete on the new instance',
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(done.attempt).toBe(2);
    expect(result(done, 'issues').total).toBe(4000);
    const types = (await restEvents(again, 'restarting')).map((e) => e.type);
    expect(types).toContain('workflow:requeued');
    expect(types[types.length - 1]).toBe('workflow:completed');
  });
});

describe('analysis-steps (§7)', () => {
  it('lists the active steps of the project, filters by status, and validates the filter', async () => {
    const accepted = await analyse('listing', 'small');
    const active = await api.get('/api/projects/listing/analysis-steps?status=pending,running');
    expectStatus(active, 200);
    for (const item of active.body.items) {
      expect(Object.keys(item).sort()).toEqual(
        ['current', 'progress', 'startedAt', 'status', 'stepId', 'total', 'type', 'workflowId'].sort(),
      );
      expect(['pending', 'running']).toContain(item.status);
    }
    await finished(accepted.id);
    expect((await api.get('/api/projects/listing/analysis-steps')).body.items).toEqual([]);
    const completed = await api.get('/api/projects/listing/analysis-steps?status=completed');
    expect(completed.body.items.map((s: any) => s.stepId)).toEqual([
      'issues',
      'techstack',
      'architecture',
      'recommendations',
    ]);
    expect(completed.body.items[0]).toMatchObject({ workflowId: accepted.id, type: 'issues', progress: 100 });
    expect(completed.body.items[0].startedAt).toEqual(expect.any(String));
    expectStatus(
      await api.get('/api/projects/listing/analysis-steps?status=bogus'),
      400,
      'validation_failed',
    );
    // a workflow created through §2 that happens to have type "analysis": only analysis steps are listed
    const lookalike = await api.post('/api/projects/listing/workflows', {
      type: 'analysis',
      steps: [{ id: 'bogus' }, { id: 'issues' }],
    });
    expectStatus(lookalike, 201);
    const pending = await api.get('/api/projects/listing/analysis-steps?status=pending');
    expect(pending.body.items.map((s: any) => [s.workflowId, s.stepId])).toEqual([
      [lookalike.body.id, 'issues'],
    ]);
  });

  it('is scoped to the key: another project answers 403, a viewer of the project can read', async () => {
    const viewer = client(baseUrl, await createKey(api, 'viewer', ['listing']));
    expectStatus(await viewer.get('/api/projects/listing/analysis-steps'), 200);
    expectStatus(await viewer.get('/api/projects/other/analysis-steps'), 403, 'forbidden');
    expectStatus(await viewer.post('/api/projects/listing/analyses', { path: 'small' }), 403, 'forbidden');
  });
});

describe('path safety and validation: 400, nothing written', () => {
  it.each([
    ['a parent escape', '../outside'],
    ['a nested parent escape', 'fx/../../outside'],
    ['an absolute path', join(base, 'outside')],
    ['an absolute path inside the root', join(ROOT, 'fx')],
    ['a symlink that leads outside', 'escape'],
    ['a symlinked directory inside the tree that leads outside', 'fx/linked'],
    ['a directory that does not exist', 'nope'],
    ['a file, not a directory', 'fx/package.json'],
  ])('%s', async (_what, path) => {
    const before = await restEvents(api, 'guarded');
    const res = await api.post('/api/projects/guarded/analyses', { path });
    expectStatus(res, 400, 'validation_failed');
    expect(res.body.details).toEqual([{ field: 'path', message: expect.any(String) }]);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(await restEvents(api, 'guarded')).toEqual(before);
  });

  it.each([
    ['no path', {}],
    ['an unknown type', { path: 'fx', types: ['issues', 'bogus'] }],
    ['an empty types list', { path: 'fx', types: [] }],
    ['a repeated type', { path: 'fx', types: ['issues', 'issues'] }],
    ['an unknown field', { path: 'fx', deep: true }],
  ])('%s', async (_what, body) => {
    const res = await api.post('/api/projects/guarded/analyses', body);
    expectStatus(res, 400, 'validation_failed');
    expect((await api.get('/api/projects/guarded/workflows')).body.items).toEqual([]);
  });

  it('nothing was read while refusing: no workflow, no event in the project', async () => {
    // up to a marker written now: any write of the refused requests would be in the log before it
    expect(await restEventsBeforeMarker(api, 'guarded')).toEqual([]);
  });
});
