import { Injectable, Logger } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { DbService } from '../../../database/db.service';
import type { Statement } from '../../../database/tx';
import { insertStatements, json } from '../../../database/sql';
import { DomainError } from '../../../common/errors/domain-error';
import { MetricsService } from '../../metrics';
import { EventLogRepository } from '../../event-log';
import { toCommittedEvent } from '../../../common/events/committed-events';
import { EventBridge } from '../../cluster';
import { EtaHistory } from '../eta/eta-history';
import type { StepMedians } from '../domain/eta-estimator';
import { Workflow, type WorkflowSnapshot } from '../domain/workflow.aggregate';
import { MAX_DEPTH } from '../domain/workflow.types';
import type { Tx } from '../../../database/tx';
import { EVENT_TYPES, EventEnvelope, PendingEvent } from '../../../common/events/event-types';
import { WorkflowRepository } from './workflow.repository';
import { WorkflowMapper } from './workflow.mapper';
import type { WorkflowView } from '../views/workflow.view';

/** What a command does to the aggregates of one project, run inside the group's transaction. */
export interface WorkflowOp<R> {
  projectId: string;
  /** Workflows the op reads or writes; loaded and row-locked before the group's ops run. */
  workflowIds: string[];
  /**
   * Of `workflowIds`, the ones the op creates under an id generated here (a random UUID): no row can hold
   * it yet, so it is not looked up (for a create without a parent or session, one round trip fewer).
   */
  freshIds?: string[];
  /** Session locks ("<projectId>/<sessionId>") the op checks; their holders are loaded and locked too. */
  sessionLocks?: string[];
  /**
   * The op may end these workflows (cancel): their descendants are loaded too, and every non-terminal one is
   * cancelled in the same commit (§14).
   */
  cascadeFrom?: string[];
  /** Pure and synchronous: throws a DomainError to reject, leaving the aggregates as they were. */
  run(ctx: OpContext): R;
}

export interface OpContext {
  readonly now: number;
  get(id: string): Workflow | undefined;
  add(wf: Workflow): void;
  /** The active workflow holding a session lock, if any (including ones added earlier in this group). */
  sessionHolder(lock: string): Workflow | undefined;
  /** Rows of another table to insert in the same transaction (dropped if the op is rejected). */
  insertRow(table: string, columns: readonly string[], values: unknown[]): void;
  /** ETA history (step medians) of a workflow type of this project, for workflows the op creates. */
  etaHistory(type: string): StepMedians | undefined;
}

/** Answer for one command: its result, and the view of the workflow it names as committed. */
export interface OpOutcome<R> {
  result: R;
  view?: WorkflowView;
  /** The events this command committed, with their seqs. */
  events: EventEnvelope[];
}

interface Entry {
  op: WorkflowOp<any>;
  viewOf?: string;
  resolve(v: OpOutcome<any>): void;
  reject(e: unknown): void;
  // per attempt
  outcome?:
    | { ok: true; result: any; snapshotView?: WorkflowView; eventStart: number; eventEnd: number }
    | { ok: false; error: unknown };
}

const MAX_GROUP = 2000;

/**
 * The one write path. Commands that arrive together are applied in order to the aggregates and committed in
 * ONE transaction (group commit), whatever their projects: rows, then each project's seq counter (taken
 * last, in project order, so those locks are held as briefly as the commit allows), then the events. A
 * project is in at most one commit at a time, so its events are committed, and published, in seq order;
 * commands of other projects share the commit, and its one log flush (one fsync), instead of each running a
 * transaction of its own. Each caller is answered after that commit; a rejected command is answered with its
 * error and leaves the others untouched, and a shared transaction the database refuses is retried one
 * project at a time. Events reach the EventBus only after the commit, in seq order per project.
 *
 * The price: with several instances on one database, a commit that waits for one project's counter row
 * (held by another instance) holds the counters of the projects sorted before it meanwhile.
 */
