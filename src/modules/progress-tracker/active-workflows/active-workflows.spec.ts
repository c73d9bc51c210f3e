import type { EventEnvelope, EventType } from '../../workflows/domain/workflow.events';
import type { WorkflowState } from '../../workflows/domain/workflow.types';
import { ActiveWorkflow, ActiveWorkflows, snapshotOf } from './active-workflows';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const ETA = {
  remainingMs: 1000,
  finishAt: new Date(T0 + 1000).toISOString(),
  basis: 'rate' as const,
  remainingP90Ms: null,
  queueWaitMs: null,
};
const NONE = {
  remainingMs: null,
  finishAt: null,
  basis: 'none' as const,
  remainingP90Ms: null,
  queueWaitMs: null,
};
const LIMITS = { logs: 3, events: 4, keepFinishedMs: 60_000 };

function feed(projectId = 'p1', workflowId = 'w1') {
  let seq = 0;
  let at = T0;
  const ev = (type: EventType, data: Record<string, unknown> = {}, stepId: string | null = null) =>
    ({
      seq: ++seq,
      type,
      projectId,
      workflowId,
      stepId,
      attempt: 1,
      at: new Date((at += 10)).toISOString(),
      data,
    }) satisfies EventEnvelope;
  return {
    ev,
    created: () =>
      ev('workflow:created', {
        status: 'queued',
        progress: 0,
        eta: NONE,
        type: 'doc',
        name: 'Doc',
        queue: null,
        steps: [
          { id: 'a', name: 'A', weight: 1 },
          { id: 'b', name: 'B', weight: 3 },
        ],
      }),
    step: (type: EventType, stepId: string, data: Record<string, unknown>) =>
      ev(type, { current: null, total: null, message: null, eta: ETA, ...data }, stepId),
    log: (message: string) => {
      const e = ev('workflow:log', {});
      e.data = { id: e.seq, workflowId, stepId: null, level: 'info', message, details: null, at: e.at };
      return e;
    },
    get seq() {
      return seq;
    },
  };
}

