import { SteplineError } from './errors.js';
import type { CallOptions, CallResult, Transport } from './transport.js';
import { sleep, statusOfCode } from './transport.js';
import type {
  AppendLogRequest,
  BatchProgressResponse,
  BatchProgressUpdate,
  CompleteStepRequest,
  FailStepRequest,
  Log,
  LogPage,
  StepProgressRequest,
  StepStatus,
  Workflow,
} from './types.js';

const enc = encodeURIComponent;

/** What a handle needs from its client: the transport and the per-workflow write queues. */
export interface HandleHost {
  readonly transport: Transport;
  queueFor(workflowId: string): WriteQueue;
}

/** Lease context of a worker's job handle. */
export interface LeaseContext {
  leaseToken: string;
  attempt: number;
  /** Told about each 409 a write got (a cancel or a lost lease shows up there first). */
  onConflict?: (err: SteplineError) => void;
}

type Resolver = { resolve: (wf: Workflow) => void; reject: (err: unknown) => void };
type Item =
  | ({ kind: 'progress'; stepId: string; body: StepProgressRequest; lease?: string } & Resolver)
  | ({ kind: 'op'; run: () => Promise<Workflow> } & Resolver);

/**
 * One workflow's writes, in call order, one request at a time. Progress calls queued behind a request in
 * flight leave together as one `POST /api/progress` (up to `maxBatch`); each caller gets its own result.
 * A batched call resolves with the Workflow read right after its batch committed (one GET per batch,
 * shared, not holding up the next batch), so every call resolves with a Workflow that includes its write.
 */
export class WriteQueue {
  private readonly items: Item[] = [];
  private running = false;
  private refreshWaiters: Resolver[] = [];
  private refreshing = false;
  /** Requests sent (single writes, batches, refresh reads): for tests and metrics. */
  requests = 0;

  constructor(
    private readonly transport: Transport,
    readonly workflowId: string,
    private readonly maxBatch: number,
    private readonly onIdle: () => void,
  ) {}

  get idle(): boolean {
    return !this.running && this.items.length === 0 && !this.refreshing && this.refreshWaiters.length === 0;
  }

  op(run: () => Promise<Workflow>): Promise<Workflow> {
    return new Promise((resolve, reject) => {
      this.items.push({ kind: 'op', run, resolve, reject });
      this.pump();
    });
  }

