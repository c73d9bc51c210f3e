import { readFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import { produce, Produced } from './fanout-producer';
import { HistogramData, LogHistogram } from './stats';

/**
 * One subscriber process of the fan-out suite (`node fanout-client.js`, driven over IPC by fanout.ts): it
 * opens many Socket.IO connections (websocket transport, one engine.io connection each), subscribes each
 * to a project, and measures every progress event it receives: the latency from the moment the producer
 * sent the POST (carried in the update's `message` as `<tag>|<i>|<epoch ms>`, read back from the
 * envelope's `data.message`; producer and subscribers share the machine's clock), whether each socket
 * sees `seq` rising, and any disconnect. Several of these run side by side so that the subscribers are not
 * all on one event loop.
 */
export const FANOUT_EVENT = 'workflow:step:progress';

/** `socket.io`: socket.io-client (websocket transport); `ws`: a plain `ws` client of fanout-ws-baseline.ts. */
export type ClientKind = 'socket.io' | 'ws';

export type ClientRequest =
  | {
      op: 'connect';
      group: string;
      url: string;
      token: string;
      projectId: string;
      count: number;
      kind?: ClientKind;
      /** Source addresses to spread the sockets over (127.0.0.x), round robin; none: the kernel picks. */
      localAddresses?: string[];
      /** Subscribe with `batch: true` (Stepline's opt-in `events` messages; socket.io kind only). */
      batch?: boolean;
    }
  | {
      op: 'produce';
      url: string;
      path: string;
      headers: Record<string, string>;
      rate: number;
      seconds: number;
      tag: string;
    }
  | { op: 'phase'; tag: string }
  | { op: 'count' }
  | { op: 'report'; group: string }
  | { op: 'close'; group: string }
  | {
      op: 'replay';
      url: string;
      token: string;
      projectId: string;
      since: number;
      expect: number;
      timeoutMs: number;
    }
  | { op: 'limits' };

export interface ConnectReply {
  connected: number;
  failed: number;
  error?: string;
  ms: number;
}

export interface PhaseReport {
  /** Events of the phase received in `seq` order (the first time). */
  delivered: number;
  /** Events that came with a `seq` lower than one the socket had already seen. */
  outOfOrder: number;
  /** Events that came again with the `seq` the socket saw last. */
  duplicates: number;
  /** Events that did not belong to the phase (late ones of an earlier phase). */
  stray: number;
  hist: HistogramData;
  /** Sockets that lost their connection during the phase, not closed by us; and why (first reason). */
  disconnects: number;
  reason?: string;
  /** Sockets of the group connected now, of all the group opened. */
  connected: number;
  sockets: number;
}

export interface ReplayReply {
  ackMs: number;
  allMs: number;
  received: number;
  outOfOrder: number;
  ack: Record<string, unknown> | null;
  error?: string;
}

interface Sub {
  close(): void;
  connected(): boolean;
  last: number;
  closing: boolean;
}

const now = () => performance.timeOrigin + performance.now();
const groups = new Map<string, Sub[]>();

let phase = '';
let hist = new LogHistogram();
let delivered = 0;
let outOfOrder = 0;
let duplicates = 0;
let stray = 0;
let disconnects = 0;
let reason: string | undefined;

function onEvent(sub: Sub, env: { seq?: number; data?: { message?: unknown } }): void {
  const t = now();
  const m = env?.data?.message;
  if (typeof m !== 'string') return void stray++;
  const a = m.indexOf('|');
  if (a < 0 || m.slice(0, a) !== phase) return void stray++;
  const sent = Number(m.slice(m.lastIndexOf('|') + 1));
  const seq = Number(env.seq);
  if (seq > sub.last) {
    sub.last = seq;
    delivered++;
    hist.add(t - sent);
  } else if (seq === sub.last) duplicates++;
  else {
    outOfOrder++;
    hist.add(t - sent);
  }
}

function open(
  list: Sub[],
  r: Extract<ClientRequest, { op: 'connect' }>,
  localAddress: string | undefined,
): Promise<string | null> {
  return r.kind === 'ws' ? openWs(list, r, localAddress) : openIo(list, r, localAddress);
}

function openIo(
  list: Sub[],
  r: Extract<ClientRequest, { op: 'connect' }>,
  localAddress: string | undefined,
): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = io(r.url, {
      transports: ['websocket'],
      auth: { token: r.token },
      forceNew: true,
      reconnection: false,
      timeout: 60_000,
      ...(localAddress ? { localAddress } : {}),
    });
    const sub: Sub = {
      close: () => socket.close(),
      connected: () => socket.connected,
      last: 0,
      closing: false,
    };
    list.push(sub);
    socket.on(FANOUT_EVENT, (env) => onEvent(sub, env));
    if (r.batch)
      socket.on('events', (envs: { type?: string; seq?: number; data?: { message?: unknown } }[]) => {
        for (const env of envs) if (env.type === FANOUT_EVENT) onEvent(sub, env);
      });
    socket.on('disconnect', (why) => {
      if (sub.closing) return;
      disconnects++;
      reason ??= why;
    });
    socket.once('connect_error', (err) => {
      sub.closing = true;
      socket.close();
      resolve(`connect_error: ${err.message}`);
    });
    socket.once('connect', () => {
      socket
        .timeout(60_000)
        .emit(
          'subscribe',
          r.batch ? { projectId: r.projectId, batch: true } : { projectId: r.projectId },
          (err: Error | null, ack?: { ok?: boolean; code?: string }) => {
            if (err) resolve(`subscribe: ${err.message}`);
            else if (!ack?.ok) resolve(`subscribe: ${JSON.stringify(ack)}`);
            else resolve(null);
          },
        );
    });
  });
}

