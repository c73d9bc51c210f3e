import type { EventEnvelope } from '../../common/events/event-types';
import { LogPage, SeqOrderer } from './seq-orderer';

const env = (seq: number): EventEnvelope => ({
  seq,
  type: 'workflow:step:progress',
  projectId: 'p1',
  workflowId: 'w1',
  stepId: 's',
  attempt: 1,
  at: new Date(0).toISOString(),
  data: { n: seq },
});

/** A log holding seqs 1..last (or from `oldest` when older ones are trimmed), and what was read from it. */
function harness(opts: { last?: number; oldest?: number; gapGraceMs?: number; failReads?: number } = {}) {
  const log = { last: opts.last ?? 0, oldest: opts.oldest ?? 1, failReads: opts.failReads ?? 0 };
  const emitted: number[] = [];
  const errors: unknown[] = [];
  const reads: { after: number; limit: number }[] = [];
  const read = (after: number, limit: number): Promise<LogPage> => {
    reads.push({ after, limit });
    if (log.failReads > 0) {
      log.failReads--;
      return Promise.reject(new Error('database away'));
    }
    if (after + 1 < log.oldest) return Promise.resolve({ items: [], reset: true });
    const items: EventEnvelope[] = [];
    for (let s = after + 1; s <= Math.min(log.last, after + limit); s++) items.push(env(s));
    return Promise.resolve({ items, reset: false });
  };
  const orderer = new SeqOrderer({
    read,
    emit: (e) => emitted.push(e.seq),
    gapGraceMs: opts.gapGraceMs ?? 0,
    pageSize: 3,
    onError: (e) => errors.push(e),
  });
  return { log, emitted, errors, reads, orderer };
}

const settle = async (ms = 0) => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, ms / 20));
};

describe('SeqOrderer', () => {
  it('emits in seq order without reading the log when events arrive in order', () => {
    const h = harness({ last: 3 });
    h.orderer.start(0);
    for (const s of [1, 2, 3]) h.orderer.offer(env(s));
    expect(h.emitted).toEqual([1, 2, 3]);
    expect(h.reads).toEqual([]);
  });

  it('holds what arrives before start and drops what start says is already handled', () => {
    const h = harness({ last: 5 });
    for (const s of [3, 5, 4]) h.orderer.offer(env(s));
    expect(h.emitted).toEqual([]);
    h.orderer.start(3);
    expect(h.emitted).toEqual([4, 5]);
  });

  it('drops duplicates and events at or below what it emitted', () => {
    const h = harness({ last: 3 });
    h.orderer.start(0);
    for (const s of [1, 1, 2, 1, 3, 2]) h.orderer.offer(env(s));
    expect(h.emitted).toEqual([1, 2, 3]);
  });

  it('fills a hole from the log before emitting what came after it', async () => {
    const h = harness({ last: 9 });
    h.orderer.start(0);
    h.orderer.offer(env(1));
    h.orderer.offer(env(8)); // 2..7 lost
    await settle();
    expect(h.emitted).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // pages of 3: read up to the first pending event only
    expect(h.reads).toEqual([
      { after: 1, limit: 3 },
      { after: 4, limit: 3 },
    ]);
  });

  it('waits the grace period for a late event before reading the log', async () => {
    const h = harness({ last: 3, gapGraceMs: 50 });
    h.orderer.start(0);
    h.orderer.offer(env(1));
    h.orderer.offer(env(3));
    h.orderer.offer(env(2)); // late, within the grace period
    expect(h.emitted).toEqual([1, 2, 3]);
    await settle(80);
    expect(h.reads).toEqual([]);
  });

  it('reads the log after the grace period when the missing event never comes', async () => {
    const h = harness({ last: 3, gapGraceMs: 30 });
    h.orderer.start(0);
    h.orderer.offer(env(3));
    expect(h.emitted).toEqual([]);
    await settle(80);
    expect(h.emitted).toEqual([1, 2, 3]);
  });

  it('observe(lastSeq) reveals lost last events that no later event would reveal', async () => {
    const h = harness({ last: 5 });
    h.orderer.start(2);
    h.orderer.observe(2);
    await settle();
    expect(h.reads).toEqual([]);
    h.orderer.observe(5); // 3, 4, 5 were committed but never arrived
    await settle();
    expect(h.emitted).toEqual([3, 4, 5]);
  });

  it('skips a hole the log no longer keeps and goes on after it', async () => {
    const h = harness({ last: 10, oldest: 6 });
    h.orderer.start(2);
    h.orderer.offer(env(7));
    await settle();
    expect(h.emitted).toEqual([7]);
  });

  it('retries a failed read and then fills the hole', async () => {
    const h = harness({ last: 4, failReads: 1 });
    h.orderer.start(0);
    h.orderer.offer(env(4));
    await settle(400);
    expect(h.errors).toHaveLength(1);
    expect(h.emitted).toEqual([1, 2, 3, 4]);
  });

  it('emits nothing after close', async () => {
    const h = harness({ last: 4 });
    h.orderer.start(0);
    h.orderer.offer(env(3));
    h.orderer.close();
    h.orderer.offer(env(1));
    await settle();
    expect(h.emitted).toEqual([]);
  });
});
