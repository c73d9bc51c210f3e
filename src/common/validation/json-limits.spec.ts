import { DomainError } from '../errors/domain-error';
import { assertJsonLimits, jsonLimitProblem, MAX_JSON_DEPTH } from './json-limits';

const objects = (depth: number): unknown =>
  JSON.parse('{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1));
const arrays = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

describe('jsonLimitProblem', () => {
  it('passes scalars, small bodies and exactly 32 levels', () => {
    for (const v of [null, 1, 'x', true, {}, [], { a: [1, { b: 'c' }] }, objects(MAX_JSON_DEPTH), arrays(32)])
      expect(jsonLimitProblem(v)).toBeNull();
  });

  it('refuses 33 levels of objects or arrays, naming where', () => {
    expect(jsonLimitProblem(objects(33))).toEqual({
      field: 'a.'.repeat(32).slice(0, -1),
      message: 'must not be nested deeper than 32 levels',
    });
    expect(jsonLimitProblem({ x: arrays(32) })?.field).toBe(`x${'[0]'.repeat(31)}`);
  });

  it('scans 100k nested arrays without overflowing the stack', () => {
    expect(jsonLimitProblem(arrays(100_000))).not.toBeNull();
  });

  it('refuses __proto__, constructor and prototype at any depth (JSON.parse makes them own keys)', () => {
    expect(jsonLimitProblem(JSON.parse('{"__proto__":{"role":"admin"}}'))?.field).toBe('__proto__');
    expect(jsonLimitProblem({ a: [{ b: 1 }, { constructor: 1 }] })?.field).toBe('a[1].constructor');
    expect(jsonLimitProblem({ m: { prototype: null } })?.field).toBe('m.prototype');
    expect(jsonLimitProblem({ proto: 1, constructors: 2, toString: 3 })).toBeNull();
  });

  it('assertJsonLimits throws validation_failed with details', () => {
    let err: unknown;
    try {
      assertJsonLimits({ constructor: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'validation_failed', details: [{ field: 'constructor' }] });
  });
});
