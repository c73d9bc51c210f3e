import { io, Socket } from 'socket.io-client';
import { HistogramData, LogHistogram } from './stats';

/**
 * The receiving client of the compare suite (`node compare-client.js`, driven over IPC by compare.ts): one
 * Socket.IO connection (socket.io-client, websocket transport) in a process of its own, to either system.
 *
 * - pipeline: `join`s the rooms of the cell's jobs on the relay (compare-relay.ts) and reads `progress`
 *   events `{ jobId, data: { current, total, t } }`; the cell's tag is the job id's prefix.
 * - Stepline: `subscribe`s to the project with a viewer key and reads `workflow:step:progress` envelopes;
 *   the tag and send time come back in `data.message` (`<tag>|<i>|<t>`).
 *
 * For each event of the current cell: send → receive (`t` against this process's clock: same machine),
 * first and last arrival (for the end-to-end rate), and order (BullMQ: `current` rising per job; Stepline:
 * `seq` rising on the socket).
 */
export type ClientRequest =
  | { op: 'connect'; kind: 'pipeline' | 'stepline'; url: string; token?: string; projectId?: string }
  | { op: 'join'; jobIds: string[] }
  | { op: 'leave'; jobIds: string[] }
  | { op: 'phase'; tag: string }
  | { op: 'count' }
  | { op: 'report' }
  | { op: 'close' };

export interface ClientReport {
  received: number;
  outOfOrder: number;
  /** Events of no current cell (late ones of an earlier cell). */
  stray: number;
  /** Epoch ms of the cell's first and last event received. */
  first: number;
  last: number;
  hist: HistogramData;
  disconnects: number;
  reason?: string;
}

const STEPLINE_EVENT = 'workflow:step:progress';
const now = () => performance.timeOrigin + performance.now();

let socket: Socket | undefined;
let closing = false;
let tag = '';
let hist = new LogHistogram();
let received = 0;
let outOfOrder = 0;
let stray = 0;
let first = 0;
let last = 0;
let disconnects = 0;
let reason: string | undefined;
let lastSeq = 0;
const lastCurrent = new Map<string, number>();

function record(at: number, sent: number, inOrder: boolean): void {
  if (received === 0) first = at;
  last = at;
  received++;
  if (!inOrder) outOfOrder++;
  hist.add(at - sent);
}

function onPipeline(ev: { jobId?: string; data?: { current?: number; t?: number } }): void {
  const at = now();
  const jobId = String(ev?.jobId ?? '');
  if (!tag || !jobId.startsWith(`${tag}-`) || typeof ev.data?.t !== 'number') return void stray++;
  const current = Number(ev.data.current);
  const prev = lastCurrent.get(jobId) ?? 0;
  if (current > prev) lastCurrent.set(jobId, current);
  record(at, ev.data.t, current > prev);
}

function onStepline(env: { seq?: number; data?: { message?: unknown } }): void {
  const at = now();
  const m = env?.data?.message;
  if (typeof m !== 'string' || !tag || !m.startsWith(`${tag}|`)) return void stray++;
  const seq = Number(env.seq);
  const inOrder = seq > lastSeq;
  if (inOrder) lastSeq = seq;
  record(at, Number(m.slice(m.lastIndexOf('|') + 1)), inOrder);
}

function connect(r: Extract<ClientRequest, { op: 'connect' }>): Promise<{ ok: true }> {
  return new Promise((resolve, reject) => {
    const s = io(r.url, {
      transports: ['websocket'],
      auth: r.token ? { token: r.token } : undefined,
      forceNew: true,
      reconnection: false,
      timeout: 30_000,
    });
    socket = s;
    if (r.kind === 'pipeline') s.on('progress', onPipeline);
    else s.on(STEPLINE_EVENT, onStepline);
    s.on('disconnect', (why) => {
      if (closing) return;
      disconnects++;
      reason ??= why;
    });
    s.once('connect_error', (err) => reject(new Error(`connect_error: ${err.message}`)));
    s.once('connect', () => {
      if (r.kind === 'pipeline') return resolve({ ok: true });
      s.timeout(30_000).emit(
        'subscribe',
        { projectId: r.projectId },
        (err: Error | null, ack?: { ok?: boolean; lastSeq?: number }) => {
          if (err) return reject(new Error(`subscribe: ${err.message}`));
          if (!ack?.ok) return reject(new Error(`subscribe: ${JSON.stringify(ack)}`));
          lastSeq = Number(ack.lastSeq ?? 0);
          resolve({ ok: true });
        },
      );
    });
  });
}

function roomOp(op: 'join' | 'leave', jobIds: string[]): Promise<unknown> {
  if (!socket) throw new Error('connect first');
  return socket.timeout(30_000).emitWithAck(op, { jobIds });
}

function report(): ClientReport {
  return { received, outOfOrder, stray, first, last, hist: hist.data(), disconnects, reason };
}

async function handle(r: ClientRequest): Promise<unknown> {
  switch (r.op) {
    case 'connect':
      return connect(r);
    case 'join':
    case 'leave':
      return roomOp(r.op, r.jobIds);
    case 'phase':
      tag = r.tag;
      hist = new LogHistogram();
      received = outOfOrder = stray = first = last = disconnects = 0;
      reason = undefined;
      lastCurrent.clear();
      return null;
    case 'count':
      return received;
    case 'report':
      return report();
    case 'close':
      closing = true;
      socket?.close();
      return null;
  }
}

process.on('message', (msg: { rid: number; req: ClientRequest }) => {
  handle(msg.req).then(
    (res) => process.send?.({ rid: msg.rid, ok: true, res }),
    (err: unknown) => process.send?.({ rid: msg.rid, ok: false, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
