import { DomainError } from '../errors/domain-error';

/** CONTRACT §10: a body nested deeper than this many levels is refused (the body itself is level 1). */
export const MAX_JSON_DEPTH = 32;

/** Keys that are refused anywhere in a body: they only ever serve prototype pollution. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Why a parsed JSON body breaks the §10 limits, or null. An iterative scan with its own stack, so that
 * 100k nested arrays cannot overflow the call stack here (they did in class-transformer and in the fast
 * path's JSON.stringify); it stops at the first container past the depth limit, so its cost is bounded
 * by the body's size. One function for whichever HTTP adapter parses the body (and for socket payloads).
 */
export function jsonLimitProblem(value: unknown): { field: string; message: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  const paths: string[] = [''];
  while (values.length > 0) {
    const v = values.pop() as object;
    const depth = depths.pop()!;
    const path = paths.pop()!;
    if (depth > MAX_JSON_DEPTH)
      return { field: path || '(body)', message: `must not be nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (typeof item !== 'object' || item === null) continue;
        values.push(item);
        depths.push(depth + 1);
        paths.push(`${path}[${i}]`);
      }
      continue;
    }
    // own keys only: JSON.parse makes `__proto__` an own property, which `Object.keys` lists
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key))
        return { field: path ? `${path}.${key}` : key, message: `the key "${key}" is not allowed` };
      const item: unknown = (v as Record<string, unknown>)[key];
      if (typeof item !== 'object' || item === null) continue;
      values.push(item);
      depths.push(depth + 1);
      paths.push(path ? `${path}.${key}` : key);
    }
  }
  return null;
}

/** Throws the contract's `400 validation_failed` for a body that breaks the §10 limits. */
export function assertJsonLimits(value: unknown): void {
  const problem = jsonLimitProblem(value);
  if (problem) throw new DomainError('validation_failed', `${problem.field}: ${problem.message}`, [problem]);
}
