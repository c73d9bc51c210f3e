/**
 * A hand-written acceptance test for a hot request body. It answers true only for a body that the DTO's
 * class-validator rules accept as it is (nothing to strip, nothing to convert); for anything else the
 * validation pipe runs as usual, so it alone decides what is rejected and how the errors are worded.
 * Every such test has a spec that holds it to the DTO's decisions on a table of good and bad bodies.
 */
export type FastAccept = (body: unknown) => boolean;

const fastAccepts = new Map<unknown, FastAccept>();

/** On a request DTO: bodies that `accept` passes skip class-transformer and class-validator. */
export function FastPath(accept: FastAccept): ClassDecorator {
  return (target) => {
    fastAccepts.set(target, accept);
  };
}

export function fastAcceptFor(metatype: unknown): FastAccept | undefined {
  return fastAccepts.get(metatype);
}

/** The options the validation pipe runs class-validator with (also what the fast paths' specs compare against). */
export const VALIDATOR_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
} as const;

/** An integer from min to max (class-validator's IsInt + Min + Max on a number). */
export const isIntIn = (v: unknown, min: number, max: number): boolean =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

export const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * A JSON object that the pipe would hand on unchanged as a free-form property: its keys, at any depth,
 * are none that the pipe's prototype-pollution guard deletes (`__proto__`, `prototype`, `constructor`) or
 * that class-transformer skips when it copies the object (names of Object.prototype's members).
 */
export function isUntouchedJsonObject(value: unknown): boolean {
  if (!isPlainRecord(value)) return false;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    for (const key in v) {
      if (key === 'prototype' || key in Object.prototype) return false;
      stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return true;
}
