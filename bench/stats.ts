/** Latencies in milliseconds, kept exactly (a cell of a few seconds holds at most a few hundred thousand). */
export class Latencies {
  private data = new Float64Array(1 << 14);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentile (p in 0..100); NaN when empty. */
  percentiles(...ps: number[]): number[] {
    if (this.n === 0) return ps.map(() => NaN);
    const sorted = this.data.slice(0, this.n).sort();
    return ps.map((p) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))]);
  }
}

export interface Measured {
  /** Completed operations (requests or transactions) that succeeded. */
  ops: number;
  /** Updates they carried (ops × batch size, minus updates a batch reported as rejected). */
  updates: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Non-2xx answers, client errors and timeouts (HTTP) or failed transactions (baseline). */
  failures: number;
  /** Updates inside a 200 batch answer that came back `ok: false`. */
  rejected: number;
  /** Deadlock / lock-timeout retries (baseline only). */
  retries?: number;
}

export const perSecond = (m: Measured): number => (m.seconds > 0 ? m.updates / m.seconds : 0);
