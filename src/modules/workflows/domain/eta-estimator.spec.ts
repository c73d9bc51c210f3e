import {
  quantile,
  rangeRemainingMs,
  slowThresholdMs,
  estimateEta,
  EtaInput,
  HISTORY_RUNS,
  MAX_ETA_MS,
  median,
  OVERRUN_FLOOR,
  runDurations,
  stepMedians,
} from './eta-estimator';

const T0 = 1_700_000_000_000;

type Step = EtaInput['steps'][number];
const step = (id: string, over: Partial<Step> = {}): Step => ({
  id,
  weight: 1,
  status: 'pending',
  progress: 0,
  startedAt: null,
  ...over,
});

function wf(steps: Step[], over: Partial<EtaInput> = {}): EtaInput {
  return { status: 'running', progress: 0, startedAt: T0, steps, ...over };
}

const history = new Map([
  ['a', 1000],
  ['b', 2000],
  ['c', 4000],
]);

describe('estimateEta', () => {
  it('history: completed steps count 0, a running step its median × (1 − progress), pending ones their median', () => {
    const w = wf([
      step('a', { status: 'completed', progress: 100, startedAt: T0 }),
      step('b', { status: 'running', progress: 25, startedAt: T0 + 1000 }),
      step('c'),
    ]);
    const now = T0 + 1500;
    expect(estimateEta(w, history, now)).toEqual({
      basis: 'history',
      remainingMs: 1500 + 4000,
      finishAt: new Date(now + 5500).toISOString(),
      remainingP90Ms: 1500 + 4000, // medians without their runs: no spread, so the estimate itself
      queueWaitMs: null,
    });
  });

  it('history: skipped steps count 0', () => {
    const w = wf([step('a', { status: 'skipped' }), step('b', { status: 'skipped' }), step('c')]);
    expect(estimateEta(w, history, T0).remainingMs).toBe(4000);
  });

  it('history: a queued workflow is estimated at the sum of its medians', () => {
    const w = wf([step('a'), step('b'), step('c')], { status: 'queued', startedAt: null });
    expect(estimateEta(w, history, T0)).toMatchObject({ basis: 'history', remainingMs: 7000 });
  });

  it('history: a running step without progress counts its median minus the time it has run', () => {
    const w = wf([step('a', { status: 'running', startedAt: T0 }), step('b')]);
    expect(estimateEta(w, history, T0 + 400).remainingMs).toBe(600 + 2000);
  });

  it('history: a running step that has overrun its median contributes a small floor, never a negative time', () => {
    const w = wf([step('a', { status: 'running', startedAt: T0 }), step('b')]);
    expect(estimateEta(w, history, T0 + 60_000).remainingMs).toBe(1000 * OVERRUN_FLOOR + 2000);
    const at100 = wf([step('a', { status: 'running', progress: 100, startedAt: T0 })]);
    expect(estimateEta(at100, history, T0 + 500).remainingMs).toBe(1000 * OVERRUN_FLOOR);
  });

  it('history: a step the history lacks is priced at the known time per unit of weight', () => {
    const w = wf([step('a', { weight: 1 }), step('b', { weight: 1 }), step('new', { weight: 3 })]);
    // known: 3000 ms over weight 2 → 1500 ms per unit
    expect(estimateEta(w, history, T0).remainingMs).toBe(1000 + 2000 + 4500);
  });

  it('an estimate past any useful time (weights 1e-6 and 1e9, or 1e-300) is capped at MAX_ETA_MS, with a valid finishAt', () => {
    for (const tiny of [1e-6, 1e-300]) {
      const w = wf([step('a', { weight: tiny }), step('huge', { weight: 1e9 })]);
      const runs = [{ a: 300 }, { a: 400 }];
      const e = estimateEta(w, Object.assign(new Map([['a', 350]]), { runs }), T0);
      expect(e.remainingMs).toBe(MAX_ETA_MS);
      expect(e.remainingP90Ms).toBe(MAX_ETA_MS);
      expect(e.finishAt).toBe(new Date(T0 + MAX_ETA_MS).toISOString());
    }
    // a running step with all its progress made on such a weight (∞ × 0): still a number, still capped
    const running = wf([
      step('a', { weight: 1e-300 }),
      step('huge', { weight: 1e9, status: 'running', progress: 100 }),
    ]);
    expect(estimateEta(running, new Map([['a', 350]]), T0).remainingMs).toBe(MAX_ETA_MS);
    // the rate basis on a crawl
    const crawl = estimateEta(wf([step('a')], { progress: 1e-12, startedAt: T0 - 1000 }), undefined, T0);
    expect(crawl.remainingMs).toBeLessThanOrEqual(MAX_ETA_MS);
    expect(crawl.finishAt).not.toBeNull();
  });

  it('falls back to the rate when the history names none of the steps', () => {
    const w = wf([step('x', { status: 'running', progress: 50, startedAt: T0 })], { progress: 50 });
    expect(estimateEta(w, history, T0 + 2000)).toMatchObject({ basis: 'rate', remainingMs: 2000 });
  });

  it('rate without history: elapsed since start scaled by the progress still to make', () => {
    const w = wf([step('a', { status: 'running', progress: 25, startedAt: T0 })], { progress: 25 });
    expect(estimateEta(w, undefined, T0 + 1000)).toEqual({
      basis: 'rate',
      remainingMs: 3000,
      finishAt: new Date(T0 + 4000).toISOString(),
      remainingP90Ms: null,
      queueWaitMs: null,
    });
    expect(estimateEta(w, new Map(), T0 + 1000).basis).toBe('rate');
  });

  it('none without history until there is progress', () => {
    const none = {
      basis: 'none',
      remainingMs: null,
      finishAt: null,
      remainingP90Ms: null,
      queueWaitMs: null,
    };
    expect(estimateEta(wf([step('a')], { status: 'queued', startedAt: null }), undefined, T0)).toEqual(none);
    expect(estimateEta(wf([step('a', { status: 'running', startedAt: T0 })]), undefined, T0 + 10)).toEqual(
      none,
    );
  });

  it('terminal workflows: none, whatever the history', () => {
    for (const status of ['completed', 'failed', 'cancelled'] as const)
      expect(estimateEta(wf([step('a')], { status, progress: 100 }), history, T0)).toEqual({
        basis: 'none',
        remainingMs: null,
        finishAt: null,
        remainingP90Ms: null,
        queueWaitMs: null,
      });
  });
});

