import { EVENT_TYPES, type EventEnvelope } from '../../workflows/domain/workflow.events';
import type {
  ErrorInfo,
  Eta,
  StepStatus,
  WorkflowState,
  WorkflowStatus,
} from '../../workflows/domain/workflow.types';
import type { LogView } from '../../workflows/commands/append-log/append-log.command';

export interface ActiveStep {
  id: string;
  name: string;
  weight: number;
  status: StepStatus;
  progress: number;
  current: number | null;
  total: number | null;
  message: string | null;
}

/** A workflow as the read model keeps it: its live state, its last logs and its last events. */
export interface ActiveWorkflow {
  id: string;
  projectId: string;
  type: string;
  name: string | null;
  status: WorkflowStatus;
  progress: number;
  eta: Eta;
  error: ErrorInfo | null;
  steps: ActiveStep[];
  startedAt: string | null;
  finishedAt: string | null;
  /** Seq of the last event reflected here: events at or below it are already applied. */
  lastSeq: number;
  logs: LogView[];
  events: EventEnvelope[];
}

export interface ActiveWorkflowsLimits {
  logs: number;
  events: number;
  /** How long a finished workflow stays after it ends. */
  keepFinishedMs: number;
}

export const DEFAULT_LIMITS: ActiveWorkflowsLimits = { logs: 50, events: 100, keepFinishedMs: 5 * 60_000 };

const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A rebuild snapshot from a workflow's committed state (rows), with its recent logs. */
export function snapshotOf(s: Readonly<WorkflowState>, eta: Eta, logs: LogView[]): ActiveWorkflow {
  return {
    id: s.id,
    projectId: s.projectId,
    type: s.type,
    name: s.name,
    status: s.status,
    progress: s.progress,
    eta,
    error: s.error,
    steps: s.steps.map((st) => ({
      id: st.id,
      name: st.name,
      weight: st.weight,
      status: st.status,
      progress: st.progress,
      current: st.current,
      total: st.total,
      message: st.message,
    })),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    lastSeq: s.lastSeq,
    logs,
    events: [],
  };
}

/**
 * The pure part of the active-workflows read model: per project, the workflows that are active or finished
 * less than `keepFinishedMs` ago, folded from committed events (in seq order per project, as the EventBus
 * delivers them). While a rebuild from the database runs, events are held and applied after its snapshots,
 * skipping what a snapshot already reflects (seq ≤ its lastSeq).
 */
export class ActiveWorkflows {
  private readonly projects = new Map<string, Map<string, ActiveWorkflow>>();
  private held: EventEnvelope[] | null = null;

  constructor(private readonly limits: ActiveWorkflowsLimits = DEFAULT_LIMITS) {}

  /** Holds events from now on, until finishRebuild. */
  startRebuild(): void {
    this.held ??= [];
  }

  finishRebuild(snapshots: Iterable<ActiveWorkflow>): void {
    const held = this.held ?? [];
    this.held = null;
    for (const snap of snapshots) this.load(snap);
    for (const env of held) this.apply(env);
  }

  apply(env: EventEnvelope): void {
    if (this.held) {
      this.held.push(env);
      return;
    }
    if (!env.workflowId) return;
    let wf = this.projects.get(env.projectId)?.get(env.workflowId);
    if (!wf) {
      // a workflow first seen after its creation is one the rebuild did not keep (long finished): ignore
      if (env.type !== EVENT_TYPES.WorkflowCreated) return;
      wf = this.fromCreated(env);
      this.put(wf);
    } else if (env.seq <= wf.lastSeq) return;
    wf.lastSeq = env.seq;
    push(wf.events, env, this.limits.events);
    const d = env.data as Record<string, any>;
    switch (env.type) {
      case EVENT_TYPES.WorkflowCreated:
        return;
      case EVENT_TYPES.LogAppended:
        if (!wf.logs.some((l) => l.id === d.id)) push(wf.logs, d as LogView, this.limits.logs);
        return;
      case EVENT_TYPES.StepStarted:
      case EVENT_TYPES.StepProgressRecorded:
      case EVENT_TYPES.StepCompleted:
      case EVENT_TYPES.StepFailed:
      case EVENT_TYPES.StepSkipped: {
        const step = wf.steps.find((st) => st.id === env.stepId);
        if (step) {
          for (const k of ['status', 'progress', 'current', 'total', 'message'] as const)
            if (d[k] !== undefined) (step as any)[k] = d[k];
        }
        if (typeof d.workflowProgress === 'number') wf.progress = d.workflowProgress;
        if (d.eta) wf.eta = d.eta;
        return;
      }
      default:
        this.applyWorkflowEvent(wf, env, d);
    }
  }