  progress(stepId: string, body: StepProgressRequest, lease?: string): Promise<Workflow> {
    return new Promise((resolve, reject) => {
      this.items.push({ kind: 'progress', stepId, body, lease, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running) return;
    this.running = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.items.length > 0) {
        const head = this.items[0];
        if (head.kind === 'op') {
          this.items.shift();
          this.requests++;
          await head.run().then(head.resolve, head.reject);
          continue;
        }
        // consecutive progress calls with the same lease token; `metrics` only goes through the single route
        const batch: Extract<Item, { kind: 'progress' }>[] = [];
        while (batch.length < this.maxBatch && this.items.length > 0) {
          const it = this.items[0];
          if (it.kind !== 'progress' || it.lease !== head.lease) break;
          if (batch.length > 0 && it.body.metrics !== undefined) break;
          batch.push(it);
          this.items.shift();
          if (it.body.metrics !== undefined) break;
        }
        this.requests++;
        if (batch.length === 1) await this.single(batch[0]);
        else await this.batch(batch);
      }
    } finally {
      this.running = false;
      if (this.items.length > 0) this.pump();
      else if (this.idle) this.onIdle();
    }
  }

  private async single(it: Extract<Item, { kind: 'progress' }>): Promise<void> {
    const path = `/api/workflows/${enc(this.workflowId)}/steps/${enc(it.stepId)}/progress`;
    // a retry of a value that did commit the first time answers 200 (the same value again, §2), so a
    // progress_regression, retried or not, is a real one
    try {
      const res = await this.transport.call<Workflow>('POST', path, it.body, { leaseToken: it.lease });
      it.resolve(res.body);
    } catch (err) {
      it.reject(err);
    }
  }

  private async batch(items: Extract<Item, { kind: 'progress' }>[]): Promise<void> {
    const updates: BatchProgressUpdate[] = items.map((it) => {
      const u: BatchProgressUpdate = { workflowId: this.workflowId, stepId: it.stepId };
      if (it.body.progress !== undefined) u.progress = it.body.progress;
      if (it.body.current !== undefined) u.current = it.body.current;
      if (it.body.total !== undefined) u.total = it.body.total;
      if (it.body.message !== undefined) u.message = it.body.message;
      return u;
    });
    let res: CallResult<BatchProgressResponse>;
    try {
      res = await this.transport.call<BatchProgressResponse>(
        'POST',
        '/api/progress',
        { updates },
        { leaseToken: items[0].lease },
      );
    } catch (err) {
      for (const it of items) it.reject(err);
      return;
    }
    // A retried batch that had committed the first time finds each step at its last value of the batch: that
    // entry answers ok (the same value again), the earlier entries for the step regress. Such a regression is
    // the retry's, not a real one, only when a later entry for the same step came back ok.
    const results = res.body.results;
    const okLater = (i: number) =>
      results.some((r, j) => j > i && r.ok && items[j].stepId === items[i].stepId);
    const ok: Resolver[] = [];
    results.forEach((r, i) => {
      const it = items[i];
      if (r.ok || (res.ambiguous && r.code === 'progress_regression' && okLater(i))) ok.push(it);
      else it.reject(new SteplineError(statusOfCode(r.code), r.code, r.message));
    });
    if (ok.length > 0) {
      const shared = this.refresh();
      for (const it of ok) shared.then(it.resolve, it.reject);
    }
  }

  /** The workflow as read after every write that has committed so far; concurrent callers share one GET. */
  refresh(): Promise<Workflow> {
    return new Promise((resolve, reject) => {
      this.refreshWaiters.push({ resolve, reject });
      if (!this.refreshing) void this.runRefresh();
    });
  }

  private async runRefresh(): Promise<void> {
    this.refreshing = true;
    while (this.refreshWaiters.length > 0) {
      const waiters = this.refreshWaiters;
      this.refreshWaiters = [];
      this.requests++;
      try {
        const res = await this.transport.call<Workflow>('GET', `/api/workflows/${enc(this.workflowId)}`);
        for (const w of waiters) w.resolve(res.body);
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.refreshing = false;
    if (this.idle) this.onIdle();
  }
}

/**
 * A handle on one workflow: `wf.step(id).start()` and the rest. Writes of one workflow go out in call
 * order; each resolves with the Workflow after its commit or rejects with a SteplineError.
 */
export class WorkflowHandle {
  /** The last Workflow this handle saw (from create, a claim, or any write's answer). */
  data?: Workflow;
  private lastLogId = 0;

  constructor(
    private readonly host: HandleHost,
    readonly id: string,
    data?: Workflow,
    readonly lease?: LeaseContext,
  ) {
    this.data = data;
  }

  step(stepId: string): StepHandle {
    return new StepHandle(this, stepId);
  }

  /** GET the workflow now. */
  async get(): Promise<Workflow> {
    const res = await this.host.transport.call<Workflow>('GET', `/api/workflows/${enc(this.id)}`);
    return this.seen(res.body);
  }

  /** Appends a log line; resolves with the Workflow after the commit (use `logs()` to read lines back). */
  log(body: AppendLogRequest): Promise<Workflow> {
    return this.queue.op(async () => {
      await this.appendLog(body);
      return this.seen(await this.queue.refresh());
    });
  }

  /** Log lines after `after` (a log id), in order. */
  async logs(after = 0, limit = 100): Promise<Log[]> {
    const res = await this.host.transport.call<LogPage>(
      'GET',
      `/api/workflows/${enc(this.id)}/logs?after=${after}&limit=${limit}`,
    );
    return res.body.items;
  }

  cancel(reason?: string): Promise<Workflow> {
    return this.write(
      `/api/workflows/${enc(this.id)}/cancel`,
      reason === undefined ? {} : { reason },
      (wf) => wf.status === 'cancelled',
    );
  }

  /** @internal */
  get queue(): WriteQueue {
    return this.host.queueFor(this.id);
  }

  /** @internal */
  seen(wf: Workflow): Workflow {
    if (!this.data || wf.lastSeq >= this.data.lastSeq) this.data = wf;
    return wf;
  }

  /** @internal one write through the queue; `done` says whether a retried write had in fact committed. */
  write(path: string, body: unknown, done: (wf: Workflow) => boolean): Promise<Workflow> {
    return this.queue.op(async () => {
      try {
        const res = await this.call<Workflow>('POST', path, body);
        return this.seen(res.body);
      } catch (err) {
        const e = err;
        // a retry of a write that committed the first time gets a 409 that would hide the success
        if (e instanceof SteplineError && e.ambiguous && e.status === 409) {
          const wf = await this.get();
          if (done(wf)) return wf;
        }
        if (e instanceof SteplineError && e.status === 409) this.lease?.onConflict?.(e);
        throw err;
      }
    });
  }

  /** @internal */
  async progress(stepId: string, body: StepProgressRequest): Promise<Workflow> {
    try {
      return this.seen(await this.queue.progress(stepId, body, this.lease?.leaseToken));
    } catch (err) {
      if (err instanceof SteplineError && err.status === 409) this.lease?.onConflict?.(err);
      throw err;
    }
  }

  private call<T>(method: string, path: string, body?: unknown, o: CallOptions = {}) {
    return this.host.transport.call<T>(method, path, body, { leaseToken: this.lease?.leaseToken, ...o });
  }

  /**
   * POST a log line without ever writing it twice: a log has no natural idempotency, so after a request
   * that got no answer the line is looked for before it is sent again, among the lines after a floor taken
   * before the first send. Log ids are event seqs, so the floor is the newest of the last line this handle
   * wrote and the workflow's `lastSeq` as this handle last saw it (read once first if it saw none): an
   * identical earlier line (a previous attempt's "started") is below it and never taken for the lost one.
   * Retries follow the transport's retry policy (`retry: false`, `maxElapsedMs`); a lookup that fails
   * rejects the call rather than risk a second line.
   */
  private async appendLog(body: AppendLogRequest): Promise<Log> {
    const path = `/api/workflows/${enc(this.id)}/logs`;
    if (!this.data) await this.get();
    const floor = Math.max(this.lastLogId, this.data?.lastSeq ?? 0);
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.call<Log>('POST', path, body, { retry: 'answered' });
        this.lastLogId = Math.max(this.lastLogId, res.body.id);
        return res.body;
      } catch (err) {
        if (!(err instanceof SteplineError) || err.code !== 'network_error') {
          if (err instanceof SteplineError && err.status === 409) this.lease?.onConflict?.(err);
          throw err;
        }
        const wait = this.host.transport.retryDelay(attempt, started);
        if (wait === undefined) throw err;
        await sleep(wait);
        // a lookup that fails (after its own retries) rejects: sending again could write the line twice
        const found = await this.findLog(body, floor);
        if (found) {
          this.lastLogId = Math.max(this.lastLogId, found.id);
          return found;
        }
      }
    }
  }

  private async findLog(body: AppendLogRequest, after: number): Promise<Log | undefined> {
    const want = JSON.stringify([body.level, body.message, body.stepId ?? null, body.details ?? null]);
    let cursor = after;
    for (;;) {
      const items = await this.logs(cursor, 1000);
      for (const l of items)
        if (JSON.stringify([l.level, l.message, l.stepId, l.details ?? null]) === want) return l;
      if (items.length < 1000) return undefined;
      cursor = items[items.length - 1].id;
    }
  }
}

export class StepHandle {
  constructor(
    private readonly wf: WorkflowHandle,
    readonly id: string,
  ) {}

