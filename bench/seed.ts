import { Spread, TOTAL, createBody, stepIds } from './workload';

async function call(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  };
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, init);
  } catch {
    // a pooled keep-alive socket the server closed while this process was busy (the synchronous SQLite
    // baseline blocks it for seconds): once more, on a fresh connection
    res = await fetch(`${base}${path}`, init);
  }
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function expectStatus(what: string, res: { status: number; body: any }, ...ok: number[]): void {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * Through the public API, as a producer would: a producer key for every project, the workflows of every
 * layout, and every step started (progress 0 of TOTAL), so that each benchmark update is exactly one
 * `workflow:step:progress` event. Returns the producer key.
 */
export async function seed(base: string, adminToken: string, spreads: Spread[]): Promise<string> {
  const key = await call(base, adminToken, 'POST', '/api/keys', {
    name: 'bench',
    role: 'producer',
    projects: ['*'],
  });
  expectStatus('create key', key, 201);
  const token = key.body.key as string;

  const targets = spreads.flatMap((s) => s.targets);
  for (let i = 0; i < targets.length; i += 8) {
    await Promise.all(
      targets.slice(i, i + 8).map(async (t) => {
        const res = await call(
          base,
          token,
          'POST',
          `/api/projects/${t.projectId}/workflows`,
          createBody(t.workflowId),
        );
        expectStatus(`create ${t.workflowId}`, res, 201);
      }),
    );
  }

  const starts = targets.flatMap((t) =>
    stepIds.map((stepId) => ({ workflowId: t.workflowId, stepId, current: 0, total: TOTAL })),
  );
  for (let i = 0; i < starts.length; i += 1000) {
    const res = await call(base, token, 'POST', '/api/progress', { updates: starts.slice(i, i + 1000) });
    expectStatus('start steps', res, 200);
    const failed = (res.body.results as { ok: boolean }[]).filter((r) => !r.ok);
    if (failed.length) throw new Error(`start steps: ${JSON.stringify(failed[0])}`);
  }
  return token;
}

/** Sum of the per-project event counters (`lastSeq`) of these projects, read through the API. */
export async function eventCount(base: string, adminToken: string, projects: string[]): Promise<number> {
  const res = await call(base, adminToken, 'GET', '/api/projects');
  expectStatus('list projects', res, 200);
  const wanted = new Set(projects);
  return (res.body.items as { id: string; lastSeq: number }[])
    .filter((p) => wanted.has(p.id))
    .reduce((n, p) => n + p.lastSeq, 0);
}
