import { SteplineError } from './errors.js';
import type { ErrorCode } from './types.js';

export interface RetryOptions {
  /** Give up after this long since the first attempt (default 60 000 ms: long enough for a server restart). */
  maxElapsedMs?: number;
  /** First backoff (default 100 ms), doubled each time, with jitter, up to `maxDelayMs` (default 2 000 ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface TransportOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  retry?: RetryOptions | false;
}

export interface CallOptions {
  leaseToken?: string;
  signal?: AbortSignal;
  /** Retry 503/429 and network errors (default true). With `'answered'`, network errors are not retried. */
  retry?: boolean | 'answered';
}

export interface CallResult<T> {
  status: number;
  body: T;
  /** An earlier attempt of this call may have been committed (it got no answer, or a 503). */
  ambiguous: boolean;
}

const STATUS_OF: Record<ErrorCode, number> = {
  validation_failed: 400,
  malformed_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  progress_regression: 409,
  session_busy: 409,
  analysis_in_progress: 409,
  lease_lost: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
};

/** The HTTP status that goes with an error code (for per-update results of a batch, which carry no status). */
export function statusOfCode(code: string): number {
  return STATUS_OF[code as ErrorCode] ?? 409;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** fetch + JSON + the contract's error body + retries with backoff. Nothing here is Node-only. */
export class Transport {
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly retry: Required<RetryOptions> | false;

  constructor(private readonly opts: TransportOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.retry =
      opts.retry === false
        ? false
        : { maxElapsedMs: 60_000, minDelayMs: 100, maxDelayMs: 2_000, ...(opts.retry ?? {}) };
  }

  get token(): string {
    return this.opts.token;
  }

  backoff(attempt: number): number {
    const r = this.retry || { minDelayMs: 100, maxDelayMs: 2_000 };
    const base = Math.min(r.maxDelayMs, r.minDelayMs * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }

  /**
   * The wait before retry number `attempt` (0-based) of a call that began at `started`, or `undefined` when
   * the retry policy (`retry: false`, `maxElapsedMs`) says to give up. For retries made outside `call`.
   */
  retryDelay(attempt: number, started: number): number | undefined {
    if (!this.retry || Date.now() - started > this.retry.maxElapsedMs) return undefined;
    return this.backoff(attempt);
  }

  async call<T>(method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<CallResult<T>> {
    const started = Date.now();
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      let err: SteplineError;
      let waitMs: number | undefined;
      try {
        const res = await this.once(method, path, body, o);
        if (res.status < 300) return { status: res.status, body: res.body as T, ambiguous };
        err = toError(res.status, res.body);
        err.ambiguous = ambiguous;
        if (res.status === 429) {
          const after = Number(res.headers.get('retry-after'));
          if (Number.isFinite(after) && after > 0) waitMs = after * 1000;
        }
        if (res.status === 503) ambiguous = true;
      } catch (e) {
        if (o.signal?.aborted) throw new SteplineError(0, 'aborted', 'aborted', undefined);
        err = new SteplineError(0, 'network_error', e instanceof Error ? e.message : String(e), undefined);
        ambiguous = true;
        if (o.retry === 'answered') {
          err.ambiguous = true;
          throw err;
        }
      }
      const canRetry = this.retry && o.retry !== false && err.retryable;
      if (!canRetry || Date.now() - started > this.retry.maxElapsedMs) {
        err.ambiguous = ambiguous;
        throw err;
      }
      await sleep(waitMs ?? this.backoff(attempt), o.signal);
      if (o.signal?.aborted) throw new SteplineError(0, 'aborted', 'aborted', undefined);
    }
  }

  private async once(method: string, path: string, body: unknown, o: CallOptions) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}` };
    if (o.leaseToken) headers['x-lease-token'] = o.leaseToken;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await this.fetchFn(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: payload,
      signal: o.signal,
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

function toError(status: number, body: unknown): SteplineError {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const code = typeof b.code === 'string' ? b.code : `http_${status}`;
    const message = typeof b.message === 'string' ? b.message : `HTTP ${status}`;
    return new SteplineError(status, code, message, b.details, b);
  }
  return new SteplineError(status, status === 503 ? 'unavailable' : `http_${status}`, `HTTP ${status}`);
}
