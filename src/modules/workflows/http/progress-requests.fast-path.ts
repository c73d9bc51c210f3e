import { isPlainRecord, isUntouchedJsonObject } from '../../../common/validation/fast-path';
import { isId, jsonByteLength } from '../../../common/validation/validators';

/**
 * The rules of the two progress bodies that both their DTOs (workflow.requests.ts) and the hand-written
 * fast paths below use, and the fast paths themselves: the hottest routes skip class-transformer and
 * class-validator for a body that is valid as it is. Anything else goes to the validation pipe, which
 * decides and words the errors; progress-requests.fast-path.spec.ts holds these to the DTOs' decisions.
 */

export const MAX_MESSAGE_LENGTH = 1000;
export const MAX_METRICS_BYTES = 16 * 1024;
export const MAX_BATCH_UPDATES = 1000;

interface ProgressFields {
  progress?: unknown;
  current?: unknown;
  total?: unknown;
}

/** Why a progress body is invalid, or null: progress 0..100, or current+total; current ≤ total. */
export function progressOrCountError(o: ProgressFields): string | null {
  const p = o.progress;
  if (p !== undefined && !(typeof p === 'number' && Number.isFinite(p) && p >= 0 && p <= 100))
    return 'progress must be a number from 0 to 100';
  if (typeof o.current === 'number' && typeof o.total === 'number' && o.current > o.total)
    return 'current must not exceed total';
  if (p === undefined && (o.current === undefined || o.total === undefined))
    return 'give progress, or current and total';
  return null;
}

/** An integer ≥ min and ≤ 2^53 − 1 (§10: larger ones lose precision, and overflow MySQL's BIGINT). */
const isCount = (v: unknown, min: number): boolean => Number.isSafeInteger(v) && (v as number) >= min;

/**
 * Every key a known progress field (or one `extra` accepts) with a valid, non-null value. A message is
 * taken only when its UTF-16 length is within the limit: the DTO counts a surrogate pair as one character,
 * so a longer one may still be valid, and the pipe decides it.
 */
function acceptsProgressFields(o: Record<string, unknown>, extra: (key: string, v: unknown) => boolean) {
  for (const key in o) {
    const v = o[key];
    switch (key) {
      case 'progress':
        if (typeof v !== 'number') return false; // its range: progressOrCountError
        break;
      case 'current':
        if (!isCount(v, 0)) return false;
        break;
      case 'total':
        if (!isCount(v, 1)) return false;
        break;
      case 'message':
        if (typeof v !== 'string' || v.length > MAX_MESSAGE_LENGTH) return false;
        break;
      default:
        if (!extra(key, v)) return false;
    }
  }
  return progressOrCountError(o) === null;
}

const stepProgressExtra = (key: string, v: unknown): boolean =>
  key === 'metrics' && isUntouchedJsonObject(v) && jsonByteLength(v) <= MAX_METRICS_BYTES;

const batchUpdateExtra = (key: string, v: unknown): boolean =>
  (key === 'workflowId' || key === 'stepId') && isId(v);

/** `POST /api/workflows/:id/steps/:stepId/progress` (StepProgressRequest). */
export function acceptStepProgress(body: unknown): boolean {
  return isPlainRecord(body) && acceptsProgressFields(body, stepProgressExtra);
}

/** `POST /api/progress` (BatchProgressRequest): `{ updates: [...] }` and nothing else. */
export function acceptBatchProgress(body: unknown): boolean {
  if (!isPlainRecord(body)) return false;
  for (const key in body) if (key !== 'updates') return false;
  const updates = body.updates;
  if (!Array.isArray(updates) || updates.length < 1 || updates.length > MAX_BATCH_UPDATES) return false;
  for (const u of updates) {
    if (!isPlainRecord(u) || !acceptsProgressFields(u, batchUpdateExtra)) return false;
    if (u.workflowId === undefined || u.stepId === undefined) return false;
  }
  return true;
}
