import { Injectable, Logger } from '@nestjs/common';
import { ClusterBus } from '../../cluster';
import type { Workflow } from '../domain/workflow.aggregate';
import type { StepMedians } from '../domain/eta-estimator';
import { RunHistoryRepository } from './run-history.repository';

/** Step medians by workflow type, for one project. */
export type ProjectEtaHistory = ReadonlyMap<string, StepMedians>;

const EMPTY: ProjectEtaHistory = new Map();
/** A cached project older than this is reloaded in the background (other instances record history too). */
const REFRESH_AFTER_MS = 60_000;
/** With REDIS_URL: the same, sooner, in case an instance's "run recorded" message was lost. */
const CLUSTER_REFRESH_AFTER_MS = 10_000;
const MAX_PROJECTS = 10_000;

interface Entry {
  history: ProjectEtaHistory;
  loadedAt: number;
  /** Which load produced it: a slower, older load never overwrites a newer one. */
  load: number;
}

/**
 * The ETA history as the write path needs it: medians in memory, so that the aggregate can estimate
 * synchronously inside the transaction. Awaited once per project (then cached, also when empty), refreshed
 * when a run is recorded. Best effort: a failed load means "no history", never a failed write.
 * With REDIS_URL, an instance that records a run tells the others, which reload that project if they hold it.
 */
@Injectable()
export class EtaHistory {
  private readonly logger = new Logger('EtaHistory');
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ProjectEtaHistory>>();
  private loads = 0;
  private readonly again = new Set<string>();
  private readonly refreshAfterMs: number;

  constructor(
    private readonly runs: RunHistoryRepository,
    private readonly cluster: ClusterBus,
  ) {
    this.refreshAfterMs = cluster.enabled ? CLUSTER_REFRESH_AFTER_MS : REFRESH_AFTER_MS;
    cluster.on('runs', (payload) => {
      const { projectId } = JSON.parse(payload) as { projectId: string };
      if (this.cache.has(projectId)) this.refresh(projectId).catch(() => undefined);
    });
  }

  async forProject(projectId: string): Promise<ProjectEtaHistory> {
    const hit = this.cache.get(projectId);
    if (hit) {
      if (Date.now() - hit.loadedAt > this.refreshAfterMs && !this.inflight.has(projectId))
        this.load(projectId).catch(() => undefined);
      return hit.history;
    }
    try {
      return await (this.inflight.get(projectId) ?? this.load(projectId));
    } catch (err) {
      this.logger.warn(`history of ${projectId} not loaded: ${(err as Error).message}`);
      return EMPTY;
    }
  }

  /** Gives each workflow the medians of its type, for reads outside the write path. */
  async attach(workflows: Iterable<Workflow>): Promise<void> {
    const list = [...workflows];
    for (const projectId of new Set(list.map((wf) => wf.projectId))) {
      const history = await this.forProject(projectId);
      for (const wf of list) if (wf.projectId === projectId) wf.setEtaHistory(history.get(wf.type));
    }
  }

  /** After a run of the project is recorded here: reload it, and have the other instances reload it. */
  async recorded(projectId: string): Promise<void> {
    this.cluster.publish('runs', JSON.stringify({ projectId }));
    await this.refresh(projectId);
  }

  /** Reloads after a recorded run; completions that land during a load coalesce into one more load. */
  async refresh(projectId: string): Promise<void> {
    if (this.inflight.has(projectId)) {
      this.again.add(projectId);
      return;
    }
    await this.load(projectId);
    while (this.again.delete(projectId)) await this.load(projectId);
  }

  private load(projectId: string): Promise<ProjectEtaHistory> {
    const load = ++this.loads;
    const p = this.runs
      .loadMedians(projectId)
      .then((history) => {
        const current = this.cache.get(projectId);
        if (current && current.load > load) return current.history;
        this.cache.delete(projectId); // re-inserted last: the oldest-loaded project goes first when full
        this.cache.set(projectId, { history, loadedAt: Date.now(), load });
        if (this.cache.size > MAX_PROJECTS) this.cache.delete(this.cache.keys().next().value!);
        return history;
      })
      .finally(() => {
        if (this.inflight.get(projectId) === p) this.inflight.delete(projectId);
      });
    this.inflight.set(projectId, p);
    return p;
  }
}