  /** A snapshot replaces what is held unless what is held is newer; logs are merged by id. */
  load(snap: ActiveWorkflow): void {
    const cur = this.projects.get(snap.projectId)?.get(snap.id);
    if (!cur) {
      this.put(snap);
      return;
    }
    const logs = mergeLogs(cur.logs, snap.logs, this.limits.logs);
    if (cur.lastSeq >= snap.lastSeq) cur.logs = logs;
    else Object.assign(cur, { ...snap, logs, events: cur.events });
  }

  /** Drops workflows that finished keepFinishedMs or longer ago. */
  prune(now: number): void {
    for (const [projectId, wfs] of this.projects) {
      for (const [id, wf] of wfs) if (this.expired(wf, now)) wfs.delete(id);
      if (wfs.size === 0) this.projects.delete(projectId);
    }
  }

  /** The project's workflows, in the order they were first seen (creation order). */
  list(projectId: string, now: number): readonly Readonly<ActiveWorkflow>[] {
    const wfs = this.projects.get(projectId);
    return wfs ? [...wfs.values()].filter((wf) => !this.expired(wf, now)) : [];
  }

  get(projectId: string, workflowId: string): Readonly<ActiveWorkflow> | undefined {
    return this.projects.get(projectId)?.get(workflowId);
  }

  projectIds(): string[] {
    return [...this.projects.keys()];
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private applyWorkflowEvent(wf: ActiveWorkflow, env: EventEnvelope, d: Record<string, any>): void {
    if (typeof d.status === 'string') wf.status = d.status as WorkflowStatus;
    if (typeof d.progress === 'number') wf.progress = d.progress;
    if (d.eta) wf.eta = d.eta;
    if (d.error !== undefined) wf.error = d.error;
    if (env.type === EVENT_TYPES.WorkflowStarted) wf.startedAt = env.at;
    if (env.type === EVENT_TYPES.WorkflowRequeued) {
      // a requeued workflow starts over: steps back to pending, no longer finished
      wf.status = typeof d.status === 'string' ? (d.status as WorkflowStatus) : 'queued';
      wf.progress = typeof d.progress === 'number' ? d.progress : 0;
      wf.finishedAt = null;
      for (const st of wf.steps)
        Object.assign(st, { status: 'pending', progress: 0, current: null, total: null, message: null });
    }
    if (TERMINAL.has(wf.status)) {
      wf.finishedAt = env.at;
      // as the aggregate does: steps still pending or running end cancelled (without events of their own)
      for (const st of wf.steps)
        if (st.status === 'pending' || st.status === 'running') st.status = 'cancelled';
    }
  }

  private fromCreated(env: EventEnvelope): ActiveWorkflow {
    const d = env.data as Record<string, any>;
    return {
      id: env.workflowId!,
      projectId: env.projectId,
      type: d.type,
      name: d.name ?? null,
      status: d.status ?? 'queued',
      progress: d.progress ?? 0,
      eta: d.eta ?? { remainingMs: null, finishAt: null, basis: 'none' },
      error: null,
      steps: ((d.steps ?? []) as { id: string; name?: string; weight?: number }[]).map((st) => ({
        id: st.id,
        name: st.name ?? st.id,
        weight: st.weight ?? 1,
        status: 'pending',
        progress: 0,
        current: null,
        total: null,
        message: null,
      })),
      startedAt: null,
      finishedAt: null,
      lastSeq: 0,
      logs: [],
      events: [],
    };
  }

  private put(wf: ActiveWorkflow): void {
    let wfs = this.projects.get(wf.projectId);
    if (!wfs) this.projects.set(wf.projectId, (wfs = new Map()));
    wfs.set(wf.id, wf);
  }

  private expired(wf: ActiveWorkflow, now: number): boolean {
    return (
      TERMINAL.has(wf.status) &&
      wf.finishedAt !== null &&
      Date.parse(wf.finishedAt) + this.limits.keepFinishedMs <= now
    );
  }
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

function mergeLogs(a: LogView[], b: LogView[], max: number): LogView[] {
  const byId = new Map<number, LogView>();
  for (const l of [...a, ...b]) byId.set(l.id, l);
  return [...byId.values()].sort((x, y) => x.id - y.id).slice(-max);
}
