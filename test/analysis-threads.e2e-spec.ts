import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, expectStatus } from './support/http';
import { useServer } from './support/fixture';
import { metric, waitFor } from './support/live-clients';

/**
 * The analysis threads are started on demand and exit once idle for ANALYSIS_THREAD_IDLE_MS (a thread holds
 * memory the idle server does not need): none at boot, some while an analysis runs, none again after the
 * idle time, and back for the next analysis, which still gives the right languages (the language table is
 * built on the thread, not on the server's main thread). Read through the gauge `stepline_analysis_threads`.
 */

const ROOT = mkdtempSync(join(tmpdir(), 'stepline-threads-'));
const IDLE_MS = 1500;

function write(rel: string, content: string): void {
  const file = join(ROOT, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

beforeAll(() => {
  write('tree/src/main.ts', "import { x } from './x';\nexport const y = x; // TODO: one\n");
  write('tree/src/x.ts', 'export const x = 1;\n');
  write('tree/tool.py', 'print(1)\n');
  write('tree/README.md', '# readme\n');
});

afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

let api: Client;
let baseUrl: string;
useServer(
  ({ server, admin }) => {
    api = admin;
    baseUrl = server.url;
  },
  { ANALYSIS_ROOT: ROOT, WORKER_CONCURRENCY: '1', ANALYSIS_THREAD_IDLE_MS: String(IDLE_MS) },
);

const threads = async (): Promise<number> => {
  const n = await metric(baseUrl, 'stepline_analysis_threads');
  if (n === undefined) throw new Error('no stepline_analysis_threads gauge in /metrics');
  return n;
};

async function analyse(projectId: string): Promise<any> {
  const res = await api.post(`/api/projects/${projectId}/analyses`, { path: 'tree', types: ['techstack'] });
  expectStatus(res, 202);
  return waitFor(
    async () => {
      const wf = await api.get(`/api/workflows/${res.body.id}`);
      return ['completed', 'failed', 'cancelled'].includes(wf.body.status) ? wf.body : undefined;
    },
    'the analysis to finish',
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

const languages = (wf: any) =>
  wf.steps
    .find((s: any) => s.id === 'techstack')
    .result.languages.map((l: any) => [l.name, l.files])
    .sort();

describe('analysis threads (ANALYSIS_THREAD_IDLE_MS)', () => {
  it('none at boot; started by an analysis; gone after the idle time; back for the next analysis', async () => {
    expect(await threads()).toBe(0);

    const first = await analyse('threads-a');
    expect(first.status).toBe('completed');
    expect(languages(first)).toEqual([
      ['Python', 1],
      ['TypeScript', 2],
    ]);
    // the thread that ran it is still there right after (the idle time is longer than this read)
    expect(await threads()).toBeGreaterThan(0);

    await waitFor(async () => (await threads()) === 0, 'the idle analysis threads to exit', {
      timeoutMs: IDLE_MS + 20_000,
      intervalMs: 100,
    });

    const second = await analyse('threads-b');
    expect(second.status).toBe('completed');
    expect(languages(second)).toEqual(languages(first));
    expect(await threads()).toBeGreaterThan(0);
    await waitFor(async () => (await threads()) === 0, 'the idle analysis threads to exit again', {
      timeoutMs: IDLE_MS + 20_000,
      intervalMs: 100,
    });
  });
});
