import { Client } from './support/http';
import { useServer } from './support/fixture';
import { waitFor } from './support/live-clients';

/**
 * LOG_RETENTION_HOURS (CONTRACT §5): logs and session messages of terminal workflows are deleted once older
 * than the retention; those of active workflows are kept whatever their age.
 */
describe('log and message retention', () => {
  let api: Client;
  // 0.0005 h = 1.8 s
  useServer((fx) => (api = fx.admin), { LOG_RETENTION_HOURS: '0.0005', SWEEP_INTERVAL_MS: '200' });

  it('deletes old logs and messages of terminal workflows, keeps those of active ones', async () => {
    const p = 'retention';
    // a finished session analysis: its two messages and its log must go
    const sub = await api.post(`/api/projects/${p}/sessions/s1/analysis`, { question: 'q?' });
    expect(sub.status).toBe(202);
    const claim = await api.post('/api/queues/session-analysis/claim', { workerId: 'w', waitMs: 2000 });
    expect(claim.status).toBe(200);
    const wid = claim.body.workflow.id as string;
    const lease = { 'x-lease-token': claim.body.leaseToken as string };
    expect(
      (await api.post(`/api/workflows/${wid}/logs`, { level: 'info', message: 'done soon' }, lease)).status,
    ).toBe(201);
    expect((await api.post(`/api/workflows/${wid}/cancel`, { reason: 'test' })).status).toBe(200);

    // an active workflow with an old log: kept
    const active = await api.post(`/api/projects/${p}/workflows`, {
      id: 'still-running',
      type: 't',
      steps: [{ id: 'a' }],
    });
    expect(active.status).toBe(201);
    expect(
      (await api.post('/api/workflows/still-running/logs', { level: 'info', message: 'keep me' })).status,
    ).toBe(201);

    await waitFor(
      async () => (await api.get(`/api/workflows/${wid}/logs`)).body.items.length === 0,
      'the old log to go',
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    await waitFor(
      async () => (await api.get(`/api/projects/${p}/sessions/s1/messages`)).body.items.length === 0,
      'the old messages to go',
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    const kept = await api.get('/api/workflows/still-running/logs');
    expect(kept.body.items.map((l: any) => l.message)).toEqual(['keep me']);
    // the workflows themselves stay
    expect((await api.get(`/api/workflows/${wid}`)).body.status).toBe('cancelled');
  });
});
