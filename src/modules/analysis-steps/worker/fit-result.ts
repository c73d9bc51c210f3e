/**
 * Keeps a result within `maxBytes` of JSON: while it is too big, the top-level array with the most bytes is halved and
 * the result marked `truncated: true` (counts such as `total` stay exact). Small results pass untouched.
 */
export function fitResult<T>(result: T, maxBytes: number): T {
  if (!result || typeof result !== 'object' || Array.isArray(result)) return result;
  let size = Buffer.byteLength(JSON.stringify(result));
  if (size <= maxBytes) return result;
  const out: Record<string, unknown> = { ...(result as Record<string, unknown>), truncated: true };
  while (size > maxBytes) {
    const bytes = (k: string) => Buffer.byteLength(JSON.stringify(out[k]));
    const biggest = Object.keys(out)
      .filter((k) => Array.isArray(out[k]) && (out[k] as unknown[]).length > 0)
      .sort((a, b) => bytes(b) - bytes(a))[0];
    if (!biggest) break;
    const arr = out[biggest] as unknown[];
    out[biggest] = arr.slice(0, Math.floor(arr.length / 2));
    size = Buffer.byteLength(JSON.stringify(out));
  }
  return out as T;
}
