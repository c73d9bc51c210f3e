import { fitResult } from './fit-result';

describe('fitResult', () => {
  it('passes a small result through untouched', () => {
    const r = { items: [{ a: 1 }], total: 1 };
    expect(fitResult(r, 1024)).toBe(r);
  });

  it('cuts the biggest list until the JSON fits, keeps counts exact and marks it truncated', () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({
      file: `src/f${i}.ts`,
      line: i + 1,
      text: 'x'.repeat(40),
    }));
    const r = fitResult({ items, total: 5000, other: [1, 2] }, 64 * 1024);
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(64 * 1024);
    expect(r.total).toBe(5000);
    expect(r.other).toEqual([1, 2]);
    expect((r as any).truncated).toBe(true);
    expect(r.items.length).toBeGreaterThan(0);
    expect(r.items[0]).toEqual(items[0]); // the first ones are kept, in order
  });
});
