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

/** A histogram's state as it crosses a process boundary: non-empty buckets only. */
export interface HistogramData {
  buckets: [number, number][];
  n: number;
  max: number;
}

/**
 * Latencies in milliseconds in logarithmic buckets 1 % wide (from 10 µs to ~17 min): mergeable across
 * processes, cheap to fill at hundreds of thousands of values a second, percentiles within 1 %.
 */
export class LogHistogram {
  private static readonly BASE = 0.01;
  private static readonly LN_GROWTH = Math.log(1.01);
  private static readonly SIZE = 2200;
  private counts = new Uint32Array(LogHistogram.SIZE);
  n = 0;
  max = 0;

  add(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const b =
      v <= LogHistogram.BASE ? 0 : 1 + Math.floor(Math.log(v / LogHistogram.BASE) / LogHistogram.LN_GROWTH);
    this.counts[Math.min(b, LogHistogram.SIZE - 1)]++;
    this.n++;
    if (v > this.max) this.max = v;
  }

  merge(d: HistogramData): void {
    for (const [b, c] of d.buckets) this.counts[b] += c;
    this.n += d.n;
    if (d.max > this.max) this.max = d.max;
  }

  data(): HistogramData {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, b) => c > 0 && buckets.push([b, c]));
    return { buckets, n: this.n, max: this.max };
  }

  /** Nearest-rank percentile (p in 0..100), as its bucket's upper bound (at most the maximum); NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.min(this.n, Math.max(1, Math.ceil((p / 100) * this.n)));
    let seen = 0;
    for (let b = 0; b < LogHistogram.SIZE; b++) {
      seen += this.counts[b];
      if (seen >= rank) return Math.min(this.max, LogHistogram.BASE * Math.exp(b * LogHistogram.LN_GROWTH));
    }
    return this.max;
  }
}
