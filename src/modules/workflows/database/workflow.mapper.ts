import { RawJson } from '../../../common/json/raw-json';
import { json, num, parseJson } from '../../../database/sql';
import type { Workflow } from '../domain/workflow.aggregate';
import type {
  ChildState,
  ErrorInfo,
  StepState,
  StepStatus,
  WorkflowState,
  WorkflowStatus,
} from '../domain/workflow.types';
import type { StepView, WorkflowView } from '../views/workflow.view';

export const WORKFLOW_COLUMNS = [
  'id',
  'project_id',
  'type',
  'name',
  'status',
  'progress',
  'queue',
  'attempt',
  'max_attempts',
  'session_id',
  'session_lock',
  'metadata',
  'error',
  'request_hash',
  'stale_after_ms',
  'stale_at',
  'available_at',
  'lease_token',
  'lease_expires_at',
  'worker_id',
  'created_at',
  'started_at',
  'finished_at',
  'updated_at',
  'last_seq',
  'created_seq',
  'parent_workflow_id',
  'parent_step_id',
  'depth',
  'half_at',
  'half_estimate_ms',
] as const;

export const STEP_COLUMNS = [
  'workflow_id',
  'id',
  'position',
  'name',
  'weight',
  'status',
  'progress',
  'current',
  'total',
  'message',
  'started_at',
  'finished_at',
  'result',
  'error',
  'metrics',
  'children',
  'slow_attempt',
] as const;

export type WorkflowRow = Record<(typeof WORKFLOW_COLUMNS)[number], unknown>;
export type StepRow = Record<(typeof STEP_COLUMNS)[number], unknown>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Rows ⇄ aggregate state ⇄ response DTOs. */
export const WorkflowMapper = {
  /**
   * `rawResults` (the write path): results stay the stored JSON text (RawJson), parsed only if looked at,
   * and their stored size is known without serialising them again.
   */
  stepFromRow(r: any, rawResults = false): StepState {
    return {
      id: r.id,
      name: r.name,
      weight: Number(r.weight),
      status: r.status as StepStatus,
      progress: Number(r.progress),
      current: num(r.current),
      total: num(r.total),
      message: r.message ?? null,
      startedAt: num(r.started_at),
      finishedAt: num(r.finished_at),
      result:
        rawResults && r.result !== null && r.result !== undefined
          ? new RawJson(String(r.result))
          : parseJson(r.result),
      error: parseJson<ErrorInfo>(r.error),
      metrics: parseJson<Record<string, unknown>>(r.metrics),
      children: parseJson<ChildState[]>(r.children) ?? [],
      slowAttempt: num(r.slow_attempt),
    };
  },

  fromRows(r: any, steps: StepState[]): WorkflowState {
    return {
      id: r.id,
      projectId: r.project_id,
      type: r.type,
      name: r.name ?? null,
      status: r.status as WorkflowStatus,
      progress: Number(r.progress),
      steps,
      queue: r.queue ?? null,
      attempt: Number(r.attempt),
      maxAttempts: Number(r.max_attempts),
      sessionId: r.session_id ?? null,
      metadata: parseJson<Record<string, unknown>>(r.metadata) ?? {},
      error: parseJson<ErrorInfo>(r.error),
      staleAfterMs: Number(r.stale_after_ms),
      requestHash: r.request_hash,
      createdAt: Number(r.created_at),
      startedAt: num(r.started_at),
      finishedAt: num(r.finished_at),
      updatedAt: Number(r.updated_at),
      lastSeq: Number(r.last_seq),
      createdSeq: Number(r.created_seq),
      availableAt: num(r.available_at),
      leaseToken: r.lease_token ?? null,
      leaseExpiresAt: num(r.lease_expires_at),
      workerId: r.worker_id ?? null,
      parent: r.parent_workflow_id ? { workflowId: r.parent_workflow_id, stepId: r.parent_step_id } : null,
      depth: Number(r.depth ?? 0),
      halfAt: num(r.half_at),
      halfEstimateMs: num(r.half_estimate_ms),
    };
  },

  /** The session lock and stale_at come from the aggregate: each rule has its one definition there. */
  toRow(wf: Workflow): WorkflowRow {
    const s = wf.state;
    return {
      id: s.id,
      project_id: s.projectId,
      type: s.type,
      name: s.name,
      status: s.status,
      progress: s.progress,
      queue: s.queue,
      attempt: s.attempt,
      max_attempts: s.maxAttempts,
      session_id: s.sessionId,
      session_lock: wf.sessionLock,
      metadata: json(s.metadata),
      error: json(s.error),
      request_hash: s.requestHash,
      stale_after_ms: s.staleAfterMs,
      stale_at: wf.staleAt,
      available_at: s.availableAt,
      lease_token: s.leaseToken,
      lease_expires_at: s.leaseExpiresAt,
      worker_id: s.workerId,
      created_at: s.createdAt,
      started_at: s.startedAt,
      finished_at: s.finishedAt,
      updated_at: s.updatedAt,
      last_seq: s.lastSeq,
      created_seq: s.createdSeq,
      parent_workflow_id: s.parent?.workflowId ?? null,
      parent_step_id: s.parent?.stepId ?? null,
      depth: s.depth,
      half_at: s.halfAt,
      half_estimate_ms: s.halfEstimateMs,
    };
  },

  stepToRow(workflowId: string, position: number, st: StepState): StepRow {
    return {
      workflow_id: workflowId,
      id: st.id,
      position,
      name: st.name,
      weight: st.weight,
      status: st.status,
      progress: st.progress,
      current: st.current,
      total: st.total,
      message: st.message,
      started_at: st.startedAt,
      finished_at: st.finishedAt,
      result: json(st.result),
      error: json(st.error),
      metrics: json(st.metrics),
      children: st.children.length ? json(st.children) : null,
      slow_attempt: st.slowAttempt,
    };
  },

  stepView(st: StepState): StepView {
    return {
      id: st.id,
      name: st.name,
      weight: st.weight,
      status: st.status,
      progress: st.progress,
      current: st.current,
      total: st.total,
      message: st.message,
      startedAt: iso(st.startedAt),
      finishedAt: iso(st.finishedAt),
      durationMs: st.startedAt !== null && st.finishedAt !== null ? st.finishedAt - st.startedAt : null,
      result: st.result ?? null,
      error: st.error,
      metrics: st.metrics,
      children: st.children.map((c) => c.id),
    };
  },

  toView(wf: Workflow, now: number): WorkflowView {
    const s = wf.state;
    return {
      id: s.id,
      projectId: s.projectId,
      type: s.type,
      name: s.name,
      status: s.status,
      progress: s.progress,
      steps: s.steps.map((st) => WorkflowMapper.stepView(st)),
      queue: s.queue,
      attempt: s.attempt,
      maxAttempts: s.maxAttempts,
      sessionId: s.sessionId,
      metadata: s.metadata,
      error: s.error,
      eta: wf.eta(now),
      createdAt: iso(s.createdAt)!,
      startedAt: iso(s.startedAt),
      finishedAt: iso(s.finishedAt),
      updatedAt: iso(s.updatedAt)!,
      lastSeq: s.lastSeq,
      parent: s.parent,
    };
  },
};
