import { isIntIn, isPlainRecord, isUntouchedJsonObject } from '../../../common/validation/fast-path';
import { isId, jsonByteLength } from '../../../common/validation/validators';

/**
 * The limits of `POST /api/projects/:projectId/workflows` (CreateWorkflowRequest) that its DTO and the fast
 * path below share, and the fast path itself: a create body that is valid as it is skips class-transformer
 * and class-validator (on the create route they were a fifth of the server's CPU per request, with ten
 * nested steps). Only the common fields are taken here; a body with `parent`, a null, or anything the pipe
 * might word or change goes to the pipe. create-request.fast-path.spec.ts holds it to the DTO's decisions.
 */
export const MAX_STEPS = 100;
export const MAX_NAME_LENGTH = 255;
export const MAX_METADATA_BYTES = 16 * 1024;
export const MAX_ATTEMPTS = 100;
export const MIN_STALE_AFTER_MS = 1000;
export const MAX_STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/**
 * A name within 1..255 UTF-16 units: the DTO counts characters (a surrogate pair as one), so a longer name
 * may still be valid, and the pipe decides it.
 */
const isName = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= MAX_NAME_LENGTH;

function acceptStep(s: unknown): boolean {
  if (!isPlainRecord(s)) return false;
  for (const key in s) {
    const v = s[key];
    switch (key) {
      case 'id':
        if (!isId(v)) return false;
        break;
      case 'name':
        if (!isName(v)) return false;
        break;
      case 'weight':
        if (typeof v !== 'number' || !Number.isFinite(v) || v < Number.MIN_VALUE || v > 1e9) return false;
        break;
      default:
        return false;
    }
  }
  return s.id !== undefined;
}

export function acceptCreateWorkflow(body: unknown): boolean {
  if (!isPlainRecord(body)) return false;
  for (const key in body) {
    const v = body[key];
    switch (key) {
      case 'id':
      case 'type':
      case 'queue':
      case 'sessionId':
        if (!isId(v)) return false;
        break;
      case 'name':
        if (!isName(v)) return false;
        break;
      case 'steps': {
        if (!Array.isArray(v) || v.length < 1 || v.length > MAX_STEPS) return false;
        const ids = new Set<unknown>();
        for (const s of v) {
          if (!acceptStep(s)) return false;
          ids.add((s as { id: unknown }).id);
        }
        if (ids.size !== v.length) return false;
        break;
      }
      case 'maxAttempts':
        if (!isIntIn(v, 1, MAX_ATTEMPTS)) return false;
        break;
      case 'staleAfterMs':
        if (!isIntIn(v, MIN_STALE_AFTER_MS, MAX_STALE_AFTER_MS)) return false;
        break;
      case 'metadata':
        if (!isUntouchedJsonObject(v) || jsonByteLength(v) > MAX_METADATA_BYTES) return false;
        break;
      default:
        return false;
    }
  }
  return body.type !== undefined && body.steps !== undefined;
}
