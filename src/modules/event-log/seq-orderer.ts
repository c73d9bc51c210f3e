import type { EventEnvelope } from '../../common/events/event-types';

/** A page of one project's log: events with seq > after, oldest first; `reset` when that part is trimmed. */
export interface LogPage {
  items: EventEnvelope[];
  reset: boolean;
}

export interface SeqOrdererOptions {
  /** Reads the project's log after `after`, at most `limit` events. */
  read(after: number, limit: number): Promise<LogPage>;
  /** Called once per seq, strictly in seq order, with no gap. */
  emit(env: EventEnvelope): void;
  /**
   * How long a hole may stay open before it is read from the log. 0 (one instance: a hole is never
   * expected) reads at once; with several instances an event of another instance often arrives a moment
   * after a later local one, and waiting a few ms for it saves a database read per reordering.
   */
  gapGraceMs?: number;
  pageSize?: number;
  onError?(err: unknown): void;
}

const RETRY_MS = [200, 500, 1000, 2000];

/**
 * One project's committed events in seq order, from sources that may reorder or lose some (the local
 * EventBus and other instances' messages): events are emitted strictly in seq order, a hole is filled from
 * the log (the database seq is the truth), and `observe(lastSeq)` — the project's counter as read from the
 * database — reveals a lost last event that no later event would reveal. Duplicates and events at or below
 * what was emitted are dropped. Nothing is emitted before `start(last)` says where the project stands.
 */
export class SeqOrderer {
  private last = 0;
  private started = false;
  private closed = false;
  private readonly pending = new Map<number, EventEnvelope>();
  /** A seq known to exist (the counter): read up to it even when nothing after it is pending. */
  private target = 0;
  private filling = false;
  /** The grace period before a fill, or the pause before retrying a failed one. */
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;

  constructor(private readonly opts: SeqOrdererOptions) {}

  /** The last seq emitted (or the start position). */
  get lastEmitted(): number {
    return this.last;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Events at or below `last` are taken as already handled; everything above is emitted from here on. */
  start(last: number): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.last = last;
    this.flush();
  }

  offer(env: EventEnvelope): void {
    if (this.closed || (this.started && env.seq <= this.last)) return;
    this.pending.set(env.seq, env);
    this.flush();
  }

  /** The project's last committed seq, from the database. */
  observe(lastSeq: number): void {
    if (this.closed || lastSeq <= this.target) return;
    this.target = lastSeq;
    this.flush();
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private behind(): boolean {
    return this.pending.size > 0 || this.target > this.last;
  }

  private flush(): void {
    if (!this.started || this.closed) return;
    this.emitContiguous();
    if (this.closed || !this.behind() || this.filling || this.retryTimer) return;
    const grace = this.opts.gapGraceMs ?? 0;
    if (grace <= 0) {
      void this.fill();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.behind() && !this.filling && !this.closed) void this.fill();
    }, grace);
    this.retryTimer.unref?.();
  }

  /** Emits every pending event that follows what was emitted, and drops what is at or below it. */
  private emitContiguous(): void {
    for (;;) {
      const next = this.pending.get(this.last + 1);
      if (!next) break;
      this.pending.delete(next.seq);
      this.last = next.seq;
      this.opts.emit(next);
      if (this.closed) return;
    }
    for (const seq of this.pending.keys()) if (seq <= this.last) this.pending.delete(seq);
  }

  /** Reads the hole before the first pending event (or up to the observed counter) from the log. */
  private async fill(): Promise<void> {
    this.filling = true;
    const before = this.last;
    try {
      let firstPending = Infinity;
      for (const seq of this.pending.keys()) if (seq < firstPending) firstPending = seq;
      const upTo = firstPending !== Infinity ? firstPending - 1 : this.target;
      if (upTo > this.last) {
        const page = await this.opts.read(this.last, Math.min(upTo - this.last, this.opts.pageSize ?? 1000));
        if (this.closed) return;
        for (const env of page.items)
          if (env.seq > this.last && env.seq <= upTo && !this.pending.has(env.seq))
            this.pending.set(env.seq, env);
        // the hole is older than the log keeps: nothing to read there, go on after it
        if (page.reset) this.last = Math.max(this.last, upTo);
      }
      this.emitContiguous();
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.filling = false;
    }
    if (this.closed || !this.behind()) {
      this.failures = 0;
      return;
    }
    if (this.last > before) {
      // a real hole, and the read made progress: go on at once until caught up
      this.failures = 0;
      void this.fill();
      return;
    }
    // the read failed (database away) or did not help: try again a little later
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.flush();
      },
      RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)],
    );
    this.retryTimer.unref?.();
  }
}