/** A plain `ws` subscriber: the first text message after `{"subscribe"}` is the ack, the rest are envelopes. */
function openWs(
  list: Sub[],
  r: Extract<ClientRequest, { op: 'connect' }>,
  localAddress: string | undefined,
): Promise<string | null> {
  return new Promise((resolve) => {
    const url = new URL('/ws', r.url.replace(/^http/, 'ws'));
    url.searchParams.set('token', r.token);
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    const sub: Sub = {
      close: () => ws.close(),
      connected: () => ws.readyState === WebSocket.OPEN,
      last: 0,
      closing: false,
    };
    list.push(sub);
    let acked = false;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { ok?: boolean; seq?: number; data?: { message?: unknown } };
      if (acked) return onEvent(sub, msg);
      acked = true;
      resolve(msg.ok ? null : `subscribe: ${JSON.stringify(msg)}`);
    });
    ws.on('close', (code) => {
      if (!acked) resolve(`closed before the ack: ${code}`);
      if (sub.closing) return;
      disconnects++;
      reason ??= `close ${code}`;
    });
    ws.on('error', (err) => {
      if (!acked) {
        sub.closing = true;
        resolve(`connect_error: ${err.message}`);
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ subscribe: r.projectId })));
  });
}

async function connect(r: Extract<ClientRequest, { op: 'connect' }>): Promise<ConnectReply> {
  const list = groups.get(r.group) ?? [];
  groups.set(r.group, list);
  const t0 = now();
  let connected = 0;
  let failed = 0;
  let error: string | undefined;
  let next = 0;
  // a bounded number of handshakes in flight: thousands at once only measure the accept queue
  await Promise.all(
    Array.from({ length: Math.min(64, r.count) }, async () => {
      while (next < r.count) {
        const addr = r.localAddresses?.length ? r.localAddresses[next % r.localAddresses.length] : undefined;
        next++;
        const e = await open(list, r, addr);
        if (e === null) connected++;
        else {
          failed++;
          error ??= e;
        }
      }
    }),
  );
  return { connected, failed, error, ms: now() - t0 };
}

function report(group: string): PhaseReport {
  const subs = (groups.get(group) ?? []).filter((s) => !s.closing);
  return {
    delivered,
    outOfOrder,
    duplicates,
    stray,
    hist: hist.data(),
    disconnects,
    reason,
    connected: subs.filter((s) => s.connected()).length,
    sockets: subs.length,
  };
}

async function close(group: string): Promise<number> {
  const list = groups.get(group) ?? [];
  groups.delete(group);
  for (const s of list) {
    s.closing = true;
    s.close();
  }
  await new Promise((r) => setTimeout(r, 100));
  return list.length;
}

/** One fresh socket subscribes with `since`: how long until the ack, and until every missed event is in. */
function replay(r: Extract<ClientRequest, { op: 'replay' }>): Promise<ReplayReply> {
  return new Promise((resolve) => {
    const socket = io(r.url, {
      transports: ['websocket'],
      auth: { token: r.token },
      forceNew: true,
      reconnection: false,
    });
    let t0 = 0;
    let received = 0;
    let outOfOrder = 0;
    let last = r.since;
    let ackMs = NaN;
    let allMs = NaN;
    let ack: Record<string, unknown> | null = null;
    const finish = (error?: string) => {
      clearTimeout(timer);
      socket.close();
      resolve({ ackMs, allMs, received, outOfOrder, ack, error });
    };
    const timer = setTimeout(() => finish('timed out'), r.timeoutMs);
    const check = () => {
      if (!Number.isNaN(ackMs) && received >= r.expect) finish();
    };
    socket.onAny((_type: string, env: { seq?: number }) => {
      const seq = Number(env?.seq);
      if (!(seq > r.since)) return;
      received++;
      if (seq <= last) outOfOrder++;
      last = Math.max(last, seq);
      if (received === r.expect) allMs = now() - t0;
      check();
    });
    socket.once('connect_error', (err) => finish(`connect_error: ${err.message}`));
    socket.once('connect', () => {
      t0 = now();
      socket.emit('subscribe', { projectId: r.projectId, since: r.since }, (a: Record<string, unknown>) => {
        ackMs = now() - t0;
        ack = a;
        if (!a?.ok) return finish(`subscribe: ${JSON.stringify(a)}`);
        check();
      });
    });
  });
}

function fdLimit(): string {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] =
      line
        ?.replace(/^Max open files\s+/, '')
        .trim()
        .split(/\s+/) ?? [];
    return soft ? `${soft} (hard ${hard})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function handle(r: ClientRequest): Promise<unknown> {
  switch (r.op) {
    case 'connect':
      return connect(r);
    case 'phase':
      phase = r.tag;
      hist = new LogHistogram();
      delivered = outOfOrder = duplicates = stray = disconnects = 0;
      reason = undefined;
      return null;
    case 'count':
      return delivered + outOfOrder;
    case 'report':
      return report(r.group);
    case 'close':
      return close(r.group);
    case 'replay':
      return replay(r);
    case 'limits':
      return { fds: fdLimit() };
    case 'produce':
      return produce(new URL(r.url), r.path, r.headers, r.rate, r.seconds, r.tag) satisfies Promise<Produced>;
  }
}

process.on('message', (msg: { rid: number; req: ClientRequest }) => {
  handle(msg.req).then(
    (res) => process.send?.({ rid: msg.rid, ok: true, res }),
    (err: unknown) => process.send?.({ rid: msg.rid, ok: false, error: String(err) }),
  );
});
// the bench went away: so do we
process.on('disconnect', () => process.exit(0));
