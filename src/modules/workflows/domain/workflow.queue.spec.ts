import { DomainError } from '../../../common/errors/domain-error';
import { DEFAULT_LEASE_MS, requeueBackoffMs, sessionLockOf, Workflow } from './workflow.aggregate';
import { EVENT_TYPES } from '../../../common/events/event-types';
import type { WorkflowState } from './workflow.types';

/**
 * The queue side of the Workflow aggregate, as pure code: lease fencing (assertLease), heartbeat, the
 * reaper's expireLease, release, requeue with its backoff, and retryable step failures.
 */

const T0 = 1_700_000_000_000;
const TOKEN = 'lease-token-1';

/** A workflow on queue `q` as the claim leaves it: leased to worker `w1` until T0 + leaseMs. */
interface LeasedOpts {
  maxAttempts?: number;
  leaseMs?: number;
  attempt?: number;
  queue?: string | null;
  sessionId?: string | null;
}

function leased({
  maxAttempts = 3,
  leaseMs = 10_000,
  attempt = 1,
  queue = 'q',
  sessionId = null,
}: LeasedOpts = {}): Workflow {
  const wf = Workflow.create(
    {
      id: 'w1',
      projectId: 'p1',
      type: 'job',
      steps: [{ id: 'a' }, { id: 'b', weight: 3 }],
      queue,
      maxAttempts,
      sessionId,
      requestHash: 'h',
    },
    T0,
  );
  const state: WorkflowState = {
    ...structuredClone(wf.state),
    attempt,
    leaseToken: queue ? TOKEN : null,
    leaseExpiresAt: queue ? T0 + leaseMs : null,
    workerId: queue ? 'w1' : null,
  };
  return Workflow.fromState(state);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return (e as DomainError).code;
  }
  return undefined;
}

const types = (wf: Workflow) => wf.takeEvents().map((e) => e.type);

describe('requeueBackoffMs: 1 s · 2^(attempt−2), at most 60 s', () => {
  it.each([
    [2, 1000],
    [3, 2000],
    [4, 4000],
    [5, 8000],
    [7, 32_000],
    [8, 60_000],
    [20, 60_000],
  ])('before attempt %i: %i ms', (attempt, ms) => {
    expect(requeueBackoffMs(attempt)).toBe(ms);
  });
});

describe('Workflow queue: lease fencing (assertLease)', () => {
  it('a workflow that is on no queue needs no token', () => {
    const wf = leased({ queue: null });
    expect(code(() => wf.assertLease(undefined, T0))).toBeUndefined();
    expect(code(() => wf.startStep('a', T0))).toBeUndefined();
  });

  it('the current, unexpired token passes', () => {
    expect(code(() => leased().assertLease(TOKEN, T0 + 9_999))).toBeUndefined();
  });

  it.each([
    ['missing', undefined, T0 + 1],
    ['empty', '', T0 + 1],
    ['stale (another one)', 'lease-token-0', T0 + 1],
    ['expired (at the expiry instant)', TOKEN, T0 + 10_000],
    ['expired (after it)', TOKEN, T0 + 60_000],
  ])('token %s → lease_lost', (_what, token, now) => {
    expect(code(() => leased().assertLease(token, now))).toBe('lease_lost');
  });

  it('a queued workflow nobody has claimed: any write token → lease_lost', () => {
    const wf = Workflow.fromState({ ...leased().state, leaseToken: null, leaseExpiresAt: null });
    expect(code(() => wf.assertLease(undefined, T0))).toBe('lease_lost');
    expect(code(() => wf.assertLease(TOKEN, T0))).toBe('lease_lost');
  });

  it('a terminal workflow answers invalid_transition first, whatever the token', () => {
    const wf = leased();
    wf.cancel(T0 + 1);
    for (const token of [TOKEN, 'other', undefined])
      expect(code(() => wf.assertLease(token, T0 + 2))).toBe('invalid_transition');
  });

  it('cancel needs no token, drops the lease, and the worker then gets invalid_transition', () => {
    const wf = leased();
    wf.startStep('a', T0 + 1);
    wf.takeEvents();
    wf.cancel(T0 + 2, 'user');
    expect(wf.state).toMatchObject({ status: 'cancelled', leaseToken: null, leaseExpiresAt: null });
    expect(types(wf)).toEqual([EVENT_TYPES.WorkflowCancelled]);
    expect(code(() => wf.heartbeat(TOKEN, 5000, T0 + 3))).toBe('invalid_transition');
    expect(code(() => wf.release(TOKEN, T0 + 3))).toBe('invalid_transition');
    expect(wf.expireLease(T0 + 60_000)).toBe(false);
  });
});

