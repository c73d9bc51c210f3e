import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../../common/errors/domain-error';
import { RawJson } from '../../../common/json/raw-json';
import { EVENT_TYPES, EventType, PendingEvent } from '../../../common/events/event-types';
import { invalidTransition, leaseLost, progressRegression, stepNotFound } from './workflow.errors';
import { progressFromCount, workflowProgress } from './progress';
import { estimateEta, MAX_ETA_MS, type StepMedians } from './eta-estimator';
import {
  ChildState,
  ErrorInfo,
  Eta,
  MAX_DEPTH,
  ParentRef,
  StepState,
  TERMINAL_STEP,
  TERMINAL_WORKFLOW,
  WorkflowState,
  WorkflowStatus,
} from './workflow.types';

export interface NewWorkflow {
  id: string;
  projectId: string;
  type: string;
  name?: string | null;
  steps: { id: string; name?: string | null; weight?: number }[];
  queue?: string | null;
  maxAttempts?: number;
  sessionId?: string | null;
  staleAfterMs?: number;
  metadata?: Record<string, unknown>;
  requestHash: string;
  parent?: ParentRef | null;
  /** The parent's depth + 1 (0 for a root). */
  depth?: number;
}

export interface ProgressInput {
  progress?: number;
  current?: number;
  total?: number;
  message?: string;
  metrics?: Record<string, unknown>;
}

/** Backoff before attempt n (n ≥ 2): 1 s · 2^(n−2), at most 60 s. */
export const requeueBackoffMs = (attempt: number) => Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 2));

/**
 * Lease tokens compared in constant time (timingSafeEqual wants equal lengths: a length mismatch is
 * answered at once, which tells only the length, and every token has the same length anyway).
 */
