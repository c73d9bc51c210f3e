import { ADMIN_TOKEN } from './server';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small JSON client over fetch (undici): what any producer would use. */
export function client(baseUrl: string, token: string | undefined = ADMIN_TOKEN) {
  const request = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> => {
    const h: Record<string, string> = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
  return {
    request,
    get: <T = any>(path: string) => request<T>('GET', path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      request<T>('POST', path, body ?? {}, headers),
    del: <T = any>(path: string) => request<T>('DELETE', path),
    withToken: (t: string | undefined) => client(baseUrl, t),
  };
}

export type Client = ReturnType<typeof client>;

/** Creates a key through the admin API and returns its secret. */
export async function createKey(
  admin: Client,
  role: 'producer' | 'viewer',
  projects: string[],
  name = `${role}-${projects.join('+')}`,
): Promise<string> {
  const res = await admin.post('/api/keys', { name, role, projects });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.key as string;
}

/** Fails with the answer's status and body when it is not `status` (and, if given, the error `code`). */
export function expectStatus(res: ApiResponse, status: number, code?: string): void {
  if (res.status !== status || (code !== undefined && res.body?.code !== code))
    throw new Error(
      `expected ${status}${code ? ` ${code}` : ''}, got ${res.status}: ${JSON.stringify(res.body)}`,
    );
}

/** Runs `fn` over `items` with at most `n` in flight. */
export async function pool<T, R>(
  items: T[],
  n: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