  private path(action: string): string {
    return `/api/workflows/${enc(this.wf.id)}/steps/${enc(this.id)}/${action}`;
  }

  private is(...statuses: StepStatus[]) {
    return (wf: Workflow) => statuses.includes(wf.steps.find((s) => s.id === this.id)?.status as StepStatus);
  }

  start(message?: string): Promise<Workflow> {
    return this.wf.write(this.path('start'), message === undefined ? {} : { message }, this.is('running'));
  }

  /** Sent together with other progress calls made while an earlier write of the workflow is in flight. */
  progress(body: StepProgressRequest): Promise<Workflow> {
    return this.wf.progress(this.id, body);
  }

  complete(body: CompleteStepRequest = {}): Promise<Workflow> {
    return this.wf.write(this.path('complete'), body, this.is('completed'));
  }

  fail(body: FailStepRequest): Promise<Workflow> {
    const attempt = this.wf.lease?.attempt ?? this.wf.data?.attempt;
    return this.wf.write(
      this.path('fail'),
      body,
      (wf) => this.is('failed')(wf) || (attempt !== undefined && wf.attempt > attempt),
    );
  }

  skip(message?: string): Promise<Workflow> {
    return this.wf.write(this.path('skip'), message === undefined ? {} : { message }, this.is('skipped'));
  }
}