export function sameToken(given: string, held: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(held, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** UTF-8 bytes of a value stored as JSON (a RawJson's stored text as it is). */
const storedBytes = (v: unknown): number =>
  v === null || v === undefined
    ? 0
    : Buffer.byteLength(v instanceof RawJson ? v.text : (JSON.stringify(v) ?? ''), 'utf8');

export const sessionLockOf = (projectId: string, sessionId: string) => `${projectId}/${sessionId}`;

/** A step as it is before it ever ran (at creation, and again when a requeue resets it). */
const pendingStep = () =>
  ({
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
    resultBytes: 0,
    slowAttempt: null,
  }) satisfies Omit<StepState, 'id' | 'name' | 'weight' | 'children'>;

/** What `snapshot()` keeps: the state and the bookkeeping of what is still to be written and announced. */
export interface WorkflowSnapshot {
  readonly s: WorkflowState;
  readonly pending: PendingEvent[];
  readonly dirtySteps: Set<string>;
  readonly dirty: boolean;
  readonly created: boolean;
}

const NO_EVENTS: readonly PendingEvent[] = Object.freeze([]);

export const DEFAULT_LEASE_MS = 30_000;
/** §10: the results of one workflow's steps add up to at most 1 MiB. */
export const MAX_WORKFLOW_RESULT_BYTES = 1024 * 1024;
export const DEFAULT_STALE_AFTER_MS = 30 * 60 * 1000;

/**
 * The Workflow aggregate: every rule of a workflow and its steps, as pure code. Methods either throw a
 * DomainError before changing anything, or change state and record the events that describe the change.
 * Persistence and publishing happen elsewhere (the unit of work), after which the events are taken.
 */
export class Workflow {
  private pending: PendingEvent[] = [];
  private dirtySteps = new Set<string>();
  private dirty = false;
  private created = false;
  /** Step medians of this workflow's type (ETA history), given by the unit of work; not part of its state. */
  private etaHistory: StepMedians | undefined;

  private constructor(private s: WorkflowState) {}

  static create(input: NewWorkflow, now: number, etaHistory?: StepMedians): Workflow {
    const wf = new Workflow({
      id: input.id,
      projectId: input.projectId,
      type: input.type,
      name: input.name ?? null,
      status: 'queued',
      progress: 0,
      steps: input.steps.map((st) => ({
        id: st.id,
        name: st.name ?? st.id,
        weight: st.weight ?? 1,
        ...pendingStep(),
        children: [],
      })),
      queue: input.queue ?? null,
      attempt: 1,
      maxAttempts: input.maxAttempts ?? 1,
      sessionId: input.sessionId ?? null,
      metadata: input.metadata ?? {},
      error: null,
      staleAfterMs: input.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
      requestHash: input.requestHash,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
      lastSeq: 0,
      createdSeq: 0,
      availableAt: input.queue ? now : null,
      leaseToken: null,
      leaseExpiresAt: null,
      workerId: null,
      parent: input.parent ?? null,
      depth: input.depth ?? 0,
      halfAt: null,
      halfEstimateMs: null,
    });
    wf.etaHistory = etaHistory;
    wf.created = true;
    wf.dirty = true;
    for (const st of wf.s.steps) wf.dirtySteps.add(st.id);
    wf.record(EVENT_TYPES.WorkflowCreated, null, now, {
      ...wf.workflowData(now),
      type: wf.s.type,
      name: wf.s.name,
      queue: wf.s.queue,
      steps: wf.s.steps.map((st) => ({ id: st.id, name: st.name, weight: st.weight })),
      parent: wf.s.parent,
    });
    return wf;
  }

  static fromState(state: WorkflowState): Workflow {
    return new Workflow(state);
  }

  get id(): string {
    return this.s.id;
  }
  get projectId(): string {
    return this.s.projectId;
  }
  get type(): string {
    return this.s.type;
  }
  get status(): WorkflowStatus {
    return this.s.status;
  }
  get parent(): ParentRef | null {
    return this.s.parent;
  }
  get depth(): number {
    return this.s.depth;
  }
  /** Ids of every child workflow of every step. */
  get childIds(): string[] {
    const out: string[] = [];
    for (const st of this.s.steps) for (const c of st.children) out.push(c.id);
    return out;
  }
  get requestHash(): string {
    return this.s.requestHash;
  }
  /** "<projectId>/<sessionId>" while the workflow is active and has a session; null otherwise. */
  get sessionLock(): string | null {
    return this.s.sessionId && !this.isTerminal ? sessionLockOf(this.s.projectId, this.s.sessionId) : null;
  }
  /** When the stalled reaper may fail it: staleAfterMs after its last write while active; null once terminal. */
  get staleAt(): number | null {
    return this.isTerminal ? null : this.s.updatedAt + this.s.staleAfterMs;
  }
  get isTerminal(): boolean {
    return TERMINAL_WORKFLOW.has(this.s.status);
  }
  get isNew(): boolean {
    return this.created;
  }
  get isDirty(): boolean {
    return this.dirty;
  }
  /** Read-only view of the state; callers copy before keeping it. */
  get state(): Readonly<WorkflowState> {
    return this.s;
  }

  // ---- transitions -------------------------------------------------------------------------------------

  startStep(stepId: string, now: number, message?: string): void {
    this.assertWritable();
    const step = this.step(stepId);
    if (step.status !== 'pending') throw invalidTransition(`step ${stepId} is ${step.status}, not pending`);
    this.beginStep(step, now, message);
  }

  /** Returns false when nothing observable changed (same value again): no write, no event. */
  recordProgress(stepId: string, input: ProgressInput, now: number): boolean {
    this.assertWritable();
    const step = this.step(stepId);
    if (TERMINAL_STEP.has(step.status)) throw invalidTransition(`step ${stepId} is ${step.status}`);
    this.assertNoChildren(step);
    const total = input.total ?? (input.current !== undefined ? step.total : null);
    if (input.current !== undefined && (total === null || total === undefined))
      throw invalidTransition('current needs a total');
    if (input.current !== undefined && total !== null && input.current > total)
      throw invalidTransition('current exceeds total');
    const value =
      input.progress ??
      (input.current !== undefined && total ? progressFromCount(input.current, total) : undefined);
    if (value === undefined) throw invalidTransition('progress or current+total is required');
    if (value < step.progress) throw progressRegression(step.progress, value);
    if (step.status === 'running') {
      const same =
        value === step.progress &&
        (input.current === undefined || input.current === step.current) &&
        (input.total === undefined || input.total === step.total) &&
        (input.message === undefined || input.message === step.message) &&
        (input.metrics === undefined || JSON.stringify(input.metrics) === JSON.stringify(step.metrics));
      if (same) return false;
    }
    if (step.status === 'pending') this.beginStep(step, now, undefined);
    step.progress = value;
    if (input.current !== undefined) step.current = input.current;
    if (input.total !== undefined || input.current !== undefined) step.total = total ?? null;
    if (input.message !== undefined) step.message = input.message;
    if (input.metrics !== undefined) step.metrics = input.metrics;
    this.touchStep(step, now);
    this.record(EVENT_TYPES.StepProgressRecorded, step.id, now, this.stepData(step, now));
    return true;
  }

  completeStep(stepId: string, now: number, result?: unknown, message?: string): void {
    this.assertWritable();
    const step = this.step(stepId);
    if (step.status !== 'pending' && step.status !== 'running')
      throw invalidTransition(`step ${stepId} is ${step.status}`);
    this.assertNoChildren(step);
    const resultBytes = result === undefined ? undefined : this.assertResultBudget(step, result);
    this.finishStep(step, now, result, message, resultBytes);
  }

  private finishStep(
    step: StepState,
    now: number,
    result?: unknown,
    message?: string,
    resultBytes?: number,
  ): void {
    if (step.status === 'pending') this.beginStep(step, now, undefined);
    step.status = 'completed';
    step.progress = 100;
    if (step.total !== null) step.current = step.total;
    step.startedAt ??= now;
    step.finishedAt = now;
    if (message !== undefined) step.message = message;
    if (result !== undefined) {
      step.result = result;
      step.resultBytes = resultBytes;
    }
    this.touchStep(step, now);
    this.record(EVENT_TYPES.StepCompleted, step.id, now, {
      ...this.stepData(step, now),
      result: step.result,
    });
    this.completeIfDone(now);
  }

  /**
   * §10: the results of a workflow's steps add up to at most MAX_WORKFLOW_RESULT_BYTES (as stored, JSON in
   * UTF-8); a result that would pass it is refused before anything changes. Returns the result's size.
   */
  private assertResultBudget(step: StepState, result: unknown): number {
    const bytes = storedBytes(result);
    let others = 0;
    for (const st of this.s.steps) if (st !== step) others += st.resultBytes ??= storedBytes(st.result);
    if (others + bytes > MAX_WORKFLOW_RESULT_BYTES)
      throw new DomainError(
        'payload_too_large',
        `the results of workflow ${this.s.id} would add up to ${others + bytes} bytes; at most ${MAX_WORKFLOW_RESULT_BYTES} are kept per workflow`,
      );
    return bytes;
  }

  /** The step fails and so does the workflow, unless it is retryable and a queued workflow has attempts left. */
  failStep(stepId: string, error: ErrorInfo, now: number, retryable = false): void {
    this.assertWritable();
    const step = this.step(stepId);
    if (step.status !== 'pending' && step.status !== 'running')
      throw invalidTransition(`step ${stepId} is ${step.status}`);
    step.status = 'failed';
    step.startedAt ??= now;
    step.finishedAt = now;
    step.error = error;
    this.touchStep(step, now);
    this.record(EVENT_TYPES.StepFailed, step.id, now, { ...this.stepData(step, now), error });
    if (retryable && this.s.queue !== null && this.s.attempt < this.s.maxAttempts) {
      this.requeue(now, 'step_failed', error);
      return;
    }
    this.finish('failed', now, error);
    this.record(EVENT_TYPES.WorkflowFailed, null, now, { ...this.workflowData(now), error });
  }

  // ---- parent and child workflows (§14) ----------------------------------------------------------------

  /**
   * A child is created under one of this workflow's steps: the workflow not terminal, the step pending or
   * running, and at most MAX_DEPTH generations below the root. Returns the child's depth.
   */
  addChild(stepId: string, childId: string, now: number): number {
    this.assertWritable();
    const step = this.step(stepId);
    if (step.status !== 'pending' && step.status !== 'running')
      throw invalidTransition(`step ${stepId} is ${step.status}: it takes no children`);
    if (this.s.depth + 1 > MAX_DEPTH)
      throw invalidTransition(
        `a child of ${this.s.id} would be more than ${MAX_DEPTH} levels below its root`,
      );
    step.children.push({ id: childId, status: 'queued', progress: 0, remainingMs: null });
    this.dirtySteps.add(step.id);
    this.s.updatedAt = now;
    this.dirty = true;
    if (step.status === 'running') this.rollUp(step, now);
    return this.s.depth + 1;
  }

  /** What a parent step keeps of this workflow. */
  childState(now: number): ChildState {
    return {
      id: this.s.id,
      status: this.s.status,
      progress: this.s.progress,
      remainingMs: this.isTerminal ? 0 : this.eta(now).remainingMs,
    };
  }

  /**
   * The roll-up, in the child's commit: the step starts with its first started child, its progress is
   * floor(mean of its children's progress), it completes when every child has completed, and it fails
   * (`child_failed`, or `child_cancelled`, with `childId`) when a child fails for good or is cancelled. A
   * requeued child is queued again, not failed. Returns whether this workflow changed.
   */
  onChildChanged(stepId: string, child: ChildState, now: number): boolean {
    if (this.isTerminal) return false;
    const step = this.s.steps.find((st) => st.id === stepId);
    const entry = step?.children.find((c) => c.id === child.id);
    if (!step || !entry || TERMINAL_STEP.has(step.status)) return false;
    if (
      entry.status === child.status &&
      entry.progress === child.progress &&
      entry.remainingMs === child.remainingMs
    )
      return false;
    const progressed = entry.status !== child.status || entry.progress !== child.progress;
    Object.assign(entry, child);
    this.dirtySteps.add(step.id);
    this.dirty = true;
    if (!progressed) return true; // only the child's ETA moved: kept for the parent's, no event
    if (child.status === 'failed' || child.status === 'cancelled') {
      const code = child.status === 'failed' ? 'child_failed' : 'child_cancelled';
      this.failStep(
        step.id,
        { code, message: `child workflow ${child.id} ${child.status}`, childId: child.id },
        now,
      );
      return true;
    }
    if (step.status === 'pending' && child.status !== 'queued') this.beginStep(step, now, undefined);
    if (step.status === 'running') {
      if (step.children.every((c) => c.status === 'completed')) this.finishStep(step, now);
      else this.rollUp(step, now);
    }
    return true;
  }

  /** Recomputes a running step's progress from its children; an event when it moved. */
  private rollUp(step: StepState, now: number): void {
    const n = step.children.length;
    if (n === 0) return;
    let sum = 0;
    for (const c of step.children) sum += c.progress;
    const value = Math.floor(sum / n);
    if (value === step.progress) return;
    step.progress = value;
    this.touchStep(step, now);
    this.record(EVENT_TYPES.StepProgressRecorded, step.id, now, this.stepData(step, now));
  }

  private assertNoChildren(step: StepState): void {
    if (step.children.length > 0)
      throw invalidTransition(
        `step ${step.id} follows its child workflows: it takes no direct progress or completion`,
      );
  }

  // ---- queue: claim, fencing, leases -------------------------------------------------------------------

  /** Ready for a claimer: queued on a queue, not leased, backoff over. */
  isClaimable(now: number): boolean {
    const s = this.s;
    return s.status === 'queued' && s.queue !== null && s.leaseToken === null && (s.availableAt ?? 0) <= now;
  }

  /**
   * Fencing: a write to a workflow on a queue must carry the current, unexpired lease token. Terminal
   * workflows answer invalid_transition first (a worker's write after a cancel).
   */
  assertLease(token: string | undefined, now: number): void {
    this.assertWritable();
    if (this.s.queue === null) return;
    const s = this.s;
    if (!token || s.leaseToken === null || !sameToken(token, s.leaseToken) || (s.leaseExpiresAt ?? 0) <= now)
      throw leaseLost();
  }

  /** A claim leases the workflow to a worker (the claim path picks it with SKIP LOCKED, then calls this). */
  claim(workerId: string, token: string, leaseMs: number, now: number): void {
    if (!this.isClaimable(now)) throw invalidTransition(`workflow ${this.s.id} is not ready to be claimed`);
    const s = this.s;
    s.leaseToken = token;
    s.leaseExpiresAt = now + leaseMs;
    s.workerId = workerId;
    s.updatedAt = now;
    this.dirty = true;
  }

  heartbeat(token: string, leaseMs: number | undefined, now: number): number {
    this.assertLease(token, now);
    if (this.s.queue === null) throw leaseLost(); // on no queue there is no lease to extend
    this.s.leaseExpiresAt = now + (leaseMs ?? DEFAULT_LEASE_MS);
    this.s.updatedAt = now;
    this.dirty = true;
    return this.s.leaseExpiresAt;
  }

  /** The reaper: an expired lease requeues the workflow, or fails it when no attempt is left. */
  expireLease(now: number): boolean {
    const s = this.s;
    if (this.isTerminal || s.leaseToken === null || (s.leaseExpiresAt ?? 0) > now) return false;
    const error: ErrorInfo = {
      code: 'lease_expired',
      message: `lease of worker ${s.workerId ?? '?'} expired`,
    };
    if (s.attempt < s.maxAttempts) this.requeue(now, 'lease_expired', error);
    else {
      this.finish('failed', now, error);
      this.record(EVENT_TYPES.WorkflowFailed, null, now, { ...this.workflowData(now), error });
    }
    return true;
  }

  /** A worker shutting down gives its lease back: requeued at once, as the next attempt. */
  release(token: string, now: number): void {
    this.assertLease(token, now);
    this.requeue(now, 'released', null, 0);
  }

  /**
   * A claim whose answer never reached its worker (the request was closed while it waited): the lease is
   * dropped and the workflow is ready again as it was, the same attempt, since nobody worked on it. No event,
   * like the claim itself. Once a step has started it is an ordinary release.
   */
  unclaim(token: string, now: number): void {
    this.assertLease(token, now);
    if (this.s.status !== 'queued') return this.release(token, now);
    const s = this.s;
    s.leaseToken = null;
    s.leaseExpiresAt = null;
    s.workerId = null;
    this.dirty = true;
  }

  /** Attempt + 1, steps back to pending, ready again after 1 s · 2^(attempt−2) (at most 60 s). */
  private requeue(now: number, reason: string, error: ErrorInfo | null, backoffMs?: number): void {
    const s = this.s;
    s.attempt += 1;
    const delay = backoffMs ?? requeueBackoffMs(s.attempt);
    for (const step of s.steps) {
      Object.assign(step, pendingStep());
      this.dirtySteps.add(step.id);
    }
    s.status = 'queued';
    s.progress = 0;
    s.startedAt = null;
    s.halfAt = null;
    s.halfEstimateMs = null;
    s.leaseToken = null;
    s.leaseExpiresAt = null;
    s.workerId = null;
    s.availableAt = now + delay;
    s.updatedAt = now;
    this.dirty = true;
    this.record(EVENT_TYPES.WorkflowRequeued, null, now, {
      ...this.workflowData(now),
      queue: s.queue,
      attempt: s.attempt,
      availableAt: new Date(s.availableAt).toISOString(),
      reason,
      error,
    });
  }

  skipStep(stepId: string, now: number, message?: string): void {
    this.assertWritable();
    const step = this.step(stepId);
    if (step.status !== 'pending') throw invalidTransition(`step ${stepId} is ${step.status}, not pending`);
    step.status = 'skipped';
    step.finishedAt = now;
    if (message !== undefined) step.message = message;
    this.touchStep(step, now);
    this.record(EVENT_TYPES.StepSkipped, step.id, now, this.stepData(step, now));
    this.completeIfDone(now);
  }

  cancel(now: number, reason?: string): void {
    if (this.isTerminal) throw invalidTransition(`workflow is ${this.s.status}`);
    this.finish('cancelled', now, null);
    this.record(EVENT_TYPES.WorkflowCancelled, null, now, {
      ...this.workflowData(now),
      reason: reason ?? null,
    });
  }

  /** The stalled reaper: no write for staleAfterMs. Returns false when the workflow is not (or no longer) stale. */
  failIfStalled(now: number): boolean {
    if (this.isTerminal || this.s.updatedAt + this.s.staleAfterMs > now) return false;
    const error: ErrorInfo = { code: 'stalled', message: `no write for ${this.s.staleAfterMs} ms` };
    for (const step of this.s.steps) {
      if (step.status !== 'running') continue;
      step.status = 'failed';
      step.finishedAt = now;
      step.error = error;
      this.touchStep(step, now);
      this.record(EVENT_TYPES.StepFailed, step.id, now, { ...this.stepData(step, now), error });
    }
    this.finish('failed', now, error);
    this.record(EVENT_TYPES.WorkflowFailed, null, now, { ...this.workflowData(now), error });
    return true;
  }

  /**
   * §13: a running step has passed the slow threshold of its type (`expectedMs`): `workflow:step:slow`, once
   * per step and attempt. The marker (`slowAttempt`) is saved with the event in one commit, so a second
   * detection — by this instance or another — finds it and records nothing. Not a producer's write: the
   * stale timer (`updatedAt`) is left alone. Returns false when there is nothing to record.
   */
  markStepSlow(stepId: string, attempt: number, expectedMs: number, now: number): boolean {
    if (this.isTerminal || this.s.attempt !== attempt) return false;
    const step = this.s.steps.find((st) => st.id === stepId);
    if (!step || step.status !== 'running' || step.startedAt === null || step.slowAttempt === attempt)
      return false;
    const elapsedMs = now - step.startedAt;
    if (elapsedMs <= expectedMs) return false;
    step.slowAttempt = attempt;
    this.dirtySteps.add(step.id);
    this.record(EVENT_TYPES.StepSlow, step.id, now, { status: 'running', elapsedMs, expectedMs });
    return true;
  }

  /** A log line is a write to the workflow: refused once it is terminal. */
  appendLog(stepId: string | null, now: number, data: Record<string, unknown>): void {
    this.assertWritable();
    if (stepId !== null) this.step(stepId);
    this.s.updatedAt = now;
    this.dirty = true;
    this.record(EVENT_TYPES.LogAppended, stepId, now, data);
  }

  // ---- results for the unit of work --------------------------------------------------------------------

  takeEvents(): readonly PendingEvent[] {
    // called for every touched workflow after every op of a group: no new array when there is nothing
    if (this.pending.length === 0) return NO_EVENTS;
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Steps whose rows must be written, and whether the workflow row is new or changed. */
  takeChanges(): { steps: StepState[]; isNew: boolean; dirty: boolean } {
    const steps = this.s.steps.filter((st) => this.dirtySteps.has(st.id));
    const out = { steps, isNew: this.created, dirty: this.dirty };
    this.dirtySteps = new Set();
    this.created = false;
    this.dirty = false;
    return out;
  }

  setLastSeq(seq: number): void {
    this.s.lastSeq = seq;
    if (this.s.createdSeq === 0) this.s.createdSeq = seq; // a new workflow's first event is workflow:created
  }

  /**
   * Undo support for the group commit: a command that fails leaves the aggregate as it was. A copy of the
   * scalars and of each step is enough (and far cheaper than a deep clone on every command): the JSON
   * values they hold (metadata, result, error, metrics) are only ever replaced, never changed in place.
   */
  snapshot(): WorkflowSnapshot {
    return {
      s: {
        ...this.s,
        steps: this.s.steps.map((st) =>
          st.children.length ? { ...st, children: st.children.map((c) => ({ ...c })) } : { ...st },
        ),
      },
      pending: this.pending.slice(),
      dirtySteps: new Set(this.dirtySteps),
      dirty: this.dirty,
      created: this.created,
    };
  }

  /** Back to a snapshot, which it consumes: take a new one before the next change. */
  restore(snap: WorkflowSnapshot): void {
    this.s = snap.s;
    this.pending = snap.pending;
    this.dirtySteps = snap.dirtySteps;
    this.dirty = snap.dirty;
    this.created = snap.created;
  }

  setEtaHistory(medians: StepMedians | undefined): void {
    this.etaHistory = medians;
  }

  /** From the step medians of earlier runs of this type when known, else from this run's own rate. */
  eta(now: number): Eta {
    const eta = estimateEta(this.s, this.etaHistory, now);
    return this.withChildren(eta, now);
  }

  /**
   * A step with children is done when its last child is: the workflow has at least as long left as its
   * slowest active child (children run side by side).
   */
  private withChildren(eta: Eta, now: number): Eta {
    if (this.isTerminal) return eta;
    let longest: number | null = null;
    for (const st of this.s.steps) {
      if (TERMINAL_STEP.has(st.status)) continue;
      for (const c of st.children)
        if (c.remainingMs !== null && c.status !== 'completed')
          longest = Math.max(longest ?? 0, c.remainingMs);
    }
    if (longest === null || (eta.remainingMs !== null && eta.remainingMs >= longest)) return eta;
    // a child's estimate is capped already; one stored before the cap was may not be
    longest = Math.min(longest, MAX_ETA_MS);
    return {
      ...eta,
      // an estimate from the children's own progress, when the workflow had none of its own
      basis: eta.basis === 'none' ? 'rate' : eta.basis,
      remainingMs: longest,
      finishAt: new Date(now + longest).toISOString(),
      // §13: never below remainingMs
      remainingP90Ms: eta.remainingP90Ms === null ? null : Math.max(eta.remainingP90Ms, longest),
    };
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private step(stepId: string): StepState {
    const step = this.s.steps.find((st) => st.id === stepId);
    if (!step) throw stepNotFound(stepId);
    return step;
  }

  private assertWritable(): void {
    if (this.isTerminal) throw invalidTransition(`workflow is ${this.s.status}`);
  }

  private beginStep(step: StepState, now: number, message: string | undefined): void {
    this.startWorkflow(now);
    step.status = 'running';
    step.startedAt = now;
    if (message !== undefined) step.message = message;
    this.touchStep(step, now);
    this.record(EVENT_TYPES.StepStarted, step.id, now, this.stepData(step, now));
  }

  private startWorkflow(now: number): void {
    if (this.s.status !== 'queued') return;
    this.s.status = 'running';
    this.s.startedAt = now;
    this.s.updatedAt = now;
    this.dirty = true;
    this.record(EVENT_TYPES.WorkflowStarted, null, now, this.workflowData(now));
  }

  private touchStep(step: StepState, now: number): void {
    this.dirtySteps.add(step.id);
    const before = this.s.progress;
    this.s.progress = workflowProgress(this.s.steps);
    this.s.updatedAt = now;
    this.dirty = true;
    // §13: the history estimate when progress first reaches 50 %, kept to measure the ETA's error at the end
    if (before < 50 && this.s.progress >= 50 && this.s.progress < 100 && this.s.halfAt === null) {
      const eta = this.eta(now);
      if (eta.basis === 'history' && eta.remainingMs !== null) {
        this.s.halfAt = now;
        this.s.halfEstimateMs = eta.remainingMs;
      }
    }
  }

  private completeIfDone(now: number): void {
    if (!this.s.steps.every((st) => st.status === 'completed' || st.status === 'skipped')) return;
    this.finish('completed', now, null);
    this.record(EVENT_TYPES.WorkflowCompleted, null, now, this.workflowData(now));
  }

  private finish(status: WorkflowStatus, now: number, error: ErrorInfo | null): void {
    for (const step of this.s.steps) {
      if (step.status === 'pending' || step.status === 'running') {
        step.status = 'cancelled';
        step.finishedAt = now;
        this.dirtySteps.add(step.id);
      }
    }
    this.s.status = status;
    this.s.error = error;
    this.s.finishedAt = now;
    this.s.startedAt ??= now;
    this.s.updatedAt = now;
    this.s.progress = workflowProgress(this.s.steps);
    this.s.leaseToken = null;
    this.s.leaseExpiresAt = null;
    this.s.availableAt = null;
    this.dirty = true;
  }

  private stepData(step: StepState, now: number): Record<string, unknown> {
    return {
      status: step.status,
      progress: step.progress,
      current: step.current,
      total: step.total,
      message: step.message,
      workflowProgress: this.s.progress,
      eta: this.eta(now),
    };
  }

  private workflowData(now: number): Record<string, unknown> {
    return { status: this.s.status, progress: this.s.progress, eta: this.eta(now) };
  }

  private record(type: EventType, stepId: string | null, at: number, data: Record<string, unknown>): void {
    this.pending.push({ type, workflowId: this.s.id, stepId, attempt: this.s.attempt, at, data });
  }
}
