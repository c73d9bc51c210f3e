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

/** An ISO 8601 date or date-time (`2026-12-05`, `2026-12-05T14:02:00.000Z`, `...+01:00`): a linear check. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

export function isDateTime(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 40 && DATE_TIME.test(v) && Number.isFinite(Date.parse(v));
}

/** A date-time the API accepts in a query (see isDateTime). */
export function IsDateTime(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isDateTime',
      target: object.constructor,
      propertyName,
      options: { message: `${propertyName} must be an ISO 8601 date-time`, ...options },
      validator: { validate: (value: unknown) => value === undefined || isDateTime(value) },
    });
}
