import { RawJson } from '../../../common/json/raw-json';
import { json, num, parseJson } from '../../../database/sql';
import { sessionLockOf, type Workflow } from '../domain/workflow.aggregate';
import type {
  ErrorInfo,
  StepState,
  StepStatus,
  WorkflowState,
  WorkflowStatus,
} from '../domain/workflow.types';
import type { StepView, WorkflowView } from '../http/workflow.view';

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
] as const;

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
    };
  },

  toRow(s: Readonly<WorkflowState>): unknown[] {
    const active = s.status === 'queued' || s.status === 'running';
    return [
      s.id,
      s.projectId,
      s.type,
      s.name,
      s.status,
      s.progress,
      s.queue,
      s.attempt,
      s.maxAttempts,
      s.sessionId,
      active && s.sessionId ? sessionLockOf(s.projectId, s.sessionId) : null,
      json(s.metadata),
      json(s.error),
      s.requestHash,
      s.staleAfterMs,
      active ? s.updatedAt + s.staleAfterMs : null,
      s.availableAt,
      s.leaseToken,
      s.leaseExpiresAt,
      s.workerId,
      s.createdAt,
      s.startedAt,
      s.finishedAt,
      s.updatedAt,
      s.lastSeq,
      s.createdSeq,
    ];
  },

  stepToRow(workflowId: string, position: number, st: StepState): unknown[] {
    return [
      workflowId,
      st.id,
      position,
      st.name,
      st.weight,
      st.status,
      st.progress,
      st.current,
      st.total,
      st.message,
      st.startedAt,
      st.finishedAt,
      json(st.result),
      json(st.error),
      json(st.metrics),
    ];
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
    };
  },
};