describe('Workflow queue: heartbeat', () => {
  it('extends the lease from now by leaseMs (default 30 s) and records no event', () => {
    const wf = leased();
    expect(wf.heartbeat(TOKEN, 5000, T0 + 4000)).toBe(T0 + 9000);
    expect(wf.state.leaseExpiresAt).toBe(T0 + 9000);
    expect(wf.heartbeat(TOKEN, undefined, T0 + 8000)).toBe(T0 + 8000 + DEFAULT_LEASE_MS);
    expect(wf.isDirty).toBe(true);
    expect(types(wf)).toEqual([]);
  });

  it('a heartbeat keeps the reaper away: not expired at the old expiry', () => {
    const wf = leased({ leaseMs: 1500 });
    wf.heartbeat(TOKEN, 1500, T0 + 1000);
    expect(wf.expireLease(T0 + 1500)).toBe(false);
    expect(wf.expireLease(T0 + 2499)).toBe(false);
    expect(wf.expireLease(T0 + 2500)).toBe(true);
  });

  it('a workflow on no queue has no lease to extend → lease_lost, and nothing for the reaper', () => {
    const wf = leased({ queue: null });
    expect(code(() => wf.heartbeat('any', 5000, T0 + 1))).toBe('lease_lost');
    expect(wf.state.leaseExpiresAt).toBeNull();
  });

  it('a stale or expired token → lease_lost and nothing changes', () => {
    const wf = leased();
    const before = structuredClone(wf.state);
    expect(code(() => wf.heartbeat('nope', 5000, T0 + 1))).toBe('lease_lost');
    expect(code(() => wf.heartbeat(TOKEN, 5000, T0 + 10_000))).toBe('lease_lost');
    expect(wf.state).toEqual(before);
  });
});