@Injectable()
export class WorkflowUnitOfWork {
  private readonly logger = new Logger('UnitOfWork');
  /** Commands waiting for a commit, per project, in arrival order. */
  private readonly waiting = new Map<string, Entry[]>();
  /** Projects whose commands are in a commit now: their next commands wait for it. */
  private readonly committing = new Set<string>();
  /** Commits in flight (at most maxCommits). */
  private inFlight = 0;
  private pumpQueued = false;
  /** Commands in `waiting`, for stepline_commands_waiting. */
  private waitingCount = 0;
  /** SQLite runs one transaction at a time anyway; MySQL overlaps two (one flushing while the next loads). */
  private readonly maxCommits: number;

  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowRepository,
    private readonly eventLog: EventLogRepository,
    private readonly eventBus: EventBus,
    private readonly metrics: MetricsService,
    private readonly etaHistory: EtaHistory,
    private readonly bridge: EventBridge,
  ) {
    this.maxCommits = db.dialect.kind === 'sqlite' ? 1 : 2;
    metrics.countCommandsWaiting(() => this.waitingCount);
  }

  submit<R>(op: WorkflowOp<R>, viewOf?: string): Promise<OpOutcome<R>> {
    return new Promise((resolve, reject) => {
      const entry: Entry = { op, viewOf, resolve, reject };
      const queue = this.waiting.get(op.projectId);
      if (queue) queue.push(entry);
      else this.waiting.set(op.projectId, [entry]);
      this.waitingCount++;
      this.schedule();
    });
  }

  /** Yields once before taking a group, so that commands arriving in the same tick join it. */
  private schedule(): void {
    if (this.pumpQueued || this.inFlight >= this.maxCommits) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxCommits) {
      const group = this.takeGroup();
      if (group.length === 0) return;
      this.inFlight++;
      void this.commit(group).finally(() => {
        this.inFlight--;
        for (const e of group) this.committing.delete(e.op.projectId);
        if (this.waiting.size > 0) this.schedule();
      });
    }
  }

  /** The waiting commands of every project not already in a commit (oldest project first), up to MAX_GROUP. */
  private takeGroup(): Entry[] {
    const group: Entry[] = [];
    for (const [projectId, queue] of this.waiting) {
      if (this.committing.has(projectId)) continue;
      const n = Math.min(queue.length, MAX_GROUP - group.length);
      if (n === queue.length) {
        group.push(...queue);
        this.waiting.delete(projectId);
      } else {
        group.push(...queue.splice(0, n));
      }
      this.committing.add(projectId);
      if (group.length >= MAX_GROUP) break;
    }
    this.waitingCount -= group.length;
    return group;
  }

  private async commit(group: Entry[]): Promise<void> {
    this.metrics.groupSize.observe(group.length);
    let events: EventEnvelope[];
    try {
      events = await this.commitGroup(group);
    } catch (err) {
      const projects = [...new Set(group.map((e) => e.op.projectId))];
      if (projects.length > 1 && !(err instanceof DomainError)) {
        // an error of the shared transaction (a statement the database refused), not of one command: it must
        // not fail the other projects' commands, so each project is committed again on its own
        this.logger.warn(
          `a commit of ${projects.length} projects failed (${(err as Error).message}); committing them one by one`,
        );
        for (const p of projects) await this.commit(group.filter((e) => e.op.projectId === p));
        return;
      }
      if (!(err instanceof DomainError)) this.logger.error(err);
      for (const e of group) e.reject(err);
      return;
    }
    // committed: nothing below may send the group round again (the retry above is for a refused transaction)
    try {
      // other instances first (one message per commit, with REDIS_URL): their subscribers wait for nothing here
      if (events.length > 0) this.bridge.announce(events);
      for (const e of group) this.answer(e, events);
      if (events.length > 0) this.publish(events);
    } catch (err) {
      this.logger.error(err);
      // an answer not given yet is an error; one given already stays as it is
      for (const e of group) e.reject(err);
    }
  }

  private answer(e: Entry, events: EventEnvelope[]): void {
    const o = e.outcome!;
    if (!o.ok) return e.reject(o.error);
    const view = o.snapshotView;
    if (view) {
      // the seq of the last event of this workflow up to this command
      for (let i = o.eventEnd - 1; i >= 0; i--) {
        if (events[i].workflowId === view.id) {
          view.lastSeq = events[i].seq;
          break;
        }
      }
    }
    e.resolve({ result: o.result, view, events: events.slice(o.eventStart, o.eventEnd) });
  }

  private async commitGroup(group: Entry[]): Promise<EventEnvelope[]> {
    const projects = [...new Set(group.map((e) => e.op.projectId))];
    const ids = [
      ...new Set(
        group.flatMap((e) =>
          e.op.freshIds?.length
            ? e.op.workflowIds.filter((id) => !e.op.freshIds!.includes(id))
            : e.op.workflowIds,
        ),
      ),
    ];
    // before the transaction: the aggregates put ETAs into their events synchronously, inside it
    const histories = new Map(
      await Promise.all(projects.map(async (p) => [p, await this.etaHistory.forProject(p)] as const)),
    );
    // the history of the project of the op that is running
    let history = histories.get(projects[0])!;
    return this.db.transaction(async (tx) => {
      const now = Date.now();
      const locks = [...new Set(group.flatMap((e) => e.op.sessionLocks ?? []))];
      const holders = locks.length ? await this.workflows.sessionHolders(tx, locks) : [];
      // round trip 1 (on MySQL START TRANSACTION travels with it): load and row-lock the aggregates
      const loaded = await this.workflows.loadForUpdate(tx, [...new Set([...ids, ...holders])]);
      // their parents (a child's change rolls up into them in the same commit) and, for a cancel, the
      // descendants it cascades to: one more round trip per generation, only where there are any
      const cascadeFrom = [...new Set(group.flatMap((e) => e.op.cascadeFrom ?? []))];
      await this.loadFamily(tx, loaded, cascadeFrom);
      for (const wf of loaded.values()) {
        const h = histories.get(wf.projectId);
        if (h) wf.setEtaHistory(h.get(wf.type));
      }
      const touched = new Map<string, Workflow>(loaded);
      const pending: PendingEvent[] = [];
      /** The project of each pending event (its op's). */
      const pendingProject: string[] = [];
      const extraRows: { table: string; columns: readonly string[]; values: unknown[] }[] = [];
      /** What the running op added (and what it replaced): undone if it is rejected. */
      const added: [string, Workflow | undefined][] = [];
      const ctx: OpContext = {
        now,
        get: (id) => touched.get(id),
        add: (wf) => {
          wf.setEtaHistory(history.get(wf.type));
          added.push([wf.id, touched.get(wf.id)]);
          touched.set(wf.id, wf);
        },
        sessionHolder: (lock) => {
          for (const wf of touched.values()) if (wf.sessionLock === lock) return wf;
          return undefined;
        },
        etaHistory: (type) => history.get(type),
        insertRow: (table, columns, values) => extraRows.push({ table, columns, values }),
      };
      for (const e of group) {
        const snaps: [Workflow, WorkflowSnapshot][] = [];
        for (const id of e.op.workflowIds) {
          const wf = touched.get(id);
          if (wf) snaps.push([wf, wf.snapshot()]);
        }
        added.length = 0;
        const eventStart = pending.length;
        const rowsStart = extraRows.length;
        history = histories.get(e.op.projectId)!;
        try {
          const result = e.op.run(ctx);
          const cancelled: string[] = [];
          for (const id of e.op.cascadeFrom ?? [])
            this.cascadeCancel(touched.get(id), touched, now, cancelled);
          this.rollUp([...e.op.workflowIds, ...cancelled], touched, now);
          // the op's own workflows first, so that a child's events precede the roll-up they caused
          for (const id of e.op.workflowIds) pending.push(...(touched.get(id)?.takeEvents() ?? []));
          for (const wf of touched.values()) pending.push(...wf.takeEvents());
          for (let i = pendingProject.length; i < pending.length; i++) pendingProject.push(e.op.projectId);
          const wf = e.viewOf ? touched.get(e.viewOf) : undefined;
          e.outcome = {
            ok: true,
            result,
            snapshotView: wf ? WorkflowMapper.toView(wf, now) : undefined,
            eventStart,
            eventEnd: pending.length,
          };
        } catch (error) {
          for (const [wf, snap] of snaps) wf.restore(snap);
          for (const [id, prev] of added.reverse()) {
            if (prev) touched.set(id, prev);
            else touched.delete(id);
          }
          extraRows.length = rowsStart;
          e.outcome = { ok: false, error };
          if (!(error instanceof DomainError)) this.logger.error(error);
        }
      }
      const { changed, created, stepRows } = this.workflows.collectChanges(touched.values());
      if (pending.length === 0 && changed.length === 0 && extraRows.length === 0) return [];
      // an op writes only workflows of its own project, and its events are that project's
      const inGroup = new Set(projects);
      if (changed.some((wf) => !inGroup.has(wf.projectId)))
        throw new Error('a group may only write workflows of its own projects');
      for (let i = 0; i < pending.length; i++)
        if (touched.get(pending[i].workflowId)?.projectId !== pendingProject[i])
          throw new Error('an op may only write workflows of its own project');

      // round trip 2: changed steps, then the counter rows (last, in project order: their locks are the ones
      // every writer of these projects waits for, so they are held for the shortest time)
      const counts = new Map<string, number>();
      for (const p of pendingProject) counts.set(p, (counts.get(p) ?? 0) + 1);
      const counted = [...counts.keys()].sort();
      const seqs = counted.map((p) => tx.dialect.seqStatement(p, counts.get(p)!, now));
      const stepStatements = this.workflows.stepStatements(tx.dialect, stepRows);
      const first = await tx.batch([...stepStatements, ...seqs]);
      /** The next seq to hand out, per project. */
      const nextSeq = new Map<string, number>();
      counted.forEach((p, i) =>
        nextSeq.set(p, seqs[i].read(first[stepStatements.length + i]) - counts.get(p)! + 1),
      );
      // a group's events nearly all carry its `now`: format each time once
      let atMs = NaN;
      let at = '';
      const envelopes: EventEnvelope[] = pending.map((p, i) => {
        if (p.at !== atMs) {
          atMs = p.at;
          at = new Date(p.at).toISOString();
        }
        const projectId = pendingProject[i];
        const seq = nextSeq.get(projectId)!;
        nextSeq.set(projectId, seq + 1);
        return {
          seq,
          type: p.type,
          projectId,
          workflowId: p.workflowId,
          stepId: p.stepId,
          attempt: p.attempt,
          at,
          data: p.data,
        };
      });
      for (const env of envelopes) touched.get(env.workflowId!)?.setLastSeq(env.seq);
      // round trip 3: workflow rows (with their last seq), logs, rows of other tables, the events, and the
      // COMMIT (on MySQL in the same round trip; it runs only if every statement before it succeeded)
      await tx.batch(
        [
          ...this.workflows.workflowStatements(tx.dialect, changed, created),
          ...this.logStatements(envelopes),
          ...extraRows.flatMap((r) => insertStatements(r.table, r.columns, [r.values])),
          ...this.eventLog.appendStatements(envelopes),
        ],
        { commit: true },
      );
      return envelopes;
    });
  }

  /** Loads the parents of what is loaded (up to the root) and the descendants of `cascadeFrom`, locked. */
  private async loadFamily(tx: Tx, loaded: Map<string, Workflow>, cascadeFrom: string[]): Promise<void> {
    let down = cascadeFrom;
    for (let generation = 0; generation <= MAX_DEPTH + 1; generation++) {
      const want = new Set<string>();
      for (const wf of loaded.values()) {
        const p = wf.parent?.workflowId;
        if (p && !loaded.has(p)) want.add(p);
      }
      const next: string[] = [];
      for (const id of down) {
        for (const child of loaded.get(id)?.state.steps.flatMap((st) => st.children) ?? []) {
          if (child.status === 'completed' || child.status === 'failed' || child.status === 'cancelled')
            continue;
          next.push(child.id);
          if (!loaded.has(child.id)) want.add(child.id);
        }
      }
      down = next;
      if (want.size === 0 && down.length === 0) return;
      if (want.size)
        for (const [id, wf] of await this.workflows.loadForUpdate(tx, [...want])) loaded.set(id, wf);
    }
  }

  /** Cancelling a parent cancels its non-terminal descendants in the same commit. */
  private cascadeCancel(
    wf: Workflow | undefined,
    touched: Map<string, Workflow>,
    now: number,
    cancelled: string[],
  ): void {
    if (!wf || wf.status !== 'cancelled') return;
    for (const id of wf.childIds) {
      const child = touched.get(id);
      if (!child || child.isTerminal) continue;
      child.cancel(now, `parent ${wf.id} cancelled`);
      cancelled.push(child.id);
      this.cascadeCancel(child, touched, now, cancelled);
    }
  }

  /**
   * A child's change reaches its parent step, and through it the grandparent, in the same commit as the
   * change (§14): each changed workflow of the op tells its parent what it now is.
   */
  private rollUp(ids: readonly string[], touched: Map<string, Workflow>, now: number): void {
    for (const id of ids) {
      // up the chain while each level changed; the depth bound ends it even on a corrupt (cyclic) chain.
      // A parent reached twice (two of its children in one op) is told again: unchanged, it answers false.
      let wf = touched.get(id);
      for (let depth = 0; wf?.parent && depth <= MAX_DEPTH; depth++) {
        const parent = touched.get(wf.parent.workflowId);
        if (!parent || !parent.onChildChanged(wf.parent.stepId, wf.childState(now), now)) break;
        wf = parent;
      }
    }
  }

  /** A log's id is the seq of its `workflow:log` event: unique in its workflow and in log order. */
  private logStatements(envelopes: EventEnvelope[]): Statement[] {
    const rows: unknown[][] = [];
    for (const env of envelopes) {
      if (env.type !== EVENT_TYPES.LogAppended) continue;
      env.data.id = env.seq;
      const d = env.data as any;
      rows.push([
        env.workflowId,
        env.seq,
        env.projectId,
        env.stepId,
        d.level,
        d.message,
        json(d.details),
        Date.parse(env.at),
      ]);
    }
    return insertStatements(
      'workflow_logs',
      ['workflow_id', 'id', 'project_id', 'step_id', 'level', 'message', 'details', 'at'],
      rows,
    );
  }

  private publish(events: EventEnvelope[]): void {
    this.metrics.eventsAppended.inc(events.length);
    this.eventBus.publishAll(events.map(toCommittedEvent));
  }
}
