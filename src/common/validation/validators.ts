import { Transform } from 'class-transformer';
import { registerDecorator, ValidationOptions } from 'class-validator';

/** Ids of projects, workflows, steps, sessions and queues. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const ID_MESSAGE = 'must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$';

export function isId(v: unknown): v is string {
  return typeof v === 'string' && ID_PATTERN.test(v);
}

/** Size of a value serialised as JSON, in UTF-8 bytes. */
export const jsonByteLength = (value: unknown): number =>
  Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** A JSON value whose serialised form is at most `maxBytes` bytes. */
export function MaxJsonBytes(maxBytes: number, options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'maxJsonBytes',
      target: object.constructor,
      propertyName,
      options: { message: `must serialise to at most ${maxBytes} bytes of JSON`, ...options },
      validator: {
        validate: (value: unknown) => value === undefined || jsonByteLength(value) <= maxBytes,
      },
    });
}

/** A plain JSON object (not an array, not null). */
export function IsPlainObject(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isPlainObject',
      target: object.constructor,
      propertyName,
      options: { message: 'must be an object', ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value),
      },
    });
}

/** `?status=a,b` → `['a', 'b']` (a repeated parameter arrives as an array already). */
export const CommaSeparated = () =>
  Transform(({ value }) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value,
  );
