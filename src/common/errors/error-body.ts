import { STATUS_CODES } from 'node:http';
import { DomainError } from './domain-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  /** Always present (§1: the error body always has it); empty when the error has no details. */
  details: unknown[];
  [extra: string]: unknown;
}

export function errorBody(err: DomainError): ErrorBody {
  const body: ErrorBody = {
    statusCode: err.status,
    error: STATUS_CODES[err.status] ?? 'Error',
    code: err.code,
    message: err.message,
    details: err.details ?? [],
  };
  return { ...body, ...(err.extra ?? {}) };
}