describe('Workflow queue: expireLease (the reaper)', () => {
  it('does nothing before expiry, without a lease, or on a terminal workflow', () => {
    expect(leased().expireLease(T0 + 9_999)).toBe(false);
    const unleased = Workflow.fromState({ ...leased().state, leaseToken: null, leaseExpiresAt: null });
    expect(unleased.expireLease(T0 + 60_000)).toBe(false);
    const done = leased();
    done.completeStep('a', T0 + 1);
    done.completeStep('b', T0 + 2);
    expect(done.status).toBe('completed');
    done.takeEvents();
    expect(done.expireLease(T0 + 60_000)).toBe(false);
    expect(types(done)).toEqual([]);
  });

  it('requeues with attempt + 1, steps reset to pending, the lease dropped and a 1 s backoff', () => {
    const wf = leased();
    wf.startStep('a', T0 + 100);
    wf.recordProgress('a', { current: 3, total: 10, message: 'three', metrics: { x: 1 } }, T0 + 200);
    wf.completeStep('a', T0 + 300, { ok: 1 });
    wf.recordProgress('b', { progress: 40 }, T0 + 400);
    expect(wf.state.progress).toBe(55);
    wf.takeEvents();
    wf.takeChanges();

    const now = T0 + 10_200;
    expect(wf.expireLease(now)).toBe(true);
    const s = wf.state;
    expect(s).toMatchObject({
      status: 'queued',
      progress: 0,
      attempt: 2,
      startedAt: null,
      error: null,
      leaseToken: null,
      leaseExpiresAt: null,
      workerId: null,
      availableAt: now + 1000,
    });
    for (const st of s.steps)
      expect(st).toMatchObject({
        status: 'pending',
        progress: 0,
        current: null,
        total: null,
        message: null,
        startedAt: null,
        finishedAt: null,
        result: null,
        error: null,
        metrics: null,
      });
    expect(wf.isClaimable(now + 999)).toBe(false);
    expect(wf.isClaimable(now + 1000)).toBe(true);

    const events = wf.takeEvents();
    expect(events.map((e) => e.type)).toEqual([EVENT_TYPES.WorkflowRequeued]);
    expect(events[0]).toMatchObject({ workflowId: 'w1', stepId: null, at: now });
    expect(events[0].data).toMatchObject({
      status: 'queued',
      progress: 0,
      queue: 'q',
      attempt: 2,
      availableAt: new Date(now + 1000).toISOString(),
      reason: 'lease_expired',
      error: { code: 'lease_expired' },
    });
    // every step row is rewritten
    const changes = wf.takeChanges();
    expect(changes.steps.map((st) => st.id).sort()).toEqual(['a', 'b']);
    expect(changes.dirty).toBe(true);
  });

  it('with no attempt left: failed with error.code lease_expired, pending/running steps cancelled', () => {
    const wf = leased({ maxAttempts: 2, attempt: 2 });
    wf.startStep('a', T0 + 1);
    wf.takeEvents();
    expect(wf.expireLease(T0 + 20_000)).toBe(true);
    expect(wf.state).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: { code: 'lease_expired' },
      leaseToken: null,
      leaseExpiresAt: null,
      availableAt: null,
      finishedAt: T0 + 20_000,
    });
    expect(wf.state.steps.map((st) => st.status)).toEqual(['cancelled', 'cancelled']);
    expect(types(wf)).toEqual([EVENT_TYPES.WorkflowFailed]);
  });

  it('maxAttempts 1 (the default): the first expiry fails the workflow', () => {
    const wf = leased({ maxAttempts: 1 });
    expect(wf.expireLease(T0 + 10_000)).toBe(true);
    expect(wf.status).toBe('failed');
    expect(wf.state.error?.code).toBe('lease_expired');
  });

  it('a workflow whose lease keeps expiring: backoffs 1 s, 2 s, 4 s, then failed after maxAttempts 4', () => {
    let wf = leased({ maxAttempts: 4, leaseMs: 1000 });
    const backoffs: number[] = [];
    for (let round = 0; round < 4; round++) {
      let now = wf.state.leaseExpiresAt!;
      expect(wf.expireLease(now)).toBe(true);
      const events = wf.takeEvents();
      if (round < 3) {
        expect(events.map((e) => e.type)).toEqual([EVENT_TYPES.WorkflowRequeued]);
        backoffs.push(Date.parse(events[0].data.availableAt as string) - events[0].at);
        expect(wf.state.attempt).toBe(round + 2);
        // the next claim, once the backoff is over
        now = wf.state.availableAt!;
        wf = Workflow.fromState({
          ...structuredClone(wf.state),
          leaseToken: TOKEN,
          leaseExpiresAt: now + 1000,
          workerId: 'w1',
        });
      } else {
        expect(events.map((e) => e.type)).toEqual([EVENT_TYPES.WorkflowFailed]);
      }
    }
    expect(backoffs).toEqual([1000, 2000, 4000]);
    expect(wf.state).toMatchObject({ status: 'failed', attempt: 4, error: { code: 'lease_expired' } });
  });

  it('a session workflow keeps its session lock while requeued and frees it when it fails', () => {
    const wf = leased({ maxAttempts: 2, sessionId: 's1' });
    expect(wf.sessionLock).toBe(sessionLockOf('p1', 's1'));
    wf.expireLease(T0 + 10_000);
    expect(wf.status).toBe('queued');
    expect(wf.sessionLock).toBe(sessionLockOf('p1', 's1'));
    const again = Workflow.fromState({
      ...structuredClone(wf.state),
      leaseToken: TOKEN,
      leaseExpiresAt: T0 + 20_000,
    });
    again.expireLease(T0 + 20_000);
    expect(again.status).toBe('failed');
    expect(again.sessionLock).toBeNull();
  });
});