describe('ActiveWorkflows read model', () => {
  it('folds a lifecycle into the workflow: steps, progress, eta, logs, event history', () => {
    const m = new ActiveWorkflows(LIMITS);
    const f = feed();
    m.apply(f.created());
    m.apply(f.ev('workflow:started', { status: 'running', progress: 0, eta: NONE }));
    m.apply(f.step('workflow:step:started', 'a', { status: 'running', progress: 0, workflowProgress: 0 }));
    m.apply(f.step('workflow:step:progress', 'a', { status: 'running', progress: 50, workflowProgress: 12 }));
    m.apply(f.log('half way'));
    const wf = m.get('p1', 'w1')!;
    expect(wf).toMatchObject({
      type: 'doc',
      name: 'Doc',
      status: 'running',
      progress: 12,
      eta: ETA,
      lastSeq: 5,
      startedAt: expect.any(String),
      finishedAt: null,
    });
    expect(wf.steps.map((s) => [s.id, s.status, s.progress])).toEqual([
      ['a', 'running', 50],
      ['b', 'pending', 0],
    ]);
    expect(wf.logs.map((l) => l.message)).toEqual(['half way']);
    expect(wf.events.map((e) => e.seq)).toEqual([2, 3, 4, 5]); // the last 4 (limit)
    expect(m.list('p1', T0).map((w) => w.id)).toEqual(['w1']);
    expect(m.list('other', T0)).toEqual([]);
  });

  it('keeps only the last N logs and events', () => {
    const m = new ActiveWorkflows(LIMITS);
    const f = feed();
    m.apply(f.created());
    for (let i = 0; i < 6; i++) m.apply(f.log(`l${i}`));
    const wf = m.get('p1', 'w1')!;
    expect(wf.logs.map((l) => l.message)).toEqual(['l3', 'l4', 'l5']);
    expect(wf.events.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
  });

  it('a finished workflow stays keepFinishedMs after it ends, then is dropped', () => {
    const m = new ActiveWorkflows(LIMITS);
    const f = feed();
    m.apply(f.created());
    m.apply(f.step('workflow:step:failed', 'a', { status: 'failed', progress: 0, workflowProgress: 0 }));
    const failed = f.ev('workflow:failed', {
      status: 'failed',
      progress: 0,
      eta: NONE,
      error: { message: 'x' },
    });
    m.apply(failed);
    const end = Date.parse(failed.at);
    const wf = m.get('p1', 'w1')!;
    expect(wf).toMatchObject({ status: 'failed', error: { message: 'x' }, finishedAt: failed.at, eta: NONE });
    expect(wf.steps.map((s) => s.status)).toEqual(['failed', 'cancelled']);
    expect(m.list('p1', end + 59_999)).toHaveLength(1);
    expect(m.list('p1', end + 60_000)).toHaveLength(0); // hidden at once, even before a prune
    m.prune(end + 59_999);
    expect(m.get('p1', 'w1')).toBeDefined();
    m.prune(end + 60_000);
    expect(m.get('p1', 'w1')).toBeUndefined();
    expect(m.projectIds()).toEqual([]);
  });

  it('ignores events of workflows it never saw created, and duplicates', () => {
    const m = new ActiveWorkflows(LIMITS);
    const f = feed();
    const created = f.created();
    m.apply(f.ev('workflow:started', { status: 'running', progress: 0, eta: NONE }));
    expect(m.get('p1', 'w1')).toBeUndefined();
    m.apply(created);
    const progress = f.step('workflow:step:progress', 'a', {
      status: 'running',
      progress: 30,
      workflowProgress: 7,
    });
    m.apply(progress);
    m.apply(progress);
    m.apply(created);
    expect(m.get('p1', 'w1')!.events.map((e) => e.seq)).toEqual([1, 3]);
  });

  it('a requeued workflow is queued again with its steps pending', () => {
    const m = new ActiveWorkflows(LIMITS);
    const f = feed();
    m.apply(f.created());
    m.apply(f.step('workflow:step:progress', 'a', { status: 'running', progress: 40, workflowProgress: 10 }));
    m.apply(f.ev('workflow:requeued', { status: 'queued', progress: 0, eta: NONE, attempt: 2 }));
    const wf = m.get('p1', 'w1')!;
    expect(wf.status).toBe('queued');
    expect(wf.steps.map((s) => [s.status, s.progress])).toEqual([
      ['pending', 0],
      ['pending', 0],
    ]);
  });

  describe('rebuild', () => {
    const state = (over: Partial<WorkflowState> = {}): WorkflowState => ({
      id: 'w1',
      projectId: 'p1',
      type: 'doc',
      name: null,
      status: 'running',
      progress: 25,
      steps: [
        {
          id: 'a',
          name: 'a',
          weight: 1,
          status: 'running',
          progress: 50,
          current: null,
          total: null,
          message: null,
          startedAt: T0,
          finishedAt: null,
          result: null,
          error: null,
          metrics: null,
          slowAttempt: null,
        },
      ],
      queue: null,
      attempt: 1,
      maxAttempts: 1,
      sessionId: null,
      metadata: {},
      error: null,
      staleAfterMs: 1000,
      requestHash: 'h',
      createdAt: T0,
      startedAt: T0,
      finishedAt: null,
      updatedAt: T0,
      lastSeq: 5,
      createdSeq: 1,
      availableAt: null,
      leaseToken: null,
      leaseExpiresAt: null,
      workerId: null,
      halfAt: null,
      halfEstimateMs: null,
      ...over,
    });
    const log = (id: number) => ({
      id,
      workflowId: 'w1',
      stepId: null,
      level: 'info',
      message: `m${id}`,
      details: null,
      at: new Date(T0).toISOString(),
    });

    it('holds events while rebuilding and applies only those newer than each snapshot', () => {
      const m = new ActiveWorkflows(LIMITS);
      m.startRebuild();
      const f = feed();
      for (let i = 0; i < 5; i++) f.ev('workflow:step:progress'); // seqs 1..5, already in the snapshot
      m.apply(
        f.step('workflow:step:progress', 'a', { status: 'running', progress: 50, workflowProgress: 25 }),
      );
      m.apply(
        f.step('workflow:step:completed', 'a', { status: 'completed', progress: 100, workflowProgress: 100 }),
      );
      m.apply(f.ev('workflow:completed', { status: 'completed', progress: 100, eta: NONE }));
      expect(m.get('p1', 'w1')).toBeUndefined(); // held, not applied
      // the snapshot was read after seq 5 committed (lastSeq 5), with its logs
      m.finishRebuild([snapshotOf(state(), ETA, [log(2), log(4)])]);
      const wf = m.get('p1', 'w1')!;
      expect(wf).toMatchObject({ status: 'completed', progress: 100, lastSeq: 8 });
      expect(wf.logs.map((l) => l.id)).toEqual([2, 4]);
      expect(wf.events.map((e) => e.seq)).toEqual([6, 7, 8]);
    });

    it('a snapshot older than what live events already gave keeps the live state, merging logs by id', () => {
      const m = new ActiveWorkflows(LIMITS);
      const f = feed();
      m.apply(f.created());
      for (let i = 0; i < 6; i++) f.ev('workflow:step:progress');
      m.apply(f.log('live')); // seq 8
      m.load(snapshotOf(state({ lastSeq: 5 }), ETA, [log(3)]));
      const wf = m.get('p1', 'w1')!;
      expect(wf.lastSeq).toBe(8);
      expect(wf.status).toBe('queued');
      expect(wf.logs.map((l) => l.id)).toEqual([3, 8]);
      // a newer snapshot replaces the state and keeps the event history
      m.load(snapshotOf(state({ lastSeq: 9, status: 'completed', finishedAt: T0 + 5 }), NONE, []));
      expect(m.get('p1', 'w1')).toMatchObject({ status: 'completed', lastSeq: 9 });
      expect(m.get('p1', 'w1')!.events.map((e) => e.seq)).toEqual([1, 8]);
    });

    it('snapshotOf maps a workflow state to its entry', () => {
      const snap: ActiveWorkflow = snapshotOf(state(), ETA, []);
      expect(snap).toMatchObject({
        id: 'w1',
        projectId: 'p1',
        status: 'running',
        progress: 25,
        eta: ETA,
        startedAt: new Date(T0).toISOString(),
        finishedAt: null,
        lastSeq: 5,
        steps: [{ id: 'a', status: 'running', progress: 50 }],
        events: [],
      });
    });
  });
});
