import { Stepline, type Workflow } from '@stepline/client';
import { useProjectWorkflows, useWorkflow, type LiveResult } from '@stepline/client/react';
import { createElement } from 'react';
import { create, type ReactTestRenderer } from 'react-test-renderer';
import { useServer, type ServerFixture } from './support/fixture';
import { ADMIN_TOKEN } from './support/server';

/**
 * CONTRACT §16, React: `useWorkflow` and `useProjectWorkflows` rendered with React's own test renderer,
 * against the real server and the real client (no mocks): loading → live, updates as the producer writes,
 * filters, a 404, and reconnecting → live across a server restart with nothing missed.
 */

// React renders on its own scheduler here, as in an app: the updates the sockets cause are not wrapped in act()
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;

// react-test-renderer still works in React 19 but says once per render that it is deprecated: that line only
const consoleError = console.error.bind(console);
beforeAll(() => {
  jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('react-test-renderer is deprecated')) return;
    consoleError(...args);
  });
});
afterAll(() => jest.restoreAllMocks());

/** Every renderer a test mounts is unmounted after it, even when the test fails (its sockets would keep jest alive). */
const mounted = new Set<ReactTestRenderer>();
afterEach(() => {
  for (const r of mounted) r.unmount();
  mounted.clear();
});

/** Renders a hook and records every result it returned. */
function renderHook<T>(hook: () => LiveResult<T>) {
  const seen: LiveResult<T>[] = [];
  function Probe() {
    const r = hook();
    seen.push(r);
    return null;
  }
  let root!: ReactTestRenderer;
  return {
    seen,
    last: () => seen[seen.length - 1],
    mount: async () => {
      root = create(createElement(Probe));
      mounted.add(root);
      await until(() => seen.length > 0, 'the first render');
    },
    unmount: () => {
      mounted.delete(root);
      root.unmount();
    },
  };
}

/** Polls `probe` (what the component rendered last) until it holds. */
async function until<T>(probe: () => T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 25));
  }
}

describe('@stepline/client/react hooks (§16)', () => {
  let fx: ServerFixture;
  let sl: Stepline;
  useServer((f) => {
    fx = f;
    sl = new Stepline({ baseUrl: f.server.url, token: ADMIN_TOKEN, retry: { maxDelayMs: 300 } });
  });

  it('useWorkflow: loading, then live, following every write', async () => {
    const wf = await sl.createWorkflow('react', { type: 't', steps: [{ id: 'a' }, { id: 'b', weight: 3 }] });
    const h = renderHook(() => useWorkflow(sl, wf.id));
    await h.mount();
    expect(h.seen[0]).toEqual({ data: undefined, status: 'loading', error: undefined });
    await until(() => h.last().status === 'live', 'live');
    expect(h.last().data).toEqual(wf.data);

    await wf.step('a').start();
    await wf.step('a').progress({ current: 3, total: 4, message: 'three of four' });
    await until(() => h.last().data?.steps[0].current === 3, 'the progress');
    expect(h.last().data).toMatchObject({
      status: 'running',
      progress: 18, // floor(75·1 / 4)
      steps: [
        { status: 'running', progress: 75, current: 3, total: 4, message: 'three of four' },
        { status: 'pending' },
      ],
    });

    await wf.step('a').complete({ result: { n: 4 } });
    const final = await wf.step('b').complete();
    await until(() => h.last().data?.status === 'completed', 'completion');
    const shown = h.last().data!;
    // what the hook shows equals what the server answers, for everything the events carry
    const strip = (w: Workflow) => ({
      ...w,
      updatedAt: undefined,
      startedAt: undefined,
      finishedAt: undefined,
      eta: undefined,
      steps: w.steps.map((s) => ({
        ...s,
        startedAt: undefined,
        finishedAt: undefined,
        durationMs: undefined,
      })),
    });
    expect(strip(shown)).toEqual(strip(final));
    expect(shown.lastSeq).toBe(final.lastSeq);
    h.unmount();
  });

  it('useWorkflow of an unknown id: offline with the not_found error', async () => {
    const h = renderHook(() => useWorkflow(sl, 'no-such-workflow'));
    await h.mount();
    await until(() => h.last().error, 'the error');
    expect(h.last()).toMatchObject({
      data: undefined,
      status: 'offline',
      error: { status: 404, code: 'not_found' },
    });
    h.unmount();
  });

  it('useProjectWorkflows: newest first, live; a status filter adds and drops workflows as they move', async () => {
    const a = await sl.createWorkflow('list', { type: 't', steps: [{ id: 's' }] });
    const all = renderHook(() => useProjectWorkflows(sl, 'list'));
    const running = renderHook(() => useProjectWorkflows(sl, 'list', { status: 'running' }));
    await all.mount();
    await running.mount();
    await until(() => all.last().status === 'live' && running.last().status === 'live', 'live');
    expect(all.last().data!.map((w) => w.id)).toEqual([a.id]);
    expect(running.last().data).toEqual([]);

    const b = await sl.createWorkflow('list', { type: 't', steps: [{ id: 's' }] });
    await until(() => all.last().data!.length === 2, 'b in the list');
    expect(all.last().data!.map((w) => w.id)).toEqual([b.id, a.id]);

    await a.step('s').progress({ progress: 10 });
    await until(() => running.last().data!.length === 1, 'a to show as running');
    expect(running.last().data![0]).toMatchObject({ id: a.id, status: 'running' });
    await a.step('s').progress({ progress: 70 });
    await until(() => running.last().data![0]?.progress === 70, 'a at 70');

    await a.step('s').complete();
    await until(() => running.last().data!.length === 0, 'a to leave the running list');
    await until(
      () => all.last().data!.find((w) => w.id === a.id)?.status === 'completed',
      'a completed in all',
    );
    all.unmount();
    running.unmount();
  });

  it('reconnecting while the server is down, then live again with what happened meanwhile', async () => {
    const wf = await sl.createWorkflow('restart', { type: 't', steps: [{ id: 's' }] });
    const one = renderHook(() => useWorkflow(sl, wf.id));
    const list = renderHook(() => useProjectWorkflows(sl, 'restart'));
    await one.mount();
    await list.mount();
    await until(() => one.last().status === 'live' && list.last().status === 'live', 'live');

    await fx.server.kill();
    await until(() => one.last().status !== 'live' && list.last().status !== 'live', 'the hooks to notice');
    expect(['reconnecting', 'offline']).toContain(one.last().status);
    await fx.restart({ crash: true }); // the same port and database
    // a write right after the restart, possibly before the sockets are back: they must not miss it
    await wf.step('s').progress({ progress: 55 });
    await until(
      () => one.last().status === 'live' && one.last().data?.progress === 55,
      'the workflow hook back and current',
      20_000,
    );
    await until(
      () => list.last().status === 'live' && list.last().data?.[0]?.progress === 55,
      'the list hook back and current',
      20_000,
    );
    expect(one.seen.map((r) => r.status)).toContain('reconnecting');
    one.unmount();
    list.unmount();
  });
});
