/**
 * Turns a stream of `current/total` reports into at most one write per `intervalMs`, one write in flight at
 * a time, and always the final value: an analyzer reports every file, the database sees ~10 writes/s.
 * A failed write stops further writes and is rethrown by `flush()` (a cancelled workflow or a lost lease
 * answers the next write with an error, which is how the job learns it must stop).
 */
export class ProgressCoalescer {
  private latest: { current: number; total: number } | null = null;
  private written: { current: number; total: number } | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteAt = -Infinity;
  private error: Error | null = null;

  constructor(
    private readonly write: (current: number, total: number) => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    private readonly intervalMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the latest value; writes it now or schedules it, never more often than the interval. */
  report(current: number, total: number): void {
    if (this.error) return;
    this.latest = { current, total };
    if (this.inFlight || this.timer) return;
    const wait = this.lastWriteAt + this.intervalMs - this.now();
    if (wait <= 0) this.writeLatest();
    else this.timer = setTimeout(() => this.onTimer(), wait);
  }

  /** Waits for the write in flight, then writes the last reported value if it was not written yet. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.settle();
    if (this.latest && !this.same(this.latest, this.written)) {
      this.writeLatest();
      await this.settle();
    }
  }

  private async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.error) throw this.error;
  }

  /** Stops any scheduled write (the job is over or aborted). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.latest = null;
  }

  private onTimer(): void {
    this.timer = null;
    if (!this.inFlight) this.writeLatest();
  }

  private same(a: { current: number; total: number }, b: { current: number; total: number } | null) {
    return !!b && a.current === b.current && a.total === b.total;
  }

  private writeLatest(): void {
    const value = this.latest;
    if (!value || this.same(value, this.written)) return;
    this.lastWriteAt = this.now();
    this.inFlight = this.write(value.current, value.total).then(
      () => {
        this.written = value;
        this.inFlight = null;
        // something newer arrived while writing: schedule it at the next slot
        if (this.latest && !this.same(this.latest, this.written) && !this.timer && !this.error)
          this.timer = setTimeout(
            () => this.onTimer(),
            Math.max(0, this.lastWriteAt + this.intervalMs - this.now()),
          );
      },
      (err: unknown) => {
        this.error = err instanceof Error ? err : new Error(String(err));
        this.inFlight = null;
        this.onError(err);
      },
    );
  }
}
