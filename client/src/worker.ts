import { SteplineError } from './errors.js';
import { sleep } from './transport.js';
import type { ClaimResponse, HeartbeatResponse, Workflow } from './types.js';
import type { WorkflowHandle } from './workflow-handle.js';
import type { Stepline } from './stepline.js';

export interface JobContext {
  /** Aborts when the workflow is cancelled, the lease is lost, or `close()` gave up waiting. `reason` says which. */
  signal: AbortSignal;
  attempt: number;
  leaseToken: string;
  /** The workflow as claimed. */
  workflow: Workflow;
}

/**
 * Runs one claimed workflow. Return to finish it: steps it left pending or running are completed, the last
 * one with the returned value as its `result`. Throw to fail the running step with `retryable: true`.
 */
export type WorkHandler = (job: WorkflowHandle, ctx: JobContext) => unknown;

export interface WorkOptions {
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** Lease asked for on claim and on each heartbeat (1 000–600 000, default 30 000). */
  leaseMs?: number;
  /** Heartbeat period (default min(leaseMs / 3, 5 000)); a heartbeat also notices a cancel. */
  heartbeatMs?: number;
  /** Long-poll of each claim (0–30 000, default 20 000). */
  waitMs?: number;
  /** Default: a random id. */
  workerId?: string;
  /**
   * How long `close()` lets running jobs finish before it aborts them and gives their leases back (30 000);
   * a lease given back costs the job an attempt (see `close()`).
   */
  closeTimeoutMs?: number;
  /** Errors the worker could not hand to anyone (a failed claim, a fail that did not go through). */
  onError?: (err: unknown) => void;
}

/** Why a job's signal aborted. */
export type AbortReason = 'cancelled' | 'lease_lost' | 'closing';

class JobAbort extends Error {
  constructor(readonly reason: AbortReason) {
    super(`job aborted: ${reason}`);
    this.name = 'AbortError';
  }
}

interface RunningJob {
  claim: ClaimResponse;
  controller: AbortController;
  done: Promise<void>;
  stopHeartbeat(): void;
}

