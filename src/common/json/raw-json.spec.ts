import { holdsRawJson, RawJson, stringifyWithRaw } from './raw-json';

describe('RawJson', () => {
  const view = (result: unknown) => ({
    id: 'w',
    steps: [
      { id: 's', result },
      { id: 't', result: null },
    ],
    lastSeq: 3,
  });

  it('is spliced in as stored, giving exactly what JSON.stringify of the parsed value gives', () => {
    const stored = JSON.stringify({ blob: 'x"\\\u2028', n: [1, 2, { deep: true }] });
    const raw = view(new RawJson(stored));
    expect(holdsRawJson(raw)).toBe(true);
    expect(stringifyWithRaw(raw)).toBe(JSON.stringify(view(JSON.parse(stored))));
  });

  it('serialises as its parsed value anywhere else, and a string cannot pose as a placeholder', () => {
    const raw = new RawJson('{"a":1}');
    expect(JSON.stringify({ r: raw })).toBe('{"r":{"a":1}}');
    const tricky = { steps: [{ result: new RawJson('[1]') }], message: '\u0001raw-guess-0"' };
    expect(JSON.parse(stringifyWithRaw(tricky))).toEqual({
      steps: [{ result: [1] }],
      message: '\u0001raw-guess-0"',
    });
  });

  it('finds results under `workflow` (claims) and leaves other bodies alone', () => {
    expect(holdsRawJson({ workflow: view(new RawJson('1')) })).toBe(true);
    expect(holdsRawJson(view({ parsed: true }))).toBe(false);
    expect(holdsRawJson(null)).toBe(false);
    expect(stringifyWithRaw({ a: 1 })).toBe('{"a":1}');
  });
});
