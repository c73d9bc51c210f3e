import { STATUS_CODES } from 'node:http';
import { DomainError } from './domain-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  details?: unknown[];
  [extra: string]: unknown;
}

export function errorBody(err: DomainError): ErrorBody {
  const body: ErrorBody = {
    statusCode: err.status,
    error: STATUS_CODES[err.status] ?? 'Error',
    code: err.code,
    message: err.message,
  };
  if (err.details) body.details = err.details;
  return { ...body, ...(err.extra ?? {}) };
}