const enc = encodeURIComponent;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** `sl.work(queue, handler, options)`: long-polls claims, heartbeats leases, runs handlers (§6, §16). */
export class Worker {
  readonly workerId: string;
  private readonly jobs = new Set<RunningJob>();
  private readonly claimAbort = new AbortController();
  private readonly loops: Promise<void>[];
  private closing?: Promise<void>;
  /** Claims answered with a workflow, for tests and metrics. */
  claimed = 0;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly sl: Stepline,
    readonly queue: string,
    private readonly handler: WorkHandler,
    private readonly opts: WorkOptions = {},
  ) {
    this.workerId = opts.workerId ?? `worker-${Math.random().toString(36).slice(2, 10)}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.min(this.leaseMs / 3, 5_000);
    const n = Math.max(1, opts.concurrency ?? 1);
    this.loops = Array.from({ length: n }, () => this.loop());
  }

  get running(): number {
    return this.jobs.size;
  }

  get closed(): boolean {
    return this.claimAbort.signal.aborted;
  }

  /**
   * Stops claiming, lets running jobs finish (up to `timeoutMs`), then aborts the rest (`signal.reason`
   * `'closing'`), gives their leases back and resolves without waiting for those handlers to settle.
   *
   * Giving a lease back costs the job an attempt: the contract has no release, so it is a heartbeat that cuts
   * the lease to 1 s, and the lease then expires as a crashed worker's would (§6): the workflow is requeued
   * with `attempt + 1` when attempts are left, else it fails with `error.code` `lease_expired` (which is what
   * happens with the default `maxAttempts` of 1). Give jobs that must survive a restart `maxAttempts` > 1,
   * or a `timeoutMs` long enough for them to finish.
   */
  close(timeoutMs = this.opts.closeTimeoutMs ?? 30_000): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.claimAbort.abort();
    const all = Promise.all([...this.jobs].map((j) => j.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      await Promise.all(
        [...this.jobs].map(async (j) => {
          j.stopHeartbeat();
          j.controller.abort(new JobAbort('closing'));
          await this.giveBack(j.claim);
        }),
      );
      // a handler that ignores its signal may never settle, and its loop waits on it: do not wait for them
      return;
    }
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let claim: ClaimResponse | undefined;
      try {
        const res = await this.sl.transport.call<ClaimResponse | undefined>(
          'POST',
          `/api/queues/${enc(this.queue)}/claim`,
          { workerId: this.workerId, leaseMs: this.leaseMs, waitMs: this.opts.waitMs ?? 20_000 },
          { signal: this.claimAbort.signal },
        );
        failures = 0;
        if (res.status === 200 && res.body) claim = res.body;
      } catch (err) {
        if (this.closed) break;
        this.opts.onError?.(err);
        await sleep(this.sl.transport.backoff(failures++), this.claimAbort.signal);
        continue;
      }
      if (!claim) continue;
      this.claimed++;
      if (this.closed) {
        await this.giveBack(claim);
        break;
      }
      await this.run(claim);
    }
  }

  /** A lease nobody will use: shortened to the minimum, so the workflow is requeued about a second later. */
  private async giveBack(claim: ClaimResponse): Promise<void> {
    await this.sl.transport
      .call<HeartbeatResponse>(
        'POST',
        `/api/workflows/${enc(claim.workflow.id)}/heartbeat`,
        { leaseToken: claim.leaseToken, leaseMs: 1000 },
        { retry: false },
      )
      .catch(() => undefined);
  }

  private run(claim: ClaimResponse): Promise<void> {
    const controller = new AbortController();
    const abort = (reason: AbortReason) => {
      if (!controller.signal.aborted) controller.abort(new JobAbort(reason));
    };
    const id = claim.workflow.id;
    // a 409 on a write: lease_lost says it all; invalid_transition may be a cancel (or a caller's mistake)
    const onConflict = (err: SteplineError) => {
      if (err.code === 'lease_lost') abort('lease_lost');
      else if (err.code === 'invalid_transition')
        void this.sl.getWorkflow(id).then(
          (wf) => wf.status === 'cancelled' && abort('cancelled'),
          () => undefined,
        );
    };
    const job = this.sl.leased(claim, { onConflict });

    let leaseUntil = Date.parse(claim.leaseExpiresAt);
    let beating = false;
    const beat = async () => {
      if (beating || controller.signal.aborted) return;
      beating = true;
      try {
        const res = await this.sl.transport.call<HeartbeatResponse>(
          'POST',
          `/api/workflows/${enc(id)}/heartbeat`,
          { leaseToken: claim.leaseToken, leaseMs: this.leaseMs },
          { retry: false },
        );
        leaseUntil = Date.parse(res.body.leaseExpiresAt);
      } catch (err) {
        if (err instanceof SteplineError && err.code === 'lease_lost') abort('lease_lost');
        else if (err instanceof SteplineError && err.code === 'invalid_transition') onConflict(err);
        else if (Date.now() > leaseUntil) abort('lease_lost'); // no answer until the lease ran out
      } finally {
        beating = false;
      }
    };
    const timer = setInterval(() => void beat(), this.heartbeatMs);

    const entry: RunningJob = {
      claim,
      controller,
      done: undefined as unknown as Promise<void>,
      stopHeartbeat: () => clearInterval(timer),
    };
    entry.done = (async () => {
      try {
        const value = await this.handler(job, {
          signal: controller.signal,
          attempt: claim.attempt,
          leaseToken: claim.leaseToken,
          workflow: claim.workflow,
        });
        if (!controller.signal.aborted) await this.finish(job, value);
      } catch (err) {
        if (!controller.signal.aborted && !(err instanceof SteplineError && err.code === 'lease_lost'))
          await this.failRunning(job, err).catch((e: unknown) => this.opts.onError?.(e));
      } finally {
        clearInterval(timer);
        this.jobs.delete(entry);
      }
    })();
    this.jobs.add(entry);
    return entry.done;
  }

  /** The handler returned: whatever it left open is completed, the returned value on the last step. */
  private async finish(job: WorkflowHandle, value: unknown): Promise<void> {
    const wf = await job.get();
    if (TERMINAL.has(wf.status)) return;
    const open = wf.steps.filter((s) => s.status === 'pending' || s.status === 'running');
    for (let i = 0; i < open.length; i++) {
      const last = i === open.length - 1;
      await job.step(open[i].id).complete(last && value !== undefined ? { result: value } : {});
    }
  }

  /** The handler threw: the running step (else the first pending one) fails with `retryable: true`. */
  private async failRunning(job: WorkflowHandle, err: unknown): Promise<void> {
    const wf = await job.get();
    if (TERMINAL.has(wf.status)) return;
    const step = wf.steps.find((s) => s.status === 'running') ?? wf.steps.find((s) => s.status === 'pending');
    if (!step) return;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000) || 'worker error';
    const code = err instanceof Error && err.name && err.name !== 'Error' ? err.name : 'worker_error';
    await job.step(step.id).fail({ error: { message, code: code.slice(0, 64) }, retryable: true });
  }
}