describe('Workflow queue: release', () => {
  it('gives the lease back: requeued at once as the next attempt (reason released)', () => {
    const wf = leased();
    wf.startStep('a', T0 + 1);
    wf.takeEvents();
    wf.release(TOKEN, T0 + 50);
    expect(wf.state).toMatchObject({ status: 'queued', attempt: 2, availableAt: T0 + 50, leaseToken: null });
    expect(wf.isClaimable(T0 + 50)).toBe(true);
    const [e] = wf.takeEvents();
    expect(e.type).toBe(EVENT_TYPES.WorkflowRequeued);
    expect(e.data).toMatchObject({ reason: 'released', attempt: 2, error: null });
  });

  it('needs the current token', () => {
    const wf = leased();
    expect(code(() => wf.release('other', T0 + 1))).toBe('lease_lost');
    expect(code(() => wf.release(TOKEN, T0 + 10_000))).toBe('lease_lost');
    expect(wf.state.attempt).toBe(1);
  });
});

describe('Workflow queue: unclaim (a claim whose answer never reached its worker)', () => {
  it('drops the lease and leaves the workflow ready again as it was: same attempt, no event', () => {
    const wf = leased();
    wf.takeEvents();
    wf.unclaim(TOKEN, T0 + 5);
    expect(wf.state).toMatchObject({ status: 'queued', attempt: 1, leaseToken: null, workerId: null });
    expect(wf.isClaimable(T0 + 5)).toBe(true);
    expect(wf.takeEvents()).toEqual([]);
  });

  it('needs the current token, and once a step has started it is a release (the next attempt)', () => {
    const wf = leased();
    expect(code(() => wf.unclaim('other', T0 + 1))).toBe('lease_lost');
    wf.startStep('a', T0 + 1);
    wf.unclaim(TOKEN, T0 + 2);
    expect(wf.state).toMatchObject({ status: 'queued', attempt: 2 });
  });
});

describe('Workflow queue: failStep(retryable)', () => {
  it('retryable on a queue with attempts left: step:failed then requeued with backoff, not failed', () => {
    const wf = leased({ maxAttempts: 3 });
    wf.startStep('a', T0 + 1);
    wf.takeEvents();
    wf.failStep('a', { message: 'flaky', code: 'E_FLAKY' }, T0 + 10, true);
    expect(wf.state).toMatchObject({ status: 'queued', attempt: 2, availableAt: T0 + 1010, error: null });
    expect(wf.state.steps.map((st) => st.status)).toEqual(['pending', 'pending']);
    const events = wf.takeEvents();
    expect(events.map((e) => e.type)).toEqual([EVENT_TYPES.StepFailed, EVENT_TYPES.WorkflowRequeued]);
    expect(events[1].data).toMatchObject({
      reason: 'step_failed',
      attempt: 2,
      error: { message: 'flaky', code: 'E_FLAKY' },
    });
  });

  it('the second retry waits 2 s; the last attempt fails the workflow with the step error', () => {
    const wf = leased({ maxAttempts: 3, attempt: 2 });
    wf.failStep('b', { message: 'flaky' }, T0, true);
    expect(wf.state).toMatchObject({ status: 'queued', attempt: 3, availableAt: T0 + 2000 });
    wf.takeEvents();
    const last = Workflow.fromState({
      ...structuredClone(wf.state),
      leaseToken: TOKEN,
      leaseExpiresAt: T0 + 9000,
    });
    last.failStep('b', { message: 'flaky again', code: 'E' }, T0 + 3000, true);
    expect(last.state).toMatchObject({
      status: 'failed',
      attempt: 3,
      error: { message: 'flaky again', code: 'E' },
    });
    expect(last.takeEvents().map((e) => e.type)).toEqual([
      EVENT_TYPES.StepFailed,
      EVENT_TYPES.WorkflowFailed,
    ]);
  });

  it('not retryable, or on no queue: the workflow fails at once', () => {
    const a = leased({ maxAttempts: 5 });
    a.failStep('a', { message: 'fatal' }, T0 + 1, false);
    expect(a.state).toMatchObject({ status: 'failed', attempt: 1 });
    const b = leased({ queue: null, maxAttempts: 5 });
    b.failStep('a', { message: 'x' }, T0 + 1, true);
    expect(b.state).toMatchObject({ status: 'failed', attempt: 1 });
  });
});