describe('history medians', () => {
  it('median of odd and even counts', () => {
    expect(median([])).toBeUndefined();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('per step over the newest HISTORY_RUNS runs only; a step missing from a run is not counted there', () => {
    const newest = Array.from({ length: HISTORY_RUNS }, () => ({ a: 100, b: 200 }));
    const older = Array.from({ length: 10 }, () => ({ a: 9999, b: 9999 }));
    expect(stepMedians([...newest, ...older])).toEqual(
      new Map([
        ['a', 100],
        ['b', 200],
      ]),
    );
    expect(stepMedians([{ a: 10 }, { a: 30, b: 7 }, { a: 20 }])).toEqual(
      new Map([
        ['a', 20],
        ['b', 7],
      ]),
    );
  });

  it('a run contributes finishedAt − startedAt of each completed step only', () => {
    expect(
      runDurations([
        { id: 'a', status: 'completed', startedAt: T0, finishedAt: T0 + 150 },
        { id: 'b', status: 'skipped', startedAt: null, finishedAt: T0 + 150 },
        { id: 'c', status: 'completed', startedAt: T0 + 150, finishedAt: T0 + 150 },
      ]),
    ).toEqual({ a: 150, c: 0 });
  });
});

describe('§13 ranges and slow thresholds', () => {
  it('quantile interpolates linearly between order statistics', () => {
    expect(quantile([], 0.9)).toBeUndefined();
    expect(quantile([10], 0.9)).toBe(10);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10);
    expect(quantile([0, 100], 0.9)).toBe(90);
  });

  it('remainingP90Ms: the 90th percentile over recorded runs of what the remaining work took in each', () => {
    // 10 runs: a always 100, b from 100 to 1000
    const runs = Array.from({ length: 10 }, (_, i) => ({ a: 100, b: 100 * (i + 1) }));
    const h = stepMedians(runs);
    const w = wf([step('a', { status: 'completed', progress: 100, startedAt: T0 }), step('b')]);
    const e = estimateEta(w, h, T0);
    expect(e.remainingMs).toBe(550); // median of b
    expect(e.remainingP90Ms).toBe(910); // b's 90th percentile, interpolated
    expect(rangeRemainingMs(w, h, T0)).toBe(910);
    // a running step counts the same share of each run as of the median
    const half = wf([
      step('a', { status: 'completed', progress: 100 }),
      step('b', { status: 'running', progress: 50, startedAt: T0 }),
    ]);
    expect(estimateEta(half, h, T0 + 10).remainingP90Ms).toBe(455);
  });

  it('remainingP90Ms is never below remainingMs, one run is its own p90, and null on the rate basis', () => {
    const h = stepMedians([{ a: 100 }, { a: 100 }, { a: 5000 }]);
    const w = wf([step('a')]);
    const e = estimateEta(w, h, T0);
    expect(e.remainingP90Ms!).toBeGreaterThanOrEqual(e.remainingMs!);
    const one = estimateEta(w, stepMedians([{ a: 100 }]), T0);
    expect(one.remainingP90Ms).toBe(one.remainingMs);
    // steps that vary in opposite directions: each run's remaining work is below the sum of the medians, so
    // the raw 90th percentile (180) is below remainingMs (200) and the clamp must lift it
    const both = wf([step('a'), step('b')]);
    const opposite = estimateEta(
      both,
      stepMedians([
        { a: 100, b: 0 },
        { a: 0, b: 100 },
        { a: 100, b: 100 },
      ]),
      T0,
    );
    expect(opposite.remainingMs).toBe(200);
    expect(opposite.remainingP90Ms).toBe(200);
    const rate = wf([step('x', { status: 'running', progress: 50, startedAt: T0 })], { progress: 50 });
    expect(estimateEta(rate, undefined, T0 + 1000)).toMatchObject({ basis: 'rate', remainingP90Ms: null });
  });

  it('slow threshold: max(p95, 1.5 × median), only from 5 recorded runs', () => {
    expect(slowThresholdMs([100, 100, 100, 100])).toBeNull();
    expect(slowThresholdMs([100, 100, 100, 100, 100])).toBe(150); // 1.5 × median wins
    expect(slowThresholdMs([100, 100, 100, 100, 1000])).toBe(820); // p95 wins
  });
});
