import { ProgressCoalescer } from './progress-coalescer';

describe('ProgressCoalescer', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** A write that takes `ms` of (fake) time and records what it wrote and when it started. */
  function recorder(ms = 5) {
    const writes: { current: number; total: number; at: number }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const write = async (current: number, total: number) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      writes.push({ current, total, at: Date.now() });
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
    };
    return { writes, write, maxInFlight: () => maxInFlight };
  }

  it('writes at most once per interval, one at a time, rising, and always the final value', async () => {
    const r = recorder();
    const c = new ProgressCoalescer(r.write, () => undefined, 100);
    const total = 5000;
    for (let i = 1; i <= total; i++) {
      c.report(i, total);
      if (i % 10 === 0) await jest.advanceTimersByTimeAsync(1); // 10 files per ms: 500 ms of work
    }
    const done = c.flush();
    await jest.advanceTimersByTimeAsync(200);
    await done;
    // 500 ms of reports at 100 ms per write: the first, one per slot, and the final one
    expect(r.writes.length).toBeGreaterThanOrEqual(5);
    expect(r.writes.length).toBeLessThanOrEqual(7);
    expect(r.maxInFlight()).toBe(1);
    for (let i = 1; i < r.writes.length; i++) {
      expect(r.writes[i].at - r.writes[i - 1].at).toBeGreaterThanOrEqual(100);
      expect(r.writes[i].current).toBeGreaterThan(r.writes[i - 1].current);
    }
    expect(r.writes[r.writes.length - 1]).toMatchObject({ current: total, total });
  });

  it('flush does not write a value twice', async () => {
    const r = recorder();
    const c = new ProgressCoalescer(r.write, () => undefined, 100);
    c.report(3, 3);
    const done = c.flush();
    await jest.advanceTimersByTimeAsync(10);
    await done;
    expect(r.writes.map((w) => w.current)).toEqual([3]);
  });

  it('a failed write stops further writes and is rethrown by flush', async () => {
    const seen: unknown[] = [];
    let calls = 0;
    const c = new ProgressCoalescer(
      () => {
        calls++;
        return Promise.reject(new Error('invalid_transition'));
      },
      (e) => seen.push(e),
      100,
    );
    c.report(1, 10);
    await jest.advanceTimersByTimeAsync(1);
    c.report(2, 10);
    await jest.advanceTimersByTimeAsync(500);
    await expect(c.flush()).rejects.toThrow('invalid_transition');
    expect(calls).toBe(1);
    expect(seen).toHaveLength(1);
  });
});
