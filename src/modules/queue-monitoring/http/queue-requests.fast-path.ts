import { isIntIn, isPlainRecord } from '../../../common/validation/fast-path';
import { isId } from '../../../common/validation/validators';

/**
 * The limits of the worker routes' bodies (claim, heartbeat) that their DTOs (queue.requests.ts) and the
 * fast paths below share: a body valid as it is skips class-transformer and class-validator on the routes a
 * worker calls most. Anything else goes to the validation pipe, which decides and words the errors;
 * queue-requests.fast-path.spec.ts holds these to the DTOs' decisions.
 */
export const MIN_LEASE_MS = 1000;
export const MAX_LEASE_MS = 600_000;
export const MAX_WAIT_MS = 30_000;
export const MAX_LEASE_TOKEN_LENGTH = 128;

/** `POST /api/queues/:queue/claim` (ClaimRequest). */
export function acceptClaim(body: unknown): boolean {
  if (!isPlainRecord(body)) return false;
  for (const key in body) {
    const v = body[key];
    if (key === 'workerId') {
      if (!isId(v)) return false;
    } else if (key === 'leaseMs') {
      if (!isIntIn(v, MIN_LEASE_MS, MAX_LEASE_MS)) return false;
    } else if (key === 'waitMs') {
      if (!isIntIn(v, 0, MAX_WAIT_MS)) return false;
    } else return false;
  }
  return body.workerId !== undefined;
}

/**
 * `POST /api/workflows/:id/heartbeat` (HeartbeatRequest). A token is taken within 1..128 UTF-16 units: the
 * DTO counts characters (a surrogate pair as one), so a longer one may still be valid, and the pipe decides.
 */
export function acceptHeartbeat(body: unknown): boolean {
  if (!isPlainRecord(body)) return false;
  for (const key in body) {
    const v = body[key];
    if (key === 'leaseToken') {
      if (typeof v !== 'string' || v.length < 1 || v.length > MAX_LEASE_TOKEN_LENGTH) return false;
    } else if (key === 'leaseMs') {
      if (!isIntIn(v, MIN_LEASE_MS, MAX_LEASE_MS)) return false;
    } else return false;
  }
  return body.leaseToken !== undefined;
}