describe('Workflow queue: isClaimable', () => {
  it('only a queued, unleased workflow on a queue whose backoff is over', () => {
    const fresh = Workflow.create(
      { id: 'x', projectId: 'p', type: 't', steps: [{ id: 's' }], queue: 'q', requestHash: 'h' },
      T0,
    );
    expect(fresh.isClaimable(T0)).toBe(true);
    expect(leased().isClaimable(T0 + 1)).toBe(false); // leased
    const noQueue = Workflow.create(
      { id: 'y', projectId: 'p', type: 't', steps: [{ id: 's' }], requestHash: 'h' },
      T0,
    );
    expect(noQueue.isClaimable(T0)).toBe(false);
    fresh.cancel(T0 + 1);
    expect(fresh.isClaimable(T0 + 2)).toBe(false);
  });
});

describe('Workflow: markStepSlow (§13)', () => {
  it('records workflow:step:slow once per step and attempt, with elapsed and expected, and the marker', () => {
    const wf = leased();
    wf.startStep('a', T0 + 100);
    wf.takeEvents();
    wf.takeChanges();
    const updatedAt = wf.state.updatedAt;
    expect(wf.markStepSlow('a', 1, 500, T0 + 500)).toBe(false); // not past the threshold yet
    expect(wf.markStepSlow('a', 1, 500, T0 + 700)).toBe(true);
    const [ev] = wf.takeEvents();
    expect(ev).toMatchObject({
      type: EVENT_TYPES.StepSlow,
      stepId: 'a',
      attempt: 1,
      data: { status: 'running', elapsedMs: 600, expectedMs: 500 },
    });
    expect(wf.state.steps[0].slowAttempt).toBe(1);
    expect(wf.takeChanges().steps.map((s) => s.id)).toEqual(['a']);
    expect(wf.state.updatedAt).toBe(updatedAt); // not a producer's write: the stale timer is untouched
    // never twice in the same attempt
    expect(wf.markStepSlow('a', 1, 500, T0 + 5000)).toBe(false);
    expect(wf.takeEvents()).toEqual([]);
  });

  it('nothing for a step that is not running, another attempt, or a terminal workflow', () => {
    const wf = leased();
    expect(wf.markStepSlow('a', 1, 10, T0 + 1000)).toBe(false); // pending
    wf.startStep('a', T0);
    expect(wf.markStepSlow('a', 2, 10, T0 + 1000)).toBe(false); // a stale detection from another attempt
    expect(wf.markStepSlow('nope', 1, 10, T0 + 1000)).toBe(false);
    wf.cancel(T0 + 10);
    expect(wf.markStepSlow('a', 1, 10, T0 + 1000)).toBe(false);
  });

  it('a requeue starts a new attempt: the step may be reported slow again, with the new attempt', () => {
    const wf = leased({ maxAttempts: 3 });
    wf.startStep('a', T0);
    expect(wf.markStepSlow('a', 1, 10, T0 + 100)).toBe(true);
    wf.failStep('a', { message: 'x' }, T0 + 200, true); // requeued as attempt 2
    const requeued = Workflow.fromState({
      ...structuredClone(wf.state),
      leaseToken: TOKEN,
      leaseExpiresAt: T0 + 60_000,
    });
    requeued.startStep('a', T0 + 300);
    requeued.takeEvents();
    expect(requeued.markStepSlow('a', 2, 10, T0 + 400)).toBe(true);
    expect(requeued.takeEvents()[0]).toMatchObject({ type: EVENT_TYPES.StepSlow, attempt: 2 });
  });
});
