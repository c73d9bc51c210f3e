import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { VALIDATOR_OPTIONS } from '../../src/common/validation/fast-path';

/**
 * What the fast-path specs hold each hand-written acceptance test to: the decision of the validation pipe's
 * own class-transformer + class-validator pass on the same body. (Unit specs of src/ import it.)
 */

/** As Nest's ValidationPipe does before class-transformer (its prototype-pollution guard). */
export function stripProtoKeys(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) return v.forEach(stripProtoKeys);
  for (const k of ['__proto__', 'prototype', 'constructor']) delete (v as Record<string, unknown>)[k];
  for (const x of Object.values(v)) stripProtoKeys(x);
}

/** What the validation pipe decides for a JSON object body, and the value it would hand on. */
export async function dtoDecision(
  cls: ClassConstructor<object>,
  body: object,
): Promise<{ ok: boolean; value: unknown }> {
  const plain = structuredClone(body);
  stripProtoKeys(plain);
  const entity = plainToInstance(cls, plain);
  const errors = await validate(entity, { ...VALIDATOR_OPTIONS, validationError: { target: false } });
  return { ok: errors.length === 0, value: entity };
}

/** A small deterministic PRNG (mulberry32) in [0, 1), so that a failing random body reproduces. */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
