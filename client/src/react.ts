import { useEffect, useState } from 'react';
import { applyEvent } from './apply-event.js';
import { SteplineError } from './errors.js';
import type { ListWorkflowsFilter, Stepline } from './stepline.js';
import type { SteplineEvent, Workflow, WorkflowStatus } from './types.js';
import type { Watch, WatchStatus } from './watcher.js';

export type LiveStatus = 'loading' | 'live' | 'reconnecting' | 'offline';

export interface LiveResult<T> {
  data: T | undefined;
  status: LiveStatus;
  error: SteplineError | undefined;
}

const asError = (err: unknown): SteplineError =>
  err instanceof SteplineError ? err : new SteplineError(0, 'network_error', String(err));

function liveStatus(s: WatchStatus, loaded: boolean): LiveStatus {
  if (s === 'offline' || s === 'closed') return 'offline';
  if (s === 'reconnecting') return 'reconnecting';
  return s === 'live' && loaded ? 'live' : 'loading';
}

/** One workflow, live: read once, then kept current by its events (`join_job` from its `lastSeq`). */
export function useWorkflow(sl: Stepline, id: string | undefined | null): LiveResult<Workflow> {
  const [state, setState] = useState<LiveResult<Workflow>>({
    data: undefined,
    status: 'loading',
    error: undefined,
  });
  useEffect(() => {
    if (!id) return;
    let closed = false;
    let watch: Watch | undefined;
    let cur: Workflow | undefined;
    let socket: WatchStatus = 'connecting';
    setState({ data: undefined, status: 'loading', error: undefined });
    // an error before anything was read (a 404, a 403) will not go away by itself: offline
    const publish = (error?: SteplineError) =>
      !closed &&
      setState({
        data: cur,
        status: error && !cur ? 'offline' : liveStatus(socket, cur !== undefined),
        error,
      });
    const reread = () =>
      sl.getWorkflow(id).then(
        (wf) => {
          if (!cur || wf.lastSeq >= cur.lastSeq) cur = wf;
          publish();
        },
        (err) => publish(asError(err)),
      );
    sl.getWorkflow(id).then(
      (wf) => {
        if (closed) return;
        cur = wf;
        watch = sl.watch(wf.projectId, {
          workflowId: id,
          since: wf.lastSeq,
          onEvent: (e) => {
            if (!cur) return;
            const next = applyEvent(cur, e);
            if (next === undefined) void reread();
            else if (next !== cur) {
              cur = next;
              publish();
            }
          },
          onReset: (snap) => {
            const wf2 = snap.workflows.find((w) => w.id === id);
            if (wf2) {
              cur = wf2;
              publish();
            } else void reread();
          },
          onStatus: (s, err) => {
            socket = s;
            publish(err);
          },
        });
        publish();
      },
      (err) => publish(asError(err)),
    );
    return () => {
      closed = true;
      watch?.close();
    };
  }, [sl, id]);
  return state;
}

export interface ProjectWorkflowsFilter {
  status?: ListWorkflowsFilter['status'];
  type?: string;
  /** At most this many, newest first (default 50). */
  limit?: number;
}

const STATUS_EVENTS = new Set([
  'workflow:created',
  'workflow:started',
  'workflow:step:started',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'workflow:requeued',
]);

/** A project's workflows (newest first, optionally filtered), live. */
export function useProjectWorkflows(
  sl: Stepline,
  projectId: string | undefined | null,
  filter: ProjectWorkflowsFilter = {},
): LiveResult<Workflow[]> {
  const [state, setState] = useState<LiveResult<Workflow[]>>({
    data: undefined,
    status: 'loading',
    error: undefined,
  });
  const key = JSON.stringify([filter.status ?? null, filter.type ?? null, filter.limit ?? null]);
  useEffect(() => {
    if (!projectId) return;
    const f = JSON.parse(key) as [WorkflowStatus | WorkflowStatus[] | null, string | null, number | null];
    const st = f[0];
    const statuses = st === null ? undefined : new Set<string>(Array.isArray(st) ? st : [st]);
    const type = f[1] ?? undefined;
    const limit = f[2] ?? 50;
    const matches = (w: Workflow) => (!statuses || statuses.has(w.status)) && (!type || w.type === type);

    let closed = false;
    let loaded = false;
    let socket: WatchStatus = 'connecting';
    const byId = new Map<string, Workflow>();
    const held: SteplineEvent[] = [];
    const fetching = new Set<string>();
    setState({ data: undefined, status: 'loading', error: undefined });

    const publish = (error?: SteplineError) => {
      if (closed) return;
      const data = loaded
        ? [...byId.values()]
            .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
            .slice(0, limit)
        : undefined;
      setState({ data, status: error && !loaded ? 'offline' : liveStatus(socket, loaded), error });
    };
    const put = (wf: Workflow) => {
      const had = byId.get(wf.id);
      if (had && had.lastSeq > wf.lastSeq) return;
      if (matches(wf)) byId.set(wf.id, wf);
      else byId.delete(wf.id);
    };
    const fetchOne = (wfId: string) => {
      if (fetching.has(wfId)) return;
      fetching.add(wfId);
      sl.getWorkflow(wfId).then(
        (wf) => {
          fetching.delete(wfId);
          put(wf);
          publish();
        },
        () => fetching.delete(wfId),
      );
    };
    const apply = (e: SteplineEvent) => {
      const wf = byId.get(e.workflowId);
      if (!wf) {
        if (STATUS_EVENTS.has(e.type)) fetchOne(e.workflowId);
        return;
      }
      const next = applyEvent(wf, e);
      if (next === undefined) fetchOne(e.workflowId);
      else if (next !== wf) put(next);
    };
    const load = () =>
      sl.listWorkflows(projectId, { status: f[0] ?? undefined, type, limit }).then(
        (page) => {
          for (const w of page.items) put(w);
          loaded = true;
          for (const e of held.splice(0)) apply(e);
          publish();
        },
        (err) => publish(asError(err)),
      );

    const watch = sl.watch(projectId, {
      onEvent: (e) => {
        if (!loaded) held.push(e);
        else {
          apply(e);
          publish();
        }
      },
      onReset: (snap) => {
        byId.clear();
        for (const w of snap.workflows) put(w);
        publish();
      },
      onStatus: (s, err) => {
        socket = s;
        // the list is read once the subscription is live, so no event between the two is missed
        if (s === 'live' && !loaded) void load();
        publish(err);
      },
    });
    return () => {
      closed = true;
      watch.close();
    };
  }, [sl, projectId, key]);
  return state;
}
