import { DomainError } from '../../../common/errors/domain-error';
import { Workflow } from './workflow.aggregate';
import { workflowProgress } from './progress';
import { EVENT_TYPES } from '../../../common/events/event-types';

const T0 = 1_700_000_000_000;

function make(steps: { id: string; weight?: number }[] = [{ id: 'a' }, { id: 'b', weight: 3 }]) {
  const wf = Workflow.create({ id: 'w1', projectId: 'p1', type: 'doc', steps, requestHash: 'h' }, T0);
  wf.takeEvents();
  wf.takeChanges();
  return wf;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as DomainError).code;
  }
  return undefined;
}

const types = (wf: Workflow) => wf.takeEvents().map((e) => e.type);

describe('Workflow aggregate', () => {
  it('is created queued with pending steps, default weight 1 and one workflow:created event', () => {
    const wf = Workflow.create(
      { id: 'w', projectId: 'p', type: 't', steps: [{ id: 's' }], requestHash: 'h' },
      T0,
    );
    expect(wf.status).toBe('queued');
    expect(wf.state.steps[0]).toMatchObject({
      id: 's',
      name: 's',
      weight: 1,
      status: 'pending',
      progress: 0,
    });
    expect(types(wf)).toEqual([EVENT_TYPES.WorkflowCreated]);
  });

  it('first start moves queued → running, emitting workflow:started before step:started', () => {
    const wf = make();
    wf.startStep('a', T0 + 1);
    expect(wf.status).toBe('running');
    expect(wf.state.steps[0].status).toBe('running');
    expect(types(wf)).toEqual([EVENT_TYPES.WorkflowStarted, EVENT_TYPES.StepStarted]);
    wf.startStep('b', T0 + 2);
    expect(types(wf)).toEqual([EVENT_TYPES.StepStarted]); // several steps may run at once
  });

  it('starting a step that is not pending is an invalid transition', () => {
    const wf = make();
    wf.startStep('a', T0);
    expect(code(() => wf.startStep('a', T0))).toBe('invalid_transition');
  });

  it('unknown step → not_found', () => {
    expect(code(() => make().startStep('zzz', T0))).toBe('not_found');
    expect(code(() => make().recordProgress('zzz', { progress: 1 }, T0))).toBe('not_found');
  });

  it('progress starts a pending step implicitly and computes from current/total with floor', () => {
    const wf = make();
    expect(wf.recordProgress('a', { current: 1, total: 3 }, T0)).toBe(true);
    expect(wf.state.steps[0]).toMatchObject({ status: 'running', progress: 33, current: 1, total: 3 });
    expect(types(wf)).toEqual([
      EVENT_TYPES.WorkflowStarted,
      EVENT_TYPES.StepStarted,
      EVENT_TYPES.StepProgressRecorded,
    ]);
  });

  it('rejects a regression, and the same value again is a no-op without event', () => {
    const wf = make();
    wf.recordProgress('a', { progress: 50 }, T0);
    wf.takeEvents();
    expect(code(() => wf.recordProgress('a', { progress: 49 }, T0))).toBe('progress_regression');
    expect(wf.recordProgress('a', { progress: 50 }, T0)).toBe(false);
    expect(wf.takeEvents()).toEqual([]);
    expect(wf.recordProgress('a', { progress: 50, message: 'new text' }, T0)).toBe(true);
  });

  it('rejects current > total', () => {
    expect(code(() => make().recordProgress('a', { current: 5, total: 4 }, T0))).toBe('invalid_transition');
  });

  it('workflow progress is the floor of the weighted mean, completed and skipped counting 100', () => {
    expect(
      workflowProgress([
        { weight: 1, status: 'running', progress: 50 },
        { weight: 3, status: 'pending', progress: 0 },
      ]),
    ).toBe(12); // 50/4 = 12.5
    expect(
      workflowProgress([
        { weight: 15, status: 'completed', progress: 100 },
        { weight: 60, status: 'running', progress: 33 },
        { weight: 25, status: 'skipped', progress: 0 },
      ]),
    ).toBe(59); // (1500 + 1980 + 2500) / 100 = 59.8
  });

  it('reaches 100 only when every step is done', () => {
    const wf = make([{ id: 'a' }, { id: 'b' }]);
    wf.recordProgress('a', { progress: 100 }, T0);
    wf.recordProgress('b', { progress: 100 }, T0);
    expect(wf.state.progress).toBe(99);
    wf.completeStep('a', T0);
    expect(wf.state.progress).toBe(99);
    wf.completeStep('b', T0);
    expect(wf.state.progress).toBe(100);
  });

  it('completes the workflow with its last step, in the same change', () => {
    const wf = make();
    wf.completeStep('a', T0, { ok: 1 });
    wf.skipStep('b', T0 + 5);
    expect(wf.status).toBe('completed');
    expect(wf.state.finishedAt).toBe(T0 + 5);
    const evs = wf.takeEvents();
    expect(evs.map((e) => e.type)).toEqual([
      EVENT_TYPES.WorkflowStarted,
      EVENT_TYPES.StepStarted, // completing a pending step starts it first
      EVENT_TYPES.StepCompleted,
      EVENT_TYPES.StepSkipped,
      EVENT_TYPES.WorkflowCompleted,
    ]);
    expect(evs[2].data.result).toEqual({ ok: 1 });
  });

  it('a failed step fails the workflow; remaining steps are cancelled', () => {
    const wf = make();
    wf.startStep('a', T0);
    wf.takeEvents();
    wf.failStep('a', { message: 'boom', code: 'E1' }, T0 + 1);
    expect(wf.status).toBe('failed');
    expect(wf.state.error).toEqual({ message: 'boom', code: 'E1' });
    expect(wf.state.steps.map((s) => s.status)).toEqual(['failed', 'cancelled']);
    expect(types(wf)).toEqual([EVENT_TYPES.StepFailed, EVENT_TYPES.WorkflowFailed]);
  });

  it('cancel cancels pending and running steps; terminal workflows refuse every write', () => {
    const wf = make();
    wf.startStep('a', T0);
    wf.cancel(T0, 'user');
    expect(wf.status).toBe('cancelled');
    expect(wf.state.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(code(() => wf.cancel(T0))).toBe('invalid_transition');
    expect(code(() => wf.recordProgress('a', { progress: 90 }, T0))).toBe('invalid_transition');
    expect(code(() => wf.completeStep('b', T0))).toBe('invalid_transition');
    expect(code(() => wf.appendLog(null, T0, {}))).toBe('invalid_transition');
  });

  it('skip only from pending; writes to a terminal step are invalid transitions', () => {
    const wf = make();
    wf.startStep('a', T0);
    expect(code(() => wf.skipStep('a', T0))).toBe('invalid_transition');
    wf.completeStep('a', T0);
    expect(code(() => wf.recordProgress('a', { progress: 100 }, T0))).toBe('invalid_transition');
    expect(code(() => wf.completeStep('a', T0))).toBe('invalid_transition');
    expect(code(() => wf.failStep('a', { message: 'x' }, T0))).toBe('invalid_transition');
  });

  it('fails as stalled only after staleAfterMs without a write', () => {
    const wf = make();
    wf.recordProgress('a', { progress: 10 }, T0 + 1000);
    expect(wf.failIfStalled(T0 + 1000 + 30 * 60 * 1000 - 1)).toBe(false);
    expect(wf.failIfStalled(T0 + 1000 + 30 * 60 * 1000)).toBe(true);
    expect(wf.state.error?.code).toBe('stalled');
    expect(wf.state.steps[0].status).toBe('failed');
  });

  it('snapshot/restore undoes a change (a rejected command in a group leaves no trace)', () => {
    const wf = make();
    const snap = wf.snapshot();
    wf.recordProgress('a', { progress: 70 }, T0);
    wf.restore(snap);
    expect(wf.state.steps[0].progress).toBe(0);
    expect(wf.takeEvents()).toEqual([]);
    expect(wf.takeChanges().steps).toEqual([]);
  });

  it('restore brings back the whole state after any sequence of changes, events and bookkeeping included', () => {
    const queued = () => {
      const wf = Workflow.create(
        {
          id: 'q',
          projectId: 'p',
          type: 't',
          steps: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
          queue: 'jobs',
          maxAttempts: 3,
          metadata: { k: { nested: [1] } },
          requestHash: 'h',
        },
        T0,
      );
      wf.takeChanges();
      return wf;
    };
    const changes: ((wf: Workflow) => void)[] = [
      (wf) => wf.recordProgress('a', { current: 3, total: 10, message: 'm', metrics: { n: 1 } }, T0 + 1),
      (wf) => wf.completeStep('a', T0 + 2, { out: [1, 2] }, 'done'),
      (wf) => wf.skipStep('b', T0 + 3, 'skip'),
      (wf) => wf.failStep('c', { message: 'boom', code: 'x' }, T0 + 4, true), // requeued: steps reset
      (wf) => wf.cancel(T0 + 5, 'stop'),
      (wf) => wf.appendLog('a', T0 + 6, { level: 'info', message: 'l' }),
    ];
    for (let n = 1; n <= changes.length; n++) {
      const wf = queued();
      const before = structuredClone(wf.state);
      const snap = wf.snapshot();
      for (const change of changes.slice(0, n)) code(() => change(wf));
      wf.restore(snap);
      expect(wf.state).toEqual(before);
      // the event recorded before the snapshot is still to be announced; nothing after it is, or is to be written
      expect(types(wf)).toEqual([EVENT_TYPES.WorkflowCreated]);
      expect(wf.takeChanges()).toMatchObject({ steps: [], isNew: false, dirty: false });
    }
  });

  it('eta: none until progress, then rate-based', () => {
    const wf = make([{ id: 'a' }]);
    expect(wf.eta(T0).basis).toBe('none');
    wf.startStep('a', T0);
    wf.recordProgress('a', { progress: 25 }, T0 + 1000);
    expect(wf.eta(T0 + 1000)).toMatchObject({ basis: 'rate', remainingMs: 3000 });
  });

  it('eta: from the ETA history it is given, in its view and in the data of the events it records', () => {
    const history = new Map([
      ['a', 1000],
      ['b', 3000],
    ]);
    const wf = Workflow.create(
      { id: 'w', projectId: 'p', type: 't', steps: [{ id: 'a' }, { id: 'b' }], requestHash: 'h' },
      T0,
      history,
    );
    expect(wf.takeEvents()[0].data.eta).toMatchObject({ basis: 'history', remainingMs: 4000 });
    wf.recordProgress('a', { progress: 50 }, T0 + 500);
    expect(wf.takeEvents().map((e) => e.data.eta)).toEqual([
      expect.objectContaining({ basis: 'history', remainingMs: 4000 }), // workflow:started
      expect.objectContaining({ basis: 'history', remainingMs: 4000 }), // step:started (0 %, just begun)
      expect.objectContaining({ basis: 'history', remainingMs: 3500 }), // step:progress at 50 %
    ]);
    wf.setEtaHistory(undefined);
    expect(wf.eta(T0 + 500).basis).toBe('rate');
  });
});

describe('Workflow aggregate: parent and child (§14)', () => {
  const child = (
    id: string,
    status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled',
    progress: number,
    remainingMs: number | null = null,
  ) => ({
    id,
    status,
    progress,
    remainingMs,
  });

  it('a step follows its children: starts with the first, floor(mean) progress, completes with the last', () => {
    const wf = make([{ id: 'split' }]);
    expect(wf.addChild('split', 'c1', T0)).toBe(1);
    wf.addChild('split', 'c2', T0);
    expect(wf.onChildChanged('split', child('c1', 'running', 0), T0 + 1)).toBe(true);
    expect(wf.state.steps[0].status).toBe('running');
    wf.onChildChanged('split', child('c1', 'running', 51), T0 + 2);
    expect(wf.state.steps[0].progress).toBe(25);
    expect(wf.onChildChanged('split', child('c1', 'running', 51), T0 + 3)).toBe(false); // nothing new
    wf.onChildChanged('split', child('c1', 'completed', 100), T0 + 4);
    expect(wf.state.steps[0].status).toBe('running');
    wf.onChildChanged('split', child('c2', 'completed', 100), T0 + 5);
    expect(wf.state.steps[0].status).toBe('completed');
    expect(wf.status).toBe('completed');
    expect(code(() => wf.addChild('split', 'c3', T0 + 6))).toBe('invalid_transition');
  });

  it('a child failing for good fails the step with child_failed and childId; a requeued child does not', () => {
    const wf = make([{ id: 'split' }]);
    wf.addChild('split', 'c1', T0);
    wf.onChildChanged('split', child('c1', 'running', 40), T0 + 1);
    wf.onChildChanged('split', child('c1', 'queued', 0), T0 + 2); // requeued
    expect(wf.state.steps[0]).toMatchObject({ status: 'running', progress: 0 });
    wf.onChildChanged('split', child('c1', 'failed', 0), T0 + 3);
    expect(wf.state.steps[0].error).toMatchObject({ code: 'child_failed', childId: 'c1' });
    expect(wf.status).toBe('failed');
  });

  it('refuses direct progress and completion of a step with children', () => {
    const wf = make([{ id: 'split' }]);
    wf.addChild('split', 'c1', T0);
    expect(code(() => wf.recordProgress('split', { progress: 10 }, T0 + 1))).toBe('invalid_transition');
    expect(code(() => wf.completeStep('split', T0 + 1))).toBe('invalid_transition');
  });

  it('the ETA is at least the slowest active child’s, its range too (remainingP90Ms ≥ remainingMs)', () => {
    const wf = make([{ id: 'split' }]);
    wf.addChild('split', 'c1', T0);
    wf.addChild('split', 'c2', T0);
    wf.onChildChanged('split', child('c1', 'running', 90, 1_000), T0 + 1);
    wf.onChildChanged('split', child('c2', 'running', 10, 90_000), T0 + 2);
    wf.setEtaHistory(Object.assign(new Map([['split', 500]]), { runs: [{ split: 500 }, { split: 600 }] }));
    const eta = wf.eta(T0 + 10);
    expect(eta.remainingMs).toBe(90_000);
    expect(eta.remainingP90Ms).toBeGreaterThanOrEqual(eta.remainingMs!);
    // without history: the children's estimate, not "none"
    wf.setEtaHistory(undefined);
    expect(wf.eta(T0 + 10)).toMatchObject({ basis: 'rate', remainingMs: 90_000, remainingP90Ms: null });
  });
});
